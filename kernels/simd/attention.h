// xsimd bodies of tiled causal grouped-query attention (FlashAttention-2 style), templated on the arch.
// Not threaded (kernels/attention.cpp splits the work) and f32 only; the math is in kernels/ref/attention.h.
//
// A tile is up to R = kAttnRows (token, head) rows of one kv group against K = kAttnKeys keys. Keys and
// values are packed transposed, (HD, K), so scores come out of an outer-product micro-kernel that
// broadcasts one q value and multiplies K/W full vectors; every product that sums over keys or rows
// (P·V, Pᵀ·dO, dS·K, dSᵀ·Q) goes through one micro-kernel that vectorizes over HD.
#pragma once

#include <cmath>
#include <limits>
#include <xsimd/xsimd.hpp>

#include "kernels/kernel_table.h"

namespace edgellm::simd {

template <class A>
struct Attention {
  using B = xsimd::batch<float, A>;
  static constexpr int64_t W = static_cast<int64_t>(B::size);
  static constexpr int64_t R = kAttnRows, K = kAttnKeys;
  static constexpr int64_t CB = 4 * W;  // score columns per micro-kernel pass
  // Rows per micro-kernel pass: 4 rows × 4 vectors = 16 accumulators where there are 32 vector registers
  // (AVX-512, NEON), 2 rows where there are 16 (AVX2).
  static constexpr int MR = W == 8 ? 2 : 4;
  static_assert(K % CB == 0, "the key tile must be a multiple of four vectors");

  // Work layout (floats): Kt (HD, K) | Vt (HD, K) | S (R, K) | dP (R, K) | acc (R, HD) | m, l, D (R each).
  // Total 2·K·HD + 2·R·K + R·HD + 3·R: what attention_work_floats(HD) returns.
  struct Work {
    float *Kt, *Vt, *S, *dP, *acc, *m, *l, *D;
  };
  static Work carve(float* w, int64_t HD) {
    Work r;
    r.Kt = w;
    r.Vt = r.Kt + K * HD;
    r.S = r.Vt + K * HD;
    r.dP = r.S + R * K;
    r.acc = r.dP + R * K;
    r.m = r.acc + R * HD;
    r.l = r.m + R;
    r.D = r.l + R;
    return r;
  }

  // Local helpers rather than std::fill/min/max/clamp: a std template instantiated here would be
  // compiled with this ISA's flags and could be the copy the linker keeps for every other file.
  static void zero(float* p, int64_t n) {
    for (int64_t i = 0; i < n; ++i) p[i] = 0.0f;
  }
  static int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
  static int64_t iclamp(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : (x > hi ? hi : x); }
  static float fmax1(float a, float b) { return a > b ? a : b; }

  // Kt[d, c] = row c of `base` (pitch `stride`), element d, for c < n; zero up to n rounded up to CB.
  static void pack_t(float* Kt, const float* base, int64_t stride, int64_t n, int64_t HD) {
    for (int64_t c = 0; c < n; ++c) {
      const float* row = base + c * stride;
      for (int64_t i = 0; i < HD; ++i) Kt[i * K + c] = row[i];
    }
    const int64_t nc = (n + CB - 1) / CB * CB;  // the score kernel reads columns up to here
    if (n < nc)
      for (int64_t i = 0; i < HD; ++i) zero(Kt + i * K + n, nc - n);
  }

  // S[r, c] = X_r · Kt[:, c] for the NR rows X[0..NR), columns [0, nc) rounded up to CB.
  template <int NR>
  static void score_rows(float* S, const float* const* X, const float* Kt, int64_t HD, int64_t nc) {
    for (int64_t c0 = 0; c0 < nc; c0 += CB) {
      B acc[NR][4];
      for (int i = 0; i < NR; ++i)
        for (int j = 0; j < 4; ++j) acc[i][j] = B(0.0f);
      for (int64_t dd = 0; dd < HD; ++dd) {
        const float* kr = Kt + dd * K + c0;
        const B k0 = B::load_unaligned(kr), k1 = B::load_unaligned(kr + W);
        const B k2 = B::load_unaligned(kr + 2 * W), k3 = B::load_unaligned(kr + 3 * W);
        for (int i = 0; i < NR; ++i) {
          const B x(X[i][dd]);
          acc[i][0] = xsimd::fma(x, k0, acc[i][0]);
          acc[i][1] = xsimd::fma(x, k1, acc[i][1]);
          acc[i][2] = xsimd::fma(x, k2, acc[i][2]);
          acc[i][3] = xsimd::fma(x, k3, acc[i][3]);
        }
      }
      for (int i = 0; i < NR; ++i)
        for (int j = 0; j < 4; ++j) acc[i][j].store_unaligned(S + i * K + c0 + j * W);
    }
  }
  static void scores(float* S, const float* const* X, int64_t nr, const float* Kt, int64_t HD, int64_t nc) {
    int64_t r = 0;
    for (; r + MR <= nr; r += MR) score_rows<MR>(S + r * K, X + r, Kt, HD, nc);
    for (; r + 2 <= nr; r += 2) score_rows<2>(S + r * K, X + r, Kt, HD, nc);
    if (r < nr) score_rows<1>(S + r * K, X + r, Kt, HD, nc);
  }

