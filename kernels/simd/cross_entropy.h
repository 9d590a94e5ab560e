// xsimd bodies of the fused cross-entropy (row max, Σ exp, and softmax − one-hot straight into dlogits).
// Not the mean or the target checks: the driver (kernels/cross_entropy.h) does those.
#pragma once

#include <cmath>
#include <xsimd/xsimd.hpp>

namespace edgellm::simd {

template <class A>
struct CrossEntropy {
  using B = xsimd::batch<float, A>;
  static constexpr int64_t W = static_cast<int64_t>(B::size);

  static float fmax1(float a, float b) { return a > b ? a : b; }  // not std::max: see simd/attention.h

  static float row_max(const float* x, int64_t n) {
    float m = x[0];
    int64_t i = 0;
    if (n >= W) {
      B mv = B::load_unaligned(x);
      for (i = W; i + W <= n; i += W) mv = xsimd::max(mv, B::load_unaligned(x + i));
      alignas(64) float buf[64];
      mv.store_unaligned(buf);
      for (int64_t j = 0; j < W; ++j) m = fmax1(m, buf[j]);
    }
    for (; i < n; ++i) m = fmax1(m, x[i]);
    return m;
  }

  // lse = m + log Σ exp(x − m), loss = lse − x_y (see kernels/ref/cross_entropy.h)
  static void forward(float* loss, float* lse, const float* logits, const int32_t* targets, int64_t rows,
                      int64_t V, int32_t ignore_index) {
    for (int64_t t = 0; t < rows; ++t) {
      if (targets[t] == ignore_index) {
        loss[t] = 0;
        if (lse) lse[t] = 0;
        continue;
      }
      const float* x = logits + t * V;
      const float m = row_max(x, V);
      const B mv(m);
      B acc(0.0f);
      int64_t i = 0;
      for (; i + W <= V; i += W) acc += xsimd::exp(B::load_unaligned(x + i) - mv);
      float sum = xsimd::hadd(acc);
      for (; i < V; ++i) sum += std::exp(x[i] - m);
      const float l = m + std::log(sum);
      if (lse) lse[t] = l;
      loss[t] = l - x[targets[t]];
    }
  }

  // dx_j += exp(x_j − lse) · g, then dx_y −= g
  static void backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets, float g,
                       int64_t rows, int64_t V, int32_t ignore_index) {
    const B gv(g);
    for (int64_t t = 0; t < rows; ++t) {
      if (targets[t] == ignore_index) continue;
      const float* x = logits + t * V;
      float* dx = dlogits + t * V;
      const B lv(lse[t]);
      int64_t i = 0;
      for (; i + W <= V; i += W)
        xsimd::fma(xsimd::exp(B::load_unaligned(x + i) - lv), gv, B::load_unaligned(dx + i)).store_unaligned(dx + i);
      for (; i < V; ++i) dx[i] += std::exp(x[i] - lse[t]) * g;
      dx[targets[t]] -= g;
    }
  }
};

}  // namespace edgellm::simd
