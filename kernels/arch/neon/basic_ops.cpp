// NEON (aarch64 baseline) build of the basic ops, plus half-precision conversions.
#include <arm_neon.h>

#include "kernels/simd/fill_basic.h"
#include "runtime/dtype.h"

namespace edgellm::detail {
namespace {

void f16_to_f32_neon(float* y, const uint16_t* x, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i))));
  for (; i < n; ++i) y[i] = f16_to_f32(x[i]);
}
// vcvt_f16_f32 rounds by FPCR, which is round-to-nearest-even unless a caller changed it.
void f32_to_f16_neon(uint16_t* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
  for (; i < n; ++i) y[i] = f32_to_f16(x[i]);
}
void bf16_to_f32_neon(float* y, const uint16_t* x, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(x + i), 16)));
  for (; i < n; ++i) y[i] = bf16_to_f32(x[i]);
}

}  // namespace

void fill_neon(KernelTable& t) {
  simd::fill_basic_ops<xsimd::neon64>(t, "neon");
  EDGELLM_SET_KERNEL(t, f16_to_f32, f16_to_f32_neon, "neon");
  EDGELLM_SET_KERNEL(t, f32_to_f16, f32_to_f16_neon, "neon");
  EDGELLM_SET_KERNEL(t, bf16_to_f32, bf16_to_f32_neon, "neon");
}

}  // namespace edgellm::detail