  // Decode-sized tiles (a few rows): S[r, c] = X_r · k_c straight from the key rows (pitch `stride`), one
  // horizontal sum per score, because transposing a key tile would cost more than the few rows that use it.
  static constexpr int64_t kDirectRows = 8;
  template <int NR>
  static void score_direct_rows(float* S, const float* const* X, const float* kbase, int64_t stride, int64_t nk,
                                int64_t HD) {
    for (int64_t c = 0; c < nk; ++c) {
      const float* kc = kbase + c * stride;
      B acc[NR];
      for (int i = 0; i < NR; ++i) acc[i] = B(0.0f);
      int64_t dd = 0;
      for (; dd + W <= HD; dd += W) {
        const B kv = B::load_unaligned(kc + dd);
        for (int i = 0; i < NR; ++i) acc[i] = xsimd::fma(B::load_unaligned(X[i] + dd), kv, acc[i]);
      }
      for (int i = 0; i < NR; ++i) {
        float sum = xsimd::hadd(acc[i]);
        for (int64_t e = dd; e < HD; ++e) sum += X[i][e] * kc[e];
        S[i * K + c] = sum;
      }
    }
  }
  // W keys against one row at a time, W accumulators reduced together by one haddp (lane j = key j).
  // Cheaper than W horizontal sums.
  static void score_direct_group(float* S, const float* const* X, int64_t nr, const float* kbase, int64_t stride,
                                 int64_t HD) {
    const float* kc[W];
    for (int64_t j = 0; j < W; ++j) kc[j] = kbase + j * stride;
    for (int64_t r = 0; r < nr; ++r) {
      B acc[W];
      for (int64_t j = 0; j < W; ++j) acc[j] = B(0.0f);
      int64_t dd = 0;
      for (; dd + W <= HD; dd += W) {
        const B qv = B::load_unaligned(X[r] + dd);
        for (int64_t j = 0; j < W; ++j) acc[j] = xsimd::fma(qv, B::load_unaligned(kc[j] + dd), acc[j]);
      }
      B sum = xsimd::haddp(acc);
      if (dd < HD) {
        alignas(64) float tail[64];
        for (int64_t j = 0; j < W; ++j) {
          float t = 0;
          for (int64_t e = dd; e < HD; ++e) t += X[r][e] * kc[j][e];
          tail[j] = t;
        }
        sum += B::load_unaligned(tail);
      }
      sum.store_unaligned(S + r * K);
    }
  }
  static void scores_direct(float* S, const float* const* X, int64_t nr, const float* kbase, int64_t stride,
                            int64_t nk, int64_t HD) {
    int64_t c0 = 0;
    // Debian's xsimd 8.1 haddp for AVX-512 returns its 16 lanes permuted (lanes 2,3 <-> 4,5 and 10,11 <->
    // 12,13; checked with a probe), so AVX-512 keeps one horizontal sum per score.
    if constexpr (W <= 8)
      for (; c0 + W <= nk; c0 += W) score_direct_group(S + c0, X, nr, kbase + c0 * stride, stride, HD);
    if (c0 == nk) return;
    S += c0;
    kbase += c0 * stride;
    nk -= c0;
    int64_t r = 0;
    for (; r + 4 <= nr; r += 4) score_direct_rows<4>(S + r * K, X + r, kbase, stride, nk, HD);
    switch (nr - r) {
      case 3: score_direct_rows<3>(S + r * K, X + r, kbase, stride, nk, HD); break;
      case 2: score_direct_rows<2>(S + r * K, X + r, kbase, stride, nk, HD); break;
      case 1: score_direct_rows<1>(S + r * K, X + r, kbase, stride, nk, HD); break;
      default: break;
    }
  }

