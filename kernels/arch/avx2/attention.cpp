// AVX2+FMA build of the attention kernels (bodies in kernels/simd/attention.h).
// Nothing but the instantiation: no intrinsics, no helpers that could leak across ISA files.
#include "kernels/simd/fill_attention.h"

namespace edgellm::detail {

void fill_avx2_attention(KernelTable& t) { simd::fill_attention<xsimd::fma3<xsimd::avx2>>(t, "avx2"); }

}  // namespace edgellm::detail
