// Scalar references of the optimizer's elementwise passes: one AdamW update (with the clip's gradient
// scale folded in) and a sum of squares. Not the schedule or the state bookkeeping (train/optimizer.cpp).
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/kernel_table.h"

namespace edgellm::ref {

// g' = g·grad_scale; θ ← θ·decay; m ← β1·m + (1−β1)·g'; v ← β2·v + (1−β2)·g'·g';
// θ ← θ − step_size·m / (√v / bc2_sqrt + ε). The operation order is PyTorch's (torch.optim.AdamW, single tensor).
template <class T = float, class Tag = void>
void adamw_f32(float* w, float* m, float* v, const float* g, int64_t n, const AdamWCoef& c) {
  for (int64_t j = 0; j < n; ++j) {
    const float gj = g[j] * c.grad_scale;
    const float wj = w[j] * c.decay;
    const float mj = c.b1 * m[j] + c.one_m_b1 * gj;
    const float vj = c.b2 * v[j] + c.one_m_b2 * gj * gj;
    m[j] = mj;
    v[j] = vj;
    w[j] = wj - c.step_size * mj / (std::sqrt(vj) / c.bc2_sqrt + c.eps);
  }
}

// Σ x², accumulated in double.
template <class T = float, class Tag = void>
double sumsq_f32(const float* x, int64_t n) {
  double s = 0;
  for (int64_t j = 0; j < n; ++j) s += static_cast<double>(x[j]) * x[j];
  return s;
}

}  // namespace edgellm::ref