  // Y_i[d0 .. d0 + NV·W) += Σ_{j < nj} C[i·ci + j·cj] · Z_j[same] for the NR rows Y[0..NR).
  template <int NR, int NV>
  static void accum_block(float* const* Y, const float* const* Z, int64_t nj, const float* C, int64_t ci,
                          int64_t cj, int64_t d0) {
    B acc[NR][NV];
    for (int i = 0; i < NR; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] = B::load_unaligned(Y[i] + d0 + v * W);
    for (int64_t j = 0; j < nj; ++j) {
      B z[NV];
      for (int v = 0; v < NV; ++v) z[v] = B::load_unaligned(Z[j] + d0 + v * W);
      for (int i = 0; i < NR; ++i) {
        const B c(C[i * ci + j * cj]);
        for (int v = 0; v < NV; ++v) acc[i][v] = xsimd::fma(c, z[v], acc[i][v]);
      }
    }
    for (int i = 0; i < NR; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v].store_unaligned(Y[i] + d0 + v * W);
  }
  template <int NV>
  static void accum_cols(float* const* Y, int64_t ni, const float* const* Z, int64_t nj, const float* C,
                         int64_t ci, int64_t cj, int64_t d0) {
    int64_t i = 0;
    for (; i + MR <= ni; i += MR) accum_block<MR, NV>(Y + i, Z, nj, C + i * ci, ci, cj, d0);
    for (; i + 2 <= ni; i += 2) accum_block<2, NV>(Y + i, Z, nj, C + i * ci, ci, cj, d0);
    if (i < ni) accum_block<1, NV>(Y + i, Z, nj, C + i * ci, ci, cj, d0);
  }
  // Y_i[0 .. HD) += Σ_{j < nj} C[i·ci + j·cj] · Z_j[0 .. HD) for i < ni.
  static void accum(float* const* Y, int64_t ni, const float* const* Z, int64_t nj, const float* C, int64_t ci,
                    int64_t cj, int64_t HD) {
    int64_t d0 = 0;
    for (; d0 + 4 * W <= HD; d0 += 4 * W) accum_cols<4>(Y, ni, Z, nj, C, ci, cj, d0);
    for (; d0 + W <= HD; d0 += W) accum_cols<1>(Y, ni, Z, nj, C, ci, cj, d0);
    for (; d0 < HD; ++d0)
      for (int64_t i = 0; i < ni; ++i) {
        float s = Y[i][d0];
        for (int64_t j = 0; j < nj; ++j) s += C[i * ci + j * cj] * Z[j][d0];
        Y[i][d0] = s;
      }
  }

  static float dot(const float* a, const float* b, int64_t n) {
    B acc(0.0f);
    int64_t i = 0;
    for (; i + W <= n; i += W) acc = xsimd::fma(B::load_unaligned(a + i), B::load_unaligned(b + i), acc);
    float s = xsimd::hadd(acc);
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
  }
  // x_c *= s for c < n; returns max_c x_c (n >= 1).
  static float scale_max(float* x, int64_t n, float s) {
    const B sv(s);
    B mv(-std::numeric_limits<float>::infinity());
    int64_t c = 0;
    for (; c + W <= n; c += W) {
      const B v = B::load_unaligned(x + c) * sv;
      v.store_unaligned(x + c);
      mv = xsimd::max(mv, v);
    }
    alignas(64) float buf[64];
    mv.store_unaligned(buf);
    float m = buf[0];
    for (int64_t j = 1; j < W; ++j) m = fmax1(m, buf[j]);
    for (; c < n; ++c) {
      x[c] *= s;
      m = fmax1(m, x[c]);
    }
    return m;
  }
  // x_c = cap · tanh(x_c / cap) for c < n (Gemma 2's attention soft-cap); returns max_c x_c (n >= 1).
  static float softcap_max(float* x, int64_t n, float cap) {
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < n; ++c) {
      x[c] = cap * std::tanh(x[c] / cap);
      m = fmax1(m, x[c]);
    }
    return m;
  }
  // x_c = exp(x_c − shift) for c < n; returns Σ_c x_c.
  static float exp_sum(float* x, int64_t n, float shift) {
    const B sh(shift);
    B acc(0.0f);
    int64_t c = 0;
    for (; c + W <= n; c += W) {
      const B e = xsimd::exp(B::load_unaligned(x + c) - sh);
      e.store_unaligned(x + c);
      acc += e;
    }
    float sum = xsimd::hadd(acc);
    for (; c < n; ++c) sum += (x[c] = std::exp(x[c] - shift));
    return sum;
  }

