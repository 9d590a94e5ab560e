// xsimd bodies of RMSNorm, LayerNorm's forward and the row softmax, templated on the architecture.
// Row reductions use W-wide partial sums, so results differ from the scalar order by rounding only.
#pragma once

#include <cmath>
#include <xsimd/xsimd.hpp>

#include "kernels/ref/norm.h"
#include "kernels/ref/softmax.h"

namespace edgellm::simd {

template <class A>
struct Norm {
  using B = xsimd::batch<float, A>;
  static constexpr int64_t W = static_cast<int64_t>(B::size);

  static float sum_squares(const float* x, int64_t C) {
    B acc(0.0f);
    int64_t i = 0;
    for (; i + W <= C; i += W) {
      const B v = B::load_unaligned(x + i);
      acc = xsimd::fma(v, v, acc);
    }
    float s = xsimd::hadd(acc);
    for (; i < C; ++i) s += x[i] * x[i];
    return s;
  }
  static float dot3(const float* a, const float* b, const float* c, int64_t C) {
    B acc(0.0f);
    int64_t i = 0;
    for (; i + W <= C; i += W)
      acc = xsimd::fma(B::load_unaligned(a + i) * B::load_unaligned(b + i), B::load_unaligned(c + i), acc);
    float s = xsimd::hadd(acc);
    for (; i < C; ++i) s += a[i] * b[i] * c[i];
    return s;
  }

