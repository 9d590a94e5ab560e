// Fills the table with the scalar references (the base every ISA overlays).
#include "kernels/kernel_table.h"
#include "kernels/ref/elementwise.h"
#include "kernels/ref/norm.h"
#include "kernels/ref/optim.h"
#include "kernels/ref/rope.h"
#include "kernels/ref/softmax.h"
#include "runtime/dtype.h"

namespace edgellm::detail {
namespace {

void f16_to_f32_scalar(float* y, const uint16_t* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(x[i]);
}
void f32_to_f16_scalar(uint16_t* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]);
}
void bf16_to_f32_scalar(float* y, const uint16_t* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(x[i]);
}
void f32_to_bf16_scalar(uint16_t* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

}  // namespace

void fill_scalar(KernelTable& t) {
  const char* s = "scalar";
  EDGELLM_SET_KERNEL(t, f16_to_f32, f16_to_f32_scalar, s);
  EDGELLM_SET_KERNEL(t, f32_to_f16, f32_to_f16_scalar, s);
  EDGELLM_SET_KERNEL(t, bf16_to_f32, bf16_to_f32_scalar, s);
  EDGELLM_SET_KERNEL(t, f32_to_bf16, f32_to_bf16_scalar, s);
  EDGELLM_SET_KERNEL(t, add_forward, ref::add_forward<float>, s);
  EDGELLM_SET_KERNEL(t, add_backward, ref::add_backward<float>, s);
  EDGELLM_SET_KERNEL(t, mul_forward, ref::mul_forward<float>, s);
  EDGELLM_SET_KERNEL(t, mul_backward, ref::mul_backward<float>, s);
  EDGELLM_SET_KERNEL(t, scale_forward, ref::scale_forward<float>, s);
  EDGELLM_SET_KERNEL(t, scale_backward, ref::scale_backward<float>, s);
  EDGELLM_SET_KERNEL(t, silu_forward, ref::silu_forward<float>, s);
  EDGELLM_SET_KERNEL(t, silu_backward, ref::silu_backward<float>, s);
  EDGELLM_SET_KERNEL(t, gelu_forward, ref::gelu_forward<float>, s);
  EDGELLM_SET_KERNEL(t, gelu_backward, ref::gelu_backward<float>, s);
  EDGELLM_SET_KERNEL(t, swiglu_forward, ref::swiglu_forward<float>, s);
  EDGELLM_SET_KERNEL(t, swiglu_backward, ref::swiglu_backward<float>, s);
  EDGELLM_SET_KERNEL(t, rmsnorm_forward, ref::rmsnorm_forward<float>, s);
  EDGELLM_SET_KERNEL(t, rmsnorm_backward, ref::rmsnorm_backward<float>, s);
  EDGELLM_SET_KERNEL(t, softcap_forward, ref::softcap_forward<float>, s);
  EDGELLM_SET_KERNEL(t, layernorm_forward, ref::layernorm_forward<float>, s);
  EDGELLM_SET_KERNEL(t, layernorm_backward, ref::layernorm_backward<float>, s);
  EDGELLM_SET_KERNEL(t, softcap_backward, ref::softcap_backward<float>, s);
  EDGELLM_SET_KERNEL(t, softmax_forward, ref::softmax_forward<float>, s);
  EDGELLM_SET_KERNEL(t, softmax_backward, ref::softmax_backward<float>, s);
  EDGELLM_SET_KERNEL(t, rope_forward, ref::rope_forward<float>, s);
  EDGELLM_SET_KERNEL(t, rope_backward, ref::rope_backward<float>, s);
  EDGELLM_SET_KERNEL(t, adamw_f32, ref::adamw_f32<float>, s);
  EDGELLM_SET_KERNEL(t, sumsq_f32, ref::sumsq_f32<float>, s);
}

}  // namespace edgellm::detail
