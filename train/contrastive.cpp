// Mean pooling, L2 normalisation and InfoNCE, forward and backward side by side (see train/contrastive.h).
// Not a kernel file: the sizes are an embedder batch (tens of vectors of ~100 floats), so plain loops suffice.
#include "train/contrastive.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/error.h"

namespace edgellm {

template <class F>
void mean_pool_forward(F* out, const F* x, const int32_t* begin, const int32_t* end, int64_t B, int64_t T, int64_t C) {
  for (int64_t b = 0; b < B; ++b) {
    EDGE_CHECK(0 <= begin[b] && begin[b] < end[b] && end[b] <= T, "mean_pool: row {} spans [{}, {}) of T={}", b,
               begin[b], end[b], T);
    F* o = out + b * C;
    std::fill(o, o + C, F(0));
    for (int64_t t = begin[b]; t < end[b]; ++t)
      for (int64_t c = 0; c < C; ++c) o[c] += x[(b * T + t) * C + c];
    const F inv = F(1) / static_cast<F>(end[b] - begin[b]);
    for (int64_t c = 0; c < C; ++c) o[c] *= inv;
  }
}

template <class F>
void mean_pool_backward(F* dx, const F* dout, const int32_t* begin, const int32_t* end, int64_t B, int64_t T, int64_t C) {
  for (int64_t b = 0; b < B; ++b) {
    const F inv = F(1) / static_cast<F>(end[b] - begin[b]);
    for (int64_t t = begin[b]; t < end[b]; ++t)
      for (int64_t c = 0; c < C; ++c) dx[(b * T + t) * C + c] += dout[b * C + c] * inv;
  }
}

template <class F>
void l2_normalize_forward(F* y, F* norm, const F* x, int64_t B, int64_t C) {
  for (int64_t b = 0; b < B; ++b) {
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(x[b * C + c]) * x[b * C + c];
    EDGE_CHECK(ss > 0, "l2_normalize: row {} is zero (it has no direction)", b);
    norm[b] = static_cast<F>(std::sqrt(ss));
    for (int64_t c = 0; c < C; ++c) y[b * C + c] = x[b * C + c] / norm[b];
  }
}

template <class F>
void l2_normalize_backward(F* dx, const F* dy, const F* y, const F* norm, int64_t B, int64_t C) {
  for (int64_t b = 0; b < B; ++b) {
    double dot = 0;  // y·dy
    for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(y[b * C + c]) * dy[b * C + c];
    for (int64_t c = 0; c < C; ++c)
      dx[b * C + c] += static_cast<F>((dy[b * C + c] - y[b * C + c] * dot) / norm[b]);
  }
}

template <class F>
double info_nce_forward(F* prob, const F* q, const F* d, int64_t Q, int64_t N, int64_t C, F tau) {
  EDGE_CHECK(Q >= 1 && N >= Q && tau > 0, "info_nce: need 1 <= Q <= N and tau > 0, got Q={} N={} tau={}", Q, N, tau);
  double loss = 0;
  std::vector<double> s(static_cast<size_t>(N));
  for (int64_t i = 0; i < Q; ++i) {
    double mx = -INFINITY;
    for (int64_t j = 0; j < N; ++j) {
      double dot = 0;
      for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(q[i * C + c]) * d[j * C + c];
      s[j] = dot / tau;
      mx = std::max(mx, s[j]);
    }
    double z = 0;
    for (int64_t j = 0; j < N; ++j) z += std::exp(s[j] - mx);
    const double lse = mx + std::log(z);
    loss += lse - s[i];
    for (int64_t j = 0; j < N; ++j) prob[i * N + j] = static_cast<F>(std::exp(s[j] - lse));
  }
  return loss / static_cast<double>(Q);
}

template <class F>
void info_nce_backward(F* dq, F* dd, const F* prob, const F* q, const F* d, int64_t Q, int64_t N, int64_t C, F tau,
                       F scale) {
  const double k = static_cast<double>(scale) / (static_cast<double>(Q) * tau);
  for (int64_t i = 0; i < Q; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const double g = k * (prob[i * N + j] - (i == j ? 1.0 : 0.0));  // ∂/∂s_ij · scale / τ
      for (int64_t c = 0; c < C; ++c) {
        dq[i * C + c] += static_cast<F>(g * d[j * C + c]);
        dd[j * C + c] += static_cast<F>(g * q[i * C + c]);
      }
    }
}

#define EDGELLM_CONTRASTIVE(F)                                                                                    \
  template void mean_pool_forward<F>(F*, const F*, const int32_t*, const int32_t*, int64_t, int64_t, int64_t);  \
  template void mean_pool_backward<F>(F*, const F*, const int32_t*, const int32_t*, int64_t, int64_t, int64_t); \
  template void l2_normalize_forward<F>(F*, F*, const F*, int64_t, int64_t);                                     \
  template void l2_normalize_backward<F>(F*, const F*, const F*, const F*, int64_t, int64_t);                    \
  template double info_nce_forward<F>(F*, const F*, const F*, int64_t, int64_t, int64_t, F);                     \
  template void info_nce_backward<F>(F*, F*, const F*, const F*, const F*, int64_t, int64_t, int64_t, F, F);
EDGELLM_CONTRASTIVE(float)
EDGELLM_CONTRASTIVE(double)
#undef EDGELLM_CONTRASTIVE

}  // namespace edgellm
