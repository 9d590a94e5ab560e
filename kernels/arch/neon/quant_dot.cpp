// Plain-NEON (no dotprod) integer dots of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K (vmull_s8 + vpadalq_s16),
// the GINT dequant-dot, the NEON dequantizers of Q4_0, Q8_0, Q4_K, Q6_K and the Q8_0 / Q8_K activation quantizers
// (arm/dequant.h). Q2_K/Q3_K keep the scalar references on ARM.
#include "kernels/arch/arm/dequant.h"
#include "kernels/arch/arm/quant_dot.h"
#include "kernels/kernel_table.h"
#include "kernels/quant/rows.h"

namespace edgellm::detail {

void fill_neon_quant(KernelTable& t) {
  using namespace armq;
  fill_neon_gint(t);
  const char* s = "neon";
  EDGELLM_SET_KERNEL(t, vec_dot_q4_0_q8_0, (legacy_gemv_or_dot<Q4_0A, false>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q4_1_q8_1, (quant::dot_tile_by_rows<legacy_dot<Q4_1A, false>>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q8_0_q8_0, (legacy_gemv_or_dot<Q8_0A, false>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_0_q8_0, (quant::dot_tile_by_rows<legacy_dot<Q5_0A, false>>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_1_q8_1, (quant::dot_tile_by_rows<legacy_dot<Q5_1A, false>>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q4_k_q8_k, (k45_gemv_or_dot<false, false>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_k_q8_k, (k45_gemv_or_dot<true, false>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q6_k_q8_k, (quant::dot_tile_by_rows<k6_dot<false>>), s);
  EDGELLM_SET_KERNEL(t, dequantize_q4_0, dequant_q4_0_neon, s);
  EDGELLM_SET_KERNEL(t, dequantize_q8_0, dequant_q8_0_neon, s);
  EDGELLM_SET_KERNEL(t, dequantize_q4_k, dequant_q4_k_neon, s);
  EDGELLM_SET_KERNEL(t, dequantize_q6_k, dequant_q6_k_neon, s);
  EDGELLM_SET_KERNEL(t, quantize_q8_0, quantize_q8_0_neon, s);
  EDGELLM_SET_KERNEL(t, quantize_q8_k, quantize_q8_k_neon, s);
}

}  // namespace edgellm::detail
