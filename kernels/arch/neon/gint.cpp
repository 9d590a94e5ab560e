// neon build of the GINT fused dequant-dot (the xsimd body in kernels/simd/gint.h).
// Only instantiates; the decode and FMA loop live in the shared body.
#include "kernels/kernel_table.h"
#include "kernels/simd/gint.h"

namespace edgellm::detail {

void fill_neon_gint(KernelTable& t) { EDGELLM_SET_KERNEL(t, gint_dot, simd::GintDot<xsimd::neon64>::run, "neon"); }

}  // namespace edgellm::detail
