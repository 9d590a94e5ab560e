// AVX-512 VNNI integer dots (vpdpbusd on 256-bit lanes) of the legacy GGUF formats Q4_0 .. Q8_0.
// Installed only when the CPU reports avx512_vnni; the K-quants keep the AVX2 maddubs bodies.
#include "kernels/arch/x86/quant_dot.h"
#include "kernels/cpu_features.h"
#include "kernels/kernel_table.h"

namespace edgellm::detail {

void fill_avx512_quant(KernelTable& t) {
  using namespace x86q;
  fill_avx512_gint(t);
  if (!cpu_features().avx512vnni) return;
  const char* s = "avx512vnni";
  EDGELLM_SET_KERNEL(t, vec_dot_q4_0_q8_0, (legacy_dot<Q4_0W, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q8_0_q8_0, (legacy_dot<Q8_0W, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_0_q8_0, (legacy_dot<Q5_0W, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q4_1_q8_1, (legacy_dot<Q4_1W, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_1_q8_1, (legacy_dot<Q5_1W, true>), s);
}

}  // namespace edgellm::detail
