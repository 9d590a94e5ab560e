// avx512 build of the GINT fused dequant-dot and the LUT GEMVs (these run their AVX2 bodies, VEX-encoded).
// Only instantiates; the decode and FMA loop live in kernels/simd/gint.h, the lookups in kernels/arch/x86/lut.h.
#include "kernels/kernel_table.h"
#include "kernels/arch/x86/lut.h"
#include "kernels/simd/gint.h"

namespace edgellm::detail {

void fill_avx512_gint(KernelTable& t) {
  EDGELLM_SET_KERNEL(t, gint_dot, simd::GintDot<xsimd::avx512bw>::run, "avx512");
  EDGELLM_SET_KERNEL(t, lut_gemv, x86::lut_gemv_avx2<>, "avx512");
  EDGELLM_SET_KERNEL(t, lut_gemv_kquant, x86::lut_gemv_kquant_avx2<>, "avx512");
}

}  // namespace edgellm::detail