  static void forward(float* o, float* L, const float* q, const float* k, const float* v, const AttentionDims& d,
                      int64_t g, int64_t t0, int64_t t1, float* work) {
    const int64_t G = d.NH / d.KVH, HD = d.HD, n = (t1 - t0) * G;
    const float scale = static_cast<float>(d.scale);
    const Work w = carve(work, HD);
    const float* X[R];
    float* Y[R];
    const float* Z[K];
    int64_t lim[R], low[R];
    for (int64_t r0 = 0; r0 < n; r0 += R) {
      const int64_t nr = imin(R, n - r0);
      for (int64_t r = 0; r < nr; ++r) {  // rows in token order, heads of the group inside
        const int64_t t = t0 + (r0 + r) / G, h = g * G + (r0 + r) % G;
        X[r] = q + t * d.q_stride + h * HD;
        Y[r] = w.acc + r * HD;
        lim[r] = d.pos0 + t;
        low[r] = d.window > 0 && lim[r] - d.window + 1 > 0 ? lim[r] - d.window + 1 : 0;  // the sliding window's first key
        zero(Y[r], HD);
        w.m[r] = -std::numeric_limits<float>::infinity();
        w.l[r] = 0;
      }
      const int64_t smax = lim[nr - 1];  // the last row sees the most keys
      for (int64_t s0 = low[0] / K * K; s0 <= smax; s0 += K) {  // the first row's window starts earliest
        const int64_t nk = imin(K, smax + 1 - s0);
        if (nr <= kDirectRows) {
          scores_direct(w.S, X, nr, k + s0 * d.k_stride + g * HD, d.k_stride, nk, HD);
        } else {
          pack_t(w.Kt, k + s0 * d.k_stride + g * HD, d.k_stride, nk, HD);
          scores(w.S, X, nr, w.Kt, HD, nk);
        }
        for (int64_t r = 0; r < nr; ++r) {  // online softmax: rescale what was summed so far
          float* Sr = w.S + r * K;
          const int64_t valid = iclamp(lim[r] + 1 - s0, 0, nk), first = iclamp(low[r] - s0, 0, valid);
          if (valid == first) {
            zero(Sr, nk);
            continue;
          }
          zero(Sr, first);  // keys before the window
          float smax_r = scale_max(Sr + first, valid - first, scale);
          if (d.softcap > 0) smax_r = softcap_max(Sr + first, valid - first, static_cast<float>(d.softcap));
          const float mnew = fmax1(w.m[r], smax_r);
          const float alpha = std::exp(w.m[r] - mnew);
          w.l[r] = w.l[r] * alpha + exp_sum(Sr + first, valid - first, mnew);
          zero(Sr + valid, nk - valid);
          w.m[r] = mnew;
          if (alpha != 1.0f)
            for (int64_t i = 0; i < HD; ++i) Y[r][i] *= alpha;
        }
        for (int64_t c = 0; c < nk; ++c) Z[c] = v + (s0 + c) * d.v_stride + g * HD;
        accum(Y, nr, Z, nk, w.S, K, 1, HD);  // acc_r += Σ_c P_rc · v_c
      }
      for (int64_t r = 0; r < nr; ++r) {
        const int64_t t = t0 + (r0 + r) / G, h = g * G + (r0 + r) % G;
        float* ot = o + t * d.o_stride + h * HD;
        const float inv = 1.0f / w.l[r];
        for (int64_t i = 0; i < HD; ++i) ot[i] = Y[r][i] * inv;
        if (L) L[t * d.NH + h] = w.m[r] + std::log(w.l[r]);
      }
    }
  }