  static void rmsnorm_forward(float* y, float* rstd, const float* x, const float* w, int64_t rows, int64_t C,
                              float eps) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      const float rs = 1.0f / std::sqrt(sum_squares(xr, C) / static_cast<float>(C) + eps);
      if (rstd) rstd[r] = rs;
      const B rv(rs);
      int64_t i = 0;
      for (; i + W <= C; i += W) (B::load_unaligned(xr + i) * rv * B::load_unaligned(w + i)).store_unaligned(yr + i);
      for (; i < C; ++i) yr[i] = xr[i] * rs * w[i];
    }
  }

  static void rmsnorm_backward(float* dx, float* dw, const float* dy, const float* x, const float* w,
                               const float* rstd, int64_t rows, int64_t C) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * C;
      const float* dyr = dy + r * C;
      float* dxr = dx + r * C;
      const float rs = rstd[r];
      const float k = rs * rs * rs * dot3(dyr, w, xr, C) / static_cast<float>(C);
      const B rv(rs), kv(k);
      int64_t i = 0;
      for (; i + W <= C; i += W) {
        const B xv = B::load_unaligned(xr + i), g = B::load_unaligned(dyr + i), wv = B::load_unaligned(w + i);
        (B::load_unaligned(dxr + i) + rv * wv * g - kv * xv).store_unaligned(dxr + i);
        xsimd::fma(g * xv, rv, B::load_unaligned(dw + i)).store_unaligned(dw + i);
      }
      for (; i < C; ++i) {
        dxr[i] += rs * w[i] * dyr[i] - k * xr[i];
        dw[i] += dyr[i] * xr[i] * rs;
      }
    }
  }

  static float row_sum(const float* x, int64_t C) {
    B acc(0.0f);
    int64_t i = 0;
    for (; i + W <= C; i += W) acc += B::load_unaligned(x + i);
    float s = xsimd::hadd(acc);
    for (; i < C; ++i) s += x[i];
    return s;
  }
  // Two passes, as ref::layernorm_forward: the mean, then the variance around it.
  static void layernorm_forward(float* y, float* rstd, const float* x, const float* w, const float* b, int64_t rows,
                                int64_t C, float eps) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      const float mean = row_sum(xr, C) / static_cast<float>(C);
      const B mv(mean);
      B acc(0.0f);
      int64_t i = 0;
      for (; i + W <= C; i += W) {
        const B d = B::load_unaligned(xr + i) - mv;
        acc = xsimd::fma(d, d, acc);
      }
      float ss = xsimd::hadd(acc);
      for (; i < C; ++i) ss += (xr[i] - mean) * (xr[i] - mean);
      const float rs = 1.0f / std::sqrt(ss / static_cast<float>(C) + eps);
      if (rstd) rstd[r] = rs;
      const B rv(rs);
      for (i = 0; i + W <= C; i += W)
        xsimd::fma((B::load_unaligned(xr + i) - mv) * rv, B::load_unaligned(w + i), B::load_unaligned(b + i))
            .store_unaligned(yr + i);
      for (; i < C; ++i) yr[i] = (xr[i] - mean) * rs * w[i] + b[i];
    }
  }

  // As ref::layernorm_backward: the mean recomputed, then mean(g) and mean(g ∘ x̂) with g = dy ∘ w.
  static void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w,
                                 const float* rstd, int64_t rows, int64_t C) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * C;
      const float* dyr = dy + r * C;
      float* dxr = dx + r * C;
      const float mean = row_sum(xr, C) / static_cast<float>(C), rs = rstd[r];
      const B mv(mean), rv(rs);
      B ag(0.0f), agx(0.0f);
      int64_t i = 0;
      for (; i + W <= C; i += W) {
        const B g = B::load_unaligned(dyr + i) * B::load_unaligned(w + i);
        ag += g;
        agx = xsimd::fma(g, (B::load_unaligned(xr + i) - mv) * rv, agx);
      }
      float sg = xsimd::hadd(ag), sgx = xsimd::hadd(agx);
      for (; i < C; ++i) {
        const float g = dyr[i] * w[i];
        sg += g;
        sgx += g * (xr[i] - mean) * rs;
      }
      sg /= static_cast<float>(C);
      sgx /= static_cast<float>(C);
      const B sgv(sg), sgxv(sgx);
      for (i = 0; i + W <= C; i += W) {
        const B g = B::load_unaligned(dyr + i), xh = (B::load_unaligned(xr + i) - mv) * rv;
        (B::load_unaligned(dxr + i) + rv * (g * B::load_unaligned(w + i) - sgv - xh * sgxv)).store_unaligned(dxr + i);
        xsimd::fma(g, xh, B::load_unaligned(dw + i)).store_unaligned(dw + i);
        (B::load_unaligned(db + i) + g).store_unaligned(db + i);
      }
      for (; i < C; ++i) {
        const float xh = (xr[i] - mean) * rs;
        dxr[i] += rs * (dyr[i] * w[i] - sg - xh * sgx);
        dw[i] += dyr[i] * xh;
        db[i] += dyr[i];
      }
    }
  }

  static float row_max(const float* x, int64_t C) {
    int64_t i = 0;
    float m = x[0];
    if (C >= W) {
      B mv = B::load_unaligned(x);
      for (i = W; i + W <= C; i += W) mv = xsimd::max(mv, B::load_unaligned(x + i));
      alignas(64) float buf[64];
      mv.store_unaligned(buf);
      m = buf[0];
      for (int64_t j = 1; j < W; ++j) m = buf[j] > m ? buf[j] : m;
    }
    for (; i < C; ++i) m = x[i] > m ? x[i] : m;
    return m;
  }

  static void softmax_forward(float* y, const float* x, int64_t rows, int64_t C) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      const float m = row_max(xr, C);
      const B mv(m);
      B acc(0.0f);
      int64_t i = 0;
      for (; i + W <= C; i += W) {
        const B e = xsimd::exp(B::load_unaligned(xr + i) - mv);
        e.store_unaligned(yr + i);
        acc += e;
      }
      float sum = xsimd::hadd(acc);
      for (; i < C; ++i) {
        yr[i] = std::exp(xr[i] - m);
        sum += yr[i];
      }
      const float inv = 1.0f / sum;
      const B iv(inv);
      for (i = 0; i + W <= C; i += W) (B::load_unaligned(yr + i) * iv).store_unaligned(yr + i);
      for (; i < C; ++i) yr[i] *= inv;
    }
  }

  static void softmax_backward(float* dx, const float* dy, const float* y, int64_t rows, int64_t C) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* yr = y + r * C;
      const float* dyr = dy + r * C;
      float* dxr = dx + r * C;
      B acc(0.0f);
      int64_t i = 0;
      for (; i + W <= C; i += W) acc = xsimd::fma(B::load_unaligned(dyr + i), B::load_unaligned(yr + i), acc);
      float dot = xsimd::hadd(acc);
      for (; i < C; ++i) dot += dyr[i] * yr[i];
      const B dv(dot);
      for (i = 0; i + W <= C; i += W) {
        const B yv = B::load_unaligned(yr + i);
        xsimd::fma(yv, B::load_unaligned(dyr + i) - dv, B::load_unaligned(dxr + i)).store_unaligned(dxr + i);
      }
      for (; i < C; ++i) dxr[i] += yr[i] * (dyr[i] - dot);
    }
  }
};

}  // namespace edgellm::simd
