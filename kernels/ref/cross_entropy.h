// Scalar reference of the fused cross-entropy over logits rows, forward and backward, with masking.
// Not the mean: the driver (kernels/cross_entropy.h) divides by the unmasked count and validates targets.
#pragma once

#include <cmath>
#include <cstdint>

namespace edgellm::ref {

// Row t with target y: lse_t = m + log Σ_j exp(x_tj − m) (m the row max), loss_t = lse_t − x_ty.
// Masked rows (y == ignore_index): loss 0, lse 0.
template <class T, class Tag = void>
void cross_entropy_forward(T* loss, T* lse, const T* logits, const int32_t* targets, int64_t rows, int64_t V,
                           int32_t ignore_index) {
  for (int64_t t = 0; t < rows; ++t) {
    const T* x = logits + t * V;
    if (targets[t] == ignore_index) {
      loss[t] = 0;
      if (lse) lse[t] = 0;
      continue;
    }
    T m = x[0];
    for (int64_t j = 1; j < V; ++j) m = x[j] > m ? x[j] : m;
    T sum = 0;
    for (int64_t j = 0; j < V; ++j) sum += std::exp(x[j] - m);
    const T l = m + std::log(sum);
    if (lse) lse[t] = l;
    loss[t] = l - x[targets[t]];
  }
}

// dlogits_tj += (exp(x_tj − lse_t) − [j == y_t]) · g on unmasked rows: softmax minus one-hot, fused,
// with no softmax buffer.
template <class T, class Tag = void>
void cross_entropy_backward(T* dlogits, const T* logits, const T* lse, const int32_t* targets, T g, int64_t rows,
                            int64_t V, int32_t ignore_index) {
  for (int64_t t = 0; t < rows; ++t) {
    if (targets[t] == ignore_index) continue;
    const T* x = logits + t * V;
    T* dx = dlogits + t * V;
    for (int64_t j = 0; j < V; ++j) dx[j] += std::exp(x[j] - lse[t]) * g;
    dx[targets[t]] -= g;
  }
}

}  // namespace edgellm::ref
