// AVX2 integer dots (maddubs + madd) of every GGUF weight format, plus the Q4_0/Q8_0/Q4_K/Q6_K dequantizers, the
// Q8_0 activation quantizer (x86/dequant.h) and the 8-bit panel GEMM's packers and micro-kernel (x86/i8_panel.h).
// Not here: Q8_1 quantizer (scalar), 512-bit code (arch/avx512).
#include "kernels/arch/x86/dequant.h"
#include "kernels/arch/x86/i8_panel.h"
#include "kernels/arch/x86/quant_dot.h"
#include "kernels/kernel_table.h"
#include "kernels/quant/rows.h"

namespace edgellm::detail {

void fill_avx2_quant(KernelTable& t) {
  using namespace x86q;
  const char* s = "avx2";
  fill_avx2_gint(t);
  EDGELLM_SET_KERNEL(t, vec_dot_q4_0_q8_0, (legacy_gemv_or_dot<Q4_0W, false>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q8_0_q8_0, (legacy_gemv_or_dot<Q8_0W, false>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_0_q8_0, (quant::dot_tile_by_rows<legacy_dot<Q5_0W, false>>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q4_1_q8_1, (quant::dot_tile_by_rows<legacy_dot<Q4_1W, false>>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_1_q8_1, (quant::dot_tile_by_rows<legacy_dot<Q5_1W, false>>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q2_k_q8_k, (kquant_dot<2, 1, false>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q3_k_q8_k, (kquant_dot<3, 1, false>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q4_k_q8_k, q4_k_gemv_or_dot<false>, s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_k_q8_k, (kquant_dot<5, 1, false>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q6_k_q8_k, (kquant_dot<6, 1, false>), s);
  EDGELLM_SET_KERNEL(t, dequantize_q4_0, dequant_q4_0_avx2, s);
  EDGELLM_SET_KERNEL(t, dequantize_q8_0, dequant_q8_0_avx2, s);
  EDGELLM_SET_KERNEL(t, dequantize_q4_k, dequant_q4_k_avx2, s);
  EDGELLM_SET_KERNEL(t, dequantize_q6_k, dequant_q6_k_avx2, s);
  EDGELLM_SET_KERNEL(t, quantize_q8_0, quantize_q8_0_avx2, s);
  EDGELLM_SET_KERNEL(t, quantize_q8_k, quantize_q8_k_avx2, s);
  EDGELLM_SET_KERNEL(t, i8_panel_ukernel, panel::ukernel_avx2, s);
  t.i8_panel_mr = panel::kMR;
  t.i8_panel_signed_codes = true;  // Q8_0 through the sign trick: q + 128 against x would saturate maddubs
#define EDGELLM_SET_PACK(name) EDGELLM_SET_KERNEL(t, name, name##_avx2, s);
  EDGELLM_I8_PACKS(EDGELLM_SET_PACK)
#undef EDGELLM_SET_PACK
}

}  // namespace edgellm::detail
