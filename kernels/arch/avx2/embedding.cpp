// AVX2+FMA build of the embedding kernels (bodies in kernels/simd/embedding.h).
// Nothing but the instantiation: no intrinsics, no helpers that could leak across ISA files.
#include "kernels/simd/fill_attention.h"

namespace edgellm::detail {

void fill_avx2_embedding(KernelTable& t) { simd::fill_embedding<xsimd::fma3<xsimd::avx2>>(t, "avx2"); }

}  // namespace edgellm::detail
