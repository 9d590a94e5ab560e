// Scalar reference of causal grouped-query attention, forward and backward (layout: AttentionDims in
// kernels/kernel_table.h). One key at a time with an online softmax; no tiling, no SIMD, no threads.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/kernel_table.h"

namespace edgellm::ref {

// For every query token t in [t0, t1) and query head h of kv group g, with x_s = scale · q_t·k_s over
// keys s = 0 .. pos0 + t (from pos0 + t − window + 1 with a window; x soft-capped when d.softcap), keeps the running max m, the running sum l = Σ exp(x_s − m) and the running
// acc = Σ exp(x_s − m) · v_s, rescaling both by exp(m_old − m_new) when the max grows. Then
//   o_t = acc / l,   L_t = m + log l   (the logsumexp backward needs).
// L may be null (inference, no backward to come). work: HD values of T.
template <class T, class Tag = void>
void attention_forward(T* o, T* L, const T* q, const T* k, const T* v, const AttentionDims& d, int64_t g,
                       int64_t t0, int64_t t1, T* work) {
  const int64_t G = d.NH / d.KVH, HD = d.HD;
  const T scale = static_cast<T>(d.scale);
  T* acc = work;  // (HD)
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t h = g * G; h < (g + 1) * G; ++h) {
      const T* qt = q + t * d.q_stride + h * HD;
      T m = -std::numeric_limits<T>::infinity(), l = 0;
      for (int64_t i = 0; i < HD; ++i) acc[i] = 0;
      const int64_t first = d.window > 0 && d.pos0 + t - d.window + 1 > 0 ? d.pos0 + t - d.window + 1 : 0;
      for (int64_t s = first; s <= d.pos0 + t; ++s) {
        const T* ks = k + s * d.k_stride + g * HD;
        const T* vs = v + s * d.v_stride + g * HD;
        T x = 0;
        for (int64_t i = 0; i < HD; ++i) x += qt[i] * ks[i];
        x *= scale;
        if (d.softcap > 0) x = static_cast<T>(d.softcap) * std::tanh(x / static_cast<T>(d.softcap));
        if (x > m) {
          const T alpha = std::exp(m - x);  // 0 on the first key (m = −inf)
          l *= alpha;
          for (int64_t i = 0; i < HD; ++i) acc[i] *= alpha;
          m = x;
        }
        const T p = std::exp(x - m);
        l += p;
        for (int64_t i = 0; i < HD; ++i) acc[i] += p * vs[i];
      }
      T* ot = o + t * d.o_stride + h * HD;
      for (int64_t i = 0; i < HD; ++i) ot[i] = acc[i] / l;
      if (L) L[t * d.NH + h] = m + std::log(l);
    }
  }
}

// With P_ts = exp(scale · q_t·k_s − L_t) recomputed from the saved L and D_t = Σ_i dO_ti · O_ti:
//   dv_s += P_ts · dO_t
//   dP_ts = dO_t · v_s
//   dS_ts = P_ts · (dP_ts − D_t)          (the softmax's vector-Jacobian product)
//   dq_t += scale · dS_ts · k_s,   dk_s += scale · dS_ts · q_t
// summed over the query heads of kv group g for dk, dv, over the keys the forward saw (its window). With a
// soft-cap the score is y = cap·tanh(x/cap) of x = scale·q·k, so P = exp(y − L) and dS picks up the factor
// dy/dx = 1 − (y/cap)². work: unused.
template <class T, class Tag = void>
void attention_backward(T* dq, T* dk, T* dv, const T* dO, const T* q, const T* k, const T* v, const T* o,
                        const T* L, const AttentionDims& d, int64_t g, T* work) {
  (void)work;
  const int64_t G = d.NH / d.KVH, HD = d.HD;
  const T scale = static_cast<T>(d.scale);
  for (int64_t h = g * G; h < (g + 1) * G; ++h) {
    for (int64_t t = 0; t < d.T; ++t) {
      const T* qt = q + t * d.q_stride + h * HD;
      const T* ot = o + t * d.o_stride + h * HD;
      const T* gt = dO + t * d.o_stride + h * HD;
      T* dqt = dq + t * d.q_stride + h * HD;
      T D = 0;
      for (int64_t i = 0; i < HD; ++i) D += gt[i] * ot[i];
      const T Lt = L[t * d.NH + h];
      const int64_t first = d.window > 0 && d.pos0 + t - d.window + 1 > 0 ? d.pos0 + t - d.window + 1 : 0;
      for (int64_t s = first; s <= d.pos0 + t; ++s) {
        const T* ks = k + s * d.k_stride + g * HD;
        const T* vs = v + s * d.v_stride + g * HD;
        T* dks = dk + s * d.k_stride + g * HD;
        T* dvs = dv + s * d.v_stride + g * HD;
        T x = 0, dp = 0;
        for (int64_t i = 0; i < HD; ++i) {
          x += qt[i] * ks[i];
          dp += gt[i] * vs[i];
        }
        x *= scale;
        T dydx = 1;
        if (d.softcap > 0) {
          x = static_cast<T>(d.softcap) * std::tanh(x / static_cast<T>(d.softcap));
          dydx = T(1) - (x / static_cast<T>(d.softcap)) * (x / static_cast<T>(d.softcap));
        }
        const T p = std::exp(x - Lt);
        const T ds = p * (dp - D) * dydx * scale;
        for (int64_t i = 0; i < HD; ++i) {
          dvs[i] += p * gt[i];
          dqt[i] += ds * ks[i];
          dks[i] += ds * qt[i];
        }
      }
    }
  }
}

}  // namespace edgellm::ref
