// AVX-512 build of the embedding kernels (bodies in kernels/simd/embedding.h).
// Nothing but the instantiation: no intrinsics, no helpers that could leak across ISA files.
#include "kernels/simd/fill_attention.h"

namespace edgellm::detail {

void fill_avx512_embedding(KernelTable& t) { simd::fill_embedding<xsimd::avx512bw>(t, "avx512"); }

}  // namespace edgellm::detail
