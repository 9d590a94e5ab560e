// xsimd bodies of the optimizer passes (AdamW update with the clip scale folded in, sum of squares),
// templated on the architecture; instantiated only from kernels/arch/<isa>/. Tails use the scalar reference.
#pragma once

#include <xsimd/xsimd.hpp>

#include "kernels/ref/optim.h"

namespace edgellm::simd {

template <class A>
struct Optim {
  using B = xsimd::batch<float, A>;
  static constexpr int64_t W = static_cast<int64_t>(B::size);

  static void adamw_f32(float* w, float* m, float* v, const float* g, int64_t n, const AdamWCoef& c) {
    const B scale(c.grad_scale), decay(c.decay), b1(c.b1), b2(c.b2), omb1(c.one_m_b1), omb2(c.one_m_b2);
    const B step(c.step_size), bc2(c.bc2_sqrt), eps(c.eps);
    int64_t j = 0;
    for (; j + W <= n; j += W) {
      const B gj = B::load_unaligned(g + j) * scale;
      const B mj = b1 * B::load_unaligned(m + j) + omb1 * gj;
      const B vj = b2 * B::load_unaligned(v + j) + omb2 * gj * gj;
      mj.store_unaligned(m + j);
      vj.store_unaligned(v + j);
      const B wj = B::load_unaligned(w + j) * decay;
      (wj - step * mj / (xsimd::sqrt(vj) / bc2 + eps)).store_unaligned(w + j);
    }
    ref::adamw_f32<float, A>(w + j, m + j, v + j, g + j, n - j, c);
  }

  // Float partial sums over chunks of 64·W elements (4 accumulators), each chunk added in double.
  static double sumsq_f32(const float* x, int64_t n) {
    double s = 0;
    int64_t j = 0;
    constexpr int64_t kChunk = 64 * W;
    for (; j + kChunk <= n; j += kChunk) {
      B a0(0.0f), a1(0.0f), a2(0.0f), a3(0.0f);
      for (int64_t k = j; k < j + kChunk; k += 4 * W) {
        const B x0 = B::load_unaligned(x + k), x1 = B::load_unaligned(x + k + W);
        const B x2 = B::load_unaligned(x + k + 2 * W), x3 = B::load_unaligned(x + k + 3 * W);
        a0 = xsimd::fma(x0, x0, a0);
        a1 = xsimd::fma(x1, x1, a1);
        a2 = xsimd::fma(x2, x2, a2);
        a3 = xsimd::fma(x3, x3, a3);
      }
      s += static_cast<double>(xsimd::hadd((a0 + a1) + (a2 + a3)));
    }
    return s + ref::sumsq_f32<float, A>(x + j, n - j);
  }
};

}  // namespace edgellm::simd
