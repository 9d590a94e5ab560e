// AWQ scale search (grid over α), clipping search, and quantization of the scaled weight.
// Not the folding of the scales into a model (quant/awq_fold.h).
#include "quant/awq.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/gemm.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm::quant {

namespace {

// Evenly strided subsample of at most m rows of X (n, K).
std::vector<float> subsample(const float* X, int64_t n, int64_t K, int64_t m, int64_t& rows) {
  rows = std::min(n, std::max<int64_t>(m, 1));
  std::vector<float> out(static_cast<size_t>(rows * K));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t src = r * n / rows;
    std::copy(X + src * K, X + (src + 1) * K, out.begin() + r * K);
  }
  return out;
}

// ‖X Dᵀ‖²_F for D (N, K), X (n, K).
double output_error(const float* D, int64_t N, const float* X, int64_t n, int64_t K) {
  std::vector<float> E(static_cast<size_t>(n * N));
  gemm_f32(Trans::N, Trans::T, n, N, K, 1.0f, X, K, D, K, 0.0f, E.data(), N);
  double e = 0;
  for (float v : E) e += double(v) * v;
  return e;
}

}  // namespace

std::vector<float> awq_search_scales(const std::vector<AwqLinear>& lins, int64_t K, const float* x_absmean,
                                     const float* X, int64_t n, const QuantSpec& spec, const AwqOptions& opt,
                                     float* best_alpha) {
  int64_t m = 0;
  const std::vector<float> Xs = subsample(X, n, K, opt.max_tokens, m);
  std::vector<float> best(static_cast<size_t>(K), 1.0f), s(static_cast<size_t>(K));
  double best_err = std::numeric_limits<double>::infinity();
  for (int i = 0; i < std::max(opt.n_grid, 1); ++i) {
    const double alpha = double(i) / std::max(opt.n_grid, 1);
    float mx = 0, mn = std::numeric_limits<float>::infinity();
    for (int64_t k = 0; k < K; ++k) {
      s[k] = static_cast<float>(std::pow(std::max(double(x_absmean[k]), 1e-4), alpha));
      mx = std::max(mx, s[k]);
      mn = std::min(mn, s[k]);
    }
    const float norm = std::sqrt(mx * mn);  // centre the scales around 1 (as AWQ does)
    for (auto& v : s) v /= norm;
    double err = 0;
    for (const AwqLinear& L : lins) {
      std::vector<float> Ws(static_cast<size_t>(L.N * K));
      for (int64_t r = 0; r < L.N; ++r)
        for (int64_t k = 0; k < K; ++k) Ws[r * K + k] = L.W[r * K + k] * s[k];
      const QuantizedMatrix q = rtn_quantize(Ws.data(), L.N, K, spec);
      for (int64_t r = 0; r < L.N; ++r)
        for (int64_t k = 0; k < K; ++k) Ws[r * K + k] = L.W[r * K + k] - q.values[r * K + k] / s[k];
      err += output_error(Ws.data(), L.N, Xs.data(), m, K);
    }
    if (err < best_err) {
      best_err = err;
      best = s;
      if (best_alpha) *best_alpha = static_cast<float>(alpha);
    }
  }
  return best;
}

QuantizedMatrix awq_quantize(const float* W, int64_t N, int64_t K, const float* scales, const float* X, int64_t n,
                             const QuantSpec& spec, const AwqOptions& opt) {
  const Grid grid(spec);
  const int64_t G = grid.group, ng = K / G;
  if (K % G != 0) fail("awq: K={} is not a multiple of the group size {}", K, G);
  std::vector<float> Ws(static_cast<size_t>(N * K));
  for (int64_t r = 0; r < N; ++r)
    for (int64_t k = 0; k < K; ++k) Ws[r * K + k] = W[r * K + k] * scales[k];

  // Per group g: Hg (G, G) = Σ_t x̃_g x̃_gᵀ of the scaled inputs x̃ = x / s; error of a row's group = dᵀ Hg d.
  std::vector<float> shrink(static_cast<size_t>(N * ng), 1.0f);  // (N, ng)
  if (opt.clip && opt.clip_steps > 1) {
    int64_t m = 0;
    std::vector<float> Xs = subsample(X, n, K, opt.max_tokens, m);
    for (int64_t t = 0; t < m; ++t)
      for (int64_t k = 0; k < K; ++k) Xs[t * K + k] /= scales[k];
    parallel_for(ng, 1, [&](int64_t gb, int64_t ge) {
      std::vector<double> Hg(static_cast<size_t>(G * G));
      std::vector<double> d(static_cast<size_t>(G));
      for (int64_t g = gb; g < ge; ++g) {
        std::fill(Hg.begin(), Hg.end(), 0.0);
        for (int64_t t = 0; t < m; ++t) {
          const float* x = Xs.data() + t * K + g * G;
          for (int64_t a = 0; a < G; ++a)
            for (int64_t b = 0; b < G; ++b) Hg[a * G + b] += double(x[a]) * x[b];
        }
        for (int64_t r = 0; r < N; ++r) {
          const float* w = Ws.data() + r * K + g * G;
          double best = std::numeric_limits<double>::infinity();
          for (int i = 0; i < opt.clip_steps; ++i) {
            const float sh = 1.0f - static_cast<float>(i) / 20.0f;
            const GroupParams p = grid.params(w, G, 1, sh);
            for (int64_t a = 0; a < G; ++a) d[a] = double(w[a]) - grid.round(p, w[a]);
            double e = 0;
            for (int64_t a = 0; a < G; ++a) {
              double acc = 0;
              for (int64_t b = 0; b < G; ++b) acc += Hg[a * G + b] * d[b];
              e += d[a] * acc;
            }
            if (e < best) { best = e; shrink[r * ng + g] = sh; }
          }
        }
      }
    });
  }

  QuantizedMatrix out;
  out.spec = spec; out.kind = grid.kind; out.N = N; out.K = K;
  const int64_t rb = grid.row_bytes(K);
  out.data.resize(static_cast<size_t>(N * rb));
  out.values.resize(static_cast<size_t>(N * K));
  parallel_for(N, 16, [&](int64_t b, int64_t e) {
    std::vector<int> q(static_cast<size_t>(K));
    std::vector<GroupParams> gp(static_cast<size_t>(ng));
    for (int64_t r = b; r < e; ++r) {
      const float* w = Ws.data() + r * K;
      for (int64_t g = 0; g < ng; ++g) {
        gp[g] = grid.params(w + g * G, G, 1, shrink[r * ng + g]);
        for (int64_t k = g * G; k < (g + 1) * G; ++k) {
          q[k] = grid.code(gp[g], w[k]);
          out.values[r * K + k] = grid.value(gp[g], q[k]);
        }
      }
      grid.pack_row(out.data.data() + r * rb, q.data(), gp.data(), K);
    }
  });
  return out;
}

std::vector<float> awq_effective_weight(const QuantizedMatrix& q, const float* scales) {
  std::vector<float> w(q.values.size());
  for (int64_t r = 0; r < q.N; ++r)
    for (int64_t k = 0; k < q.K; ++k) w[r * q.K + k] = q.values[r * q.K + k] / scales[k];
  return w;
}

}  // namespace edgellm::quant
