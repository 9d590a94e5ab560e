// avx2 build of the GINT fused dequant-dot and the LUT GEMVs (group-int, Q2_K / Q3_K).
// Only instantiates; the decode and FMA loop live in kernels/simd/gint.h, the lookups in kernels/arch/x86/lut.h.
#include "kernels/kernel_table.h"
#include "kernels/arch/x86/lut.h"
#include "kernels/simd/gint.h"

namespace edgellm::detail {

void fill_avx2_gint(KernelTable& t) {
  EDGELLM_SET_KERNEL(t, gint_dot, simd::GintDot<xsimd::fma3<xsimd::avx2>>::run, "avx2");
  EDGELLM_SET_KERNEL(t, lut_gemv, x86::lut_gemv_avx2<>, "avx2");
  EDGELLM_SET_KERNEL(t, lut_gemv_kquant, x86::lut_gemv_kquant_avx2<>, "avx2");
}

}  // namespace edgellm::detail
