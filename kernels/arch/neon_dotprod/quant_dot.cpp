// NEON sdot (vdotq_s32) integer dots of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K and the 8-bit panel GEMM's
// micro-kernel; installed when the CPU has dotprod.
// Q2_K/Q3_K keep the scalar references on ARM. Tested under qemu-aarch64 (-cpu max).
#include "kernels/arch/arm/i8_panel.h"
#include "kernels/arch/arm/quant_dot.h"
#include "kernels/cpu_features.h"
#include "kernels/kernel_table.h"
#include "kernels/quant/rows.h"

namespace edgellm::detail {

void fill_neon_dotprod_quant(KernelTable& t) {
  using namespace armq;
  const char* s = "neon_dotprod";
  EDGELLM_SET_KERNEL(t, vec_dot_q4_0_q8_0, (legacy_gemv_or_dot<Q4_0A, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q4_1_q8_1, (quant::dot_tile_by_rows<legacy_dot<Q4_1A, true>>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q8_0_q8_0, (legacy_gemv_or_dot<Q8_0A, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_0_q8_0, (quant::dot_tile_by_rows<legacy_dot<Q5_0A, true>>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_1_q8_1, (quant::dot_tile_by_rows<legacy_dot<Q5_1A, true>>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q4_k_q8_k, (k45_gemv_or_dot<false, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_k_q8_k, (k45_gemv_or_dot<true, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q6_k_q8_k, (quant::dot_tile_by_rows<k6_dot<true>>), s);
  // Prompts: the 8-bit panel GEMM, on smmla where the CPU has i8mm (qemu's -cpu max; -cpu neoverse-n1 runs sdot).
  if (cpu_features().i8mm)
    EDGELLM_SET_KERNEL(t, i8_panel_ukernel, i8_panel_ukernel_i8mm, "neon_i8mm");
  else
    EDGELLM_SET_KERNEL(t, i8_panel_ukernel, i8_panel_ukernel_sdot, s);
  EDGELLM_SET_KERNEL(t, i8_panel_pack_q4_0, i8_panel_pack_q4_0_neon, s);
  EDGELLM_SET_KERNEL(t, i8_panel_pack_q8_0, i8_panel_pack_q8_0_neon, s);
  t.i8_panel_mr = kPanelMR;
  t.i8_panel_signed_codes = true;
}

}  // namespace edgellm::detail