  static void backward(float* dq, float* dk, float* dv, const float* dO, const float* q, const float* k,
                       const float* v, const float* o, const float* L, const AttentionDims& d, int64_t g,
                       float* work) {
    const int64_t G = d.NH / d.KVH, HD = d.HD, n = d.T * G;
    const float scale = static_cast<float>(d.scale);
    const Work w = carve(work, HD);
    const float *Xq[R], *Xg[R], *Zk[K];
    float *Yq[R], *Ydk[K], *Ydv[K];
    int64_t lim[R], low[R];
    for (int64_t r0 = 0; r0 < n; r0 += R) {
      const int64_t nr = imin(R, n - r0);
      for (int64_t r = 0; r < nr; ++r) {
        const int64_t t = (r0 + r) / G, h = g * G + (r0 + r) % G;
        Xq[r] = q + t * d.q_stride + h * HD;
        Xg[r] = dO + t * d.o_stride + h * HD;
        Yq[r] = dq + t * d.q_stride + h * HD;
        w.D[r] = dot(Xg[r], o + t * d.o_stride + h * HD, HD);  // D_t = dO_t · O_t
        w.l[r] = L[t * d.NH + h];
        lim[r] = d.pos0 + t;
        low[r] = d.window > 0 && lim[r] - d.window + 1 > 0 ? lim[r] - d.window + 1 : 0;  // the sliding window's first key
      }
      const int64_t smax = lim[nr - 1];
      for (int64_t s0 = low[0] / K * K; s0 <= smax; s0 += K) {  // the first row's window starts earliest
        const int64_t nk = imin(K, smax + 1 - s0);
        pack_t(w.Kt, k + s0 * d.k_stride + g * HD, d.k_stride, nk, HD);
        pack_t(w.Vt, v + s0 * d.v_stride + g * HD, d.v_stride, nk, HD);
        scores(w.S, Xq, nr, w.Kt, HD, nk);   // q·k
        scores(w.dP, Xg, nr, w.Vt, HD, nk);  // dP = dO·v
        const B sv(scale);
        for (int64_t r = 0; r < nr; ++r) {  // P = exp(scale·q·k − L), dS·scale = P·(dP − D)·scale
          float *Sr = w.S + r * K, *Gr = w.dP + r * K;
          const int64_t valid = iclamp(lim[r] + 1 - s0, 0, nk), first = iclamp(low[r] - s0, 0, valid);
          const B Lv(w.l[r]), Dv(w.D[r]);
          int64_t c = 0;
          if (first > 0 || d.softcap > 0) {  // a window or a soft-cap (Gemma): the scalar step, as ref::attention_backward
            const float cap = static_cast<float>(d.softcap);
            for (; c < valid; ++c) {
              if (c < first) {
                Sr[c] = Gr[c] = 0;
                continue;
              }
              float x = Sr[c] * scale, dydx = 1.0f;
              if (cap > 0) {
                x = cap * std::tanh(x / cap);
                dydx = 1.0f - (x / cap) * (x / cap);
              }
              const float p = std::exp(x - w.l[r]);
              Sr[c] = p;
              Gr[c] = p * (Gr[c] - w.D[r]) * dydx * scale;
            }
          }
          for (; c + W <= valid; c += W) {
            const B p = xsimd::exp(xsimd::fms(B::load_unaligned(Sr + c), sv, Lv));
            p.store_unaligned(Sr + c);
            (p * (B::load_unaligned(Gr + c) - Dv) * sv).store_unaligned(Gr + c);
          }
          for (; c < valid; ++c) {
            const float p = std::exp(Sr[c] * scale - w.l[r]);
            Sr[c] = p;
            Gr[c] = p * (Gr[c] - w.D[r]) * scale;
          }
          zero(Sr + valid, nk - valid);
          zero(Gr + valid, nk - valid);
        }
        for (int64_t c = 0; c < nk; ++c) {
          Zk[c] = k + (s0 + c) * d.k_stride + g * HD;
          Ydk[c] = dk + (s0 + c) * d.k_stride + g * HD;
          Ydv[c] = dv + (s0 + c) * d.v_stride + g * HD;
        }
        accum(Ydv, nk, Xg, nr, w.S, 1, K, HD);   // dv_c += Σ_r P_rc · dO_r
        accum(Ydk, nk, Xq, nr, w.dP, 1, K, HD);  // dk_c += scale · Σ_r dS_rc · q_r
        accum(Yq, nr, Zk, nk, w.dP, K, 1, HD);   // dq_r += scale · Σ_c dS_rc · k_c
      }
    }
  }
};

}  // namespace edgellm::simd
