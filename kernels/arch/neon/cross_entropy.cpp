// NEON (aarch64) build of the cross-entropy kernels (bodies in kernels/simd/cross_entropy.h).
// Nothing but the instantiation: no intrinsics, no helpers that could leak across ISA files.
#include "kernels/simd/fill_attention.h"

namespace edgellm::detail {

void fill_neon_cross_entropy(KernelTable& t) { simd::fill_cross_entropy<xsimd::neon64>(t, "neon"); }

}  // namespace edgellm::detail
