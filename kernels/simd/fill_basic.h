// Overlays one architecture's basic ops (elementwise, norms, softmax, rope, optimizer passes) on a table.
// Included once by each kernels/arch/<isa>/basic_ops.cpp, compiled with that ISA's flags.
#pragma once

#include "kernels/kernel_table.h"
#include "kernels/simd/elementwise.h"
#include "kernels/simd/norm.h"
#include "kernels/simd/optim.h"
#include "kernels/simd/rope.h"

namespace edgellm::simd {

template <class A>
void fill_basic_ops(KernelTable& t, const char* isa) {
  using E = Elementwise<A>;
  using N = Norm<A>;
  using R = Rope<A>;
  EDGELLM_SET_KERNEL(t, add_forward, E::add_forward, isa);
  EDGELLM_SET_KERNEL(t, add_backward, E::add_backward, isa);
  EDGELLM_SET_KERNEL(t, mul_forward, E::mul_forward, isa);
  EDGELLM_SET_KERNEL(t, mul_backward, E::mul_backward, isa);
  EDGELLM_SET_KERNEL(t, scale_forward, E::scale_forward, isa);
  EDGELLM_SET_KERNEL(t, scale_backward, E::scale_backward, isa);
  EDGELLM_SET_KERNEL(t, silu_forward, E::silu_forward, isa);
  EDGELLM_SET_KERNEL(t, silu_backward, E::silu_backward, isa);
  EDGELLM_SET_KERNEL(t, gelu_forward, E::gelu_forward, isa);
  EDGELLM_SET_KERNEL(t, gelu_backward, E::gelu_backward, isa);
  EDGELLM_SET_KERNEL(t, swiglu_forward, E::swiglu_forward, isa);
  EDGELLM_SET_KERNEL(t, swiglu_backward, E::swiglu_backward, isa);
  EDGELLM_SET_KERNEL(t, rmsnorm_forward, N::rmsnorm_forward, isa);
  EDGELLM_SET_KERNEL(t, rmsnorm_backward, N::rmsnorm_backward, isa);
  EDGELLM_SET_KERNEL(t, softcap_forward, E::softcap_forward, isa);
  EDGELLM_SET_KERNEL(t, layernorm_forward, N::layernorm_forward, isa);
  EDGELLM_SET_KERNEL(t, layernorm_backward, N::layernorm_backward, isa);
  EDGELLM_SET_KERNEL(t, softcap_backward, E::softcap_backward, isa);
  EDGELLM_SET_KERNEL(t, softmax_forward, N::softmax_forward, isa);
  EDGELLM_SET_KERNEL(t, softmax_backward, N::softmax_backward, isa);
  EDGELLM_SET_KERNEL(t, rope_forward, R::rope_forward, isa);
  EDGELLM_SET_KERNEL(t, rope_backward, R::rope_backward, isa);
  EDGELLM_SET_KERNEL(t, adamw_f32, Optim<A>::adamw_f32, isa);
  EDGELLM_SET_KERNEL(t, sumsq_f32, Optim<A>::sumsq_f32, isa);
}

}  // namespace edgellm::simd
