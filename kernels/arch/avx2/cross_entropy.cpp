// AVX2+FMA build of the cross-entropy kernels (bodies in kernels/simd/cross_entropy.h).
// Nothing but the instantiation: no intrinsics, no helpers that could leak across ISA files.
#include "kernels/simd/fill_attention.h"

namespace edgellm::detail {

void fill_avx2_cross_entropy(KernelTable& t) { simd::fill_cross_entropy<xsimd::fma3<xsimd::avx2>>(t, "avx2"); }

}  // namespace edgellm::detail
