// NEON (aarch64) build of the attention kernels (bodies in kernels/simd/attention.h).
// Nothing but the instantiation: no intrinsics, no helpers that could leak across ISA files.
#include "kernels/simd/fill_attention.h"

namespace edgellm::detail {

void fill_neon_attention(KernelTable& t) { simd::fill_attention<xsimd::neon64>(t, "neon"); }

}  // namespace edgellm::detail
