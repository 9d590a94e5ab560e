// neon build of the GINT fused dequant-dot and the LUT GEMVs (group-int, Q2_K / Q3_K).
// Only instantiates; the decode and FMA loop live in kernels/simd/gint.h, the lookups in kernels/arch/arm/lut.h.
#include "kernels/kernel_table.h"
#include "kernels/arch/arm/lut.h"
#include "kernels/simd/gint.h"

namespace edgellm::detail {

void fill_neon_gint(KernelTable& t) {
  EDGELLM_SET_KERNEL(t, gint_dot, simd::GintDot<xsimd::neon64>::run, "neon");
  EDGELLM_SET_KERNEL(t, lut_gemv, arm::lut_gemv_neon<>, "neon");
  EDGELLM_SET_KERNEL(t, lut_gemv_kquant, arm::lut_gemv_kquant_neon<>, "neon");
}

}  // namespace edgellm::detail
