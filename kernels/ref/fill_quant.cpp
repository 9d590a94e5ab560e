// Fills the quantized-block entries of the table with the scalar references.
// Weight quantizers (quantize_row_*_ref) are not table entries: they run offline, once per tensor.
#include "kernels/kernel_table.h"
#include "kernels/quant/rows.h"
#include "kernels/ref/i8_panel.h"
#include "kernels/ref/quant.h"

namespace edgellm::detail {

void fill_scalar_quant(KernelTable& t) {
  const char* s = "scalar";
  EDGELLM_SET_KERNEL(t, quantize_q8_0, ref::quantize_row_q8_0_ref, s);
  EDGELLM_SET_KERNEL(t, quantize_q8_1, ref::quantize_row_q8_1_ref, s);
  EDGELLM_SET_KERNEL(t, quantize_q8_k, ref::quantize_row_q8_k_ref, s);
#define EDGELLM_SET_DEQ(name) EDGELLM_SET_KERNEL(t, dequantize_##name, ref::dequantize_row_##name, s);
  EDGELLM_SET_DEQ(q4_0) EDGELLM_SET_DEQ(q4_1) EDGELLM_SET_DEQ(q5_0) EDGELLM_SET_DEQ(q5_1) EDGELLM_SET_DEQ(q8_0)
  EDGELLM_SET_DEQ(q8_1) EDGELLM_SET_DEQ(q2_k) EDGELLM_SET_DEQ(q3_k) EDGELLM_SET_DEQ(q4_k) EDGELLM_SET_DEQ(q5_k)
  EDGELLM_SET_DEQ(q6_k) EDGELLM_SET_DEQ(q8_k)
#undef EDGELLM_SET_DEQ
#define EDGELLM_SET_DOT(W, A) EDGELLM_SET_KERNEL(t, vec_dot_##W##_##A, quant::dot_tile_by_rows<ref::vec_dot_##W##_##A##_ref>, s);
  EDGELLM_VEC_DOT_PAIRS(EDGELLM_SET_DOT)
#undef EDGELLM_SET_DOT
  EDGELLM_SET_KERNEL(t, gint_dot, ref::gint_dot_ref, s);
  EDGELLM_SET_KERNEL(t, lut_gemv, ref::lut_gemv_ref, s);
  EDGELLM_SET_KERNEL(t, lut_gemv_kquant, ref::lut_gemv_kquant_ref, s);
  EDGELLM_SET_KERNEL(t, i8_panel_ukernel, ref::i8_panel_ukernel, s);
#define EDGELLM_SET_PACK(name) EDGELLM_SET_KERNEL(t, name, ref::name, s);
  EDGELLM_I8_PACKS(EDGELLM_SET_PACK)
#undef EDGELLM_SET_PACK
  t.i8_panel_mr = 4;
}

}  // namespace edgellm::detail
