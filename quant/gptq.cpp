// GPTQ: damped Hessian, upper Cholesky factor of H⁻¹, lazy-block column quantization with error feedback.
// Not parallel in the column loop (inherently sequential); the O(K³) factorizations and the block updates are.
#include "quant/gptq.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/gemm.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm::quant {

namespace {

// parallel_for only when the region carries enough work (~work flops) to pay for a fork/join: GPTQ's
// column loop would otherwise fork thousands of times, which costs more than it saves on a busy machine.
template <class F>
void par_for(int64_t n, int64_t grain, double work, F&& fn) {
  if (work < 4e6) fn(int64_t{0}, n);
  else parallel_for(n, grain, fn);
}

// Σ a_k b_k with eight independent partial sums: a single running sum is bound by the add latency (the
// compiler may not reassociate doubles), which made these O(K³) loops 4-8x slower.
double dot8(const double* a, const double* b, int64_t n) {
  double p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) p[j] += a[k + j] * b[k + j];
  double s = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
  for (; k < n; ++k) s += a[k] * b[k];
  return s;
}

// In place: A (K, K) row-major symmetric -> its lower Cholesky factor L (upper part left as garbage).
// Right-looking and blocked by panels of kPanel columns: factor the diagonal block, solve the panel rows below
// it, then subtract the panel's outer product from the trailing lower triangle. Each step reads short rows
// (kPanel doubles) that stay in cache, and there are 2·K/kPanel parallel regions instead of K: the unblocked
// left-looking loop streamed whole rows from memory (≈ K³/3 · 8 bytes) and forked once per column.
void cholesky_lower(std::vector<double>& A, int64_t K, const char* what) {
  constexpr int64_t kPanel = 64;
  for (int64_t j0 = 0; j0 < K; j0 += kPanel) {
    const int64_t jb = std::min(kPanel, K - j0), j1 = j0 + jb;
    // Diagonal block: unblocked, on the panel's columns only (earlier panels are already subtracted).
    for (int64_t j = j0; j < j1; ++j) {
      double* Lj = A.data() + j * K;
      const double d = Lj[j] - dot8(Lj + j0, Lj + j0, j - j0);
      if (!(d > 0)) fail("gptq: {} is not positive definite (pivot {} = {})", what, j, d);
      Lj[j] = std::sqrt(d);
      for (int64_t i = j + 1; i < j1; ++i) {
        double* Li = A.data() + i * K;
        Li[j] = (Li[j] - dot8(Li + j0, Lj + j0, j - j0)) / Lj[j];
      }
    }
    const int64_t R = K - j1;  // rows below the panel
    if (R == 0) break;
    // Panel rows: L21 = A21 · L11⁻ᵀ, row by row (forward substitution).
    par_for(R, 16, double(R) * double(jb * jb), [&](int64_t b, int64_t e) {
      for (int64_t i = j1 + b; i < j1 + e; ++i) {
        double* Li = A.data() + i * K;
        for (int64_t j = j0; j < j1; ++j) {
          const double* Lj = A.data() + j * K;
          Li[j] = (Li[j] - dot8(Li + j0, Lj + j0, j - j0)) / Lj[j];
        }
      }
    });
    // Trailing update A22 -= L21 L21ᵀ (lower triangle). Row r has r+1 entries, so unit u takes rows u and
    // R-1-u: equal work per unit for parallel_for's equal static chunks.
    par_for((R + 1) / 2, 8, double(R) * double(R) * double(jb), [&](int64_t b, int64_t e) {
      for (int64_t u = b; u < e; ++u) {
        const int64_t rows[2] = {u, R - 1 - u};
        for (int t = 0; t < (rows[0] == rows[1] ? 1 : 2); ++t) {  // the middle row of an odd R once
          const int64_t i = j1 + rows[t];
          double* Ai = A.data() + i * K;
          for (int64_t k = j1; k <= i; ++k) Ai[k] -= dot8(Ai + j0, A.data() + k * K + j0, jb);
        }
      }
    });
  }
}

// M (K, K) = L⁻¹ for a lower-triangular L (lower result; upper part zero), by forward substitution on
// batches of kCols columns at once: each row of L is read once per batch rather than once per column (the
// per-column loop streamed the triangle K times from memory). y (K, kCols) holds the batch's columns; y[k][b]
// is zero above column c0+b, so every column of the batch may start at row c0. Batch u is paired with batch
// nb-1-u so that parallel_for's equal chunks get equal work.
std::vector<double> lower_inverse(const std::vector<double>& L, int64_t K) {
  constexpr int64_t kCols = 8;
  std::vector<double> M(static_cast<size_t>(K * K), 0.0);
  const int64_t nb = (K + kCols - 1) / kCols;
  auto batch = [&](int64_t bi, std::vector<double>& y) {
    const int64_t c0 = bi * kCols, bc = std::min(kCols, K - c0);
    std::fill(y.begin(), y.end(), 0.0);
    for (int64_t i = c0; i < K; ++i) {
      const double* Li = L.data() + i * K;
      double acc[kCols] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t k = c0; k < i; ++k) {
        const double l = Li[k];
        const double* yk = y.data() + k * kCols;
        for (int64_t b = 0; b < kCols; ++b) acc[b] += l * yk[b];
      }
      double* yi = y.data() + i * kCols;
      for (int64_t b = 0; b < bc; ++b) {
        const int64_t c = c0 + b;
        yi[b] = i < c ? 0.0 : ((i == c ? 1.0 : 0.0) - acc[b]) / Li[i];
        M[i * K + c] = yi[b];
      }
    }
  };
  parallel_for((nb + 1) / 2, 1, [&](int64_t b, int64_t e) {
    std::vector<double> y(static_cast<size_t>(K * kCols));
    for (int64_t u = b; u < e; ++u) {
      batch(u, y);
      if (nb - 1 - u != u) batch(nb - 1 - u, y);
    }
  });
  return M;
}

}  // namespace

void hessian_accumulate(double* H, const float* x, int64_t rows, int64_t K, double weight) {
  std::vector<float> g(static_cast<size_t>(K * K));
  gemm_f32(Trans::T, Trans::N, K, K, rows, 1.0f, x, K, x, K, 0.0f, g.data(), K);
  for (int64_t i = 0; i < K * K; ++i) H[i] += weight * g[i];
}

double relative_output_error(const float* W, const float* Wq, const float* X, int64_t N, int64_t K, int64_t n) {
  std::vector<float> D(static_cast<size_t>(N * K)), Y(static_cast<size_t>(n * N)), E(static_cast<size_t>(n * N));
  for (int64_t i = 0; i < N * K; ++i) D[i] = W[i] - Wq[i];
  gemm_f32(Trans::N, Trans::T, n, N, K, 1.0f, X, K, W, K, 0.0f, Y.data(), N);
  gemm_f32(Trans::N, Trans::T, n, N, K, 1.0f, X, K, D.data(), K, 0.0f, E.data(), N);
  double e = 0, y = 0;
  for (int64_t i = 0; i < n * N; ++i) { e += double(E[i]) * E[i]; y += double(Y[i]) * Y[i]; }
  return y > 0 ? e / y : e;
}

QuantizedMatrix gptq_quantize(const float* W, int64_t N, int64_t K, const double* H_in, const QuantSpec& spec,
                              const GptqOptions& opt) {
  const Grid grid(spec);
  const int64_t G = grid.group;
  if (K % G != 0) fail("gptq: K={} is not a multiple of the group size {}", K, G);
  if (opt.block <= 0) fail("gptq: block={} must be positive", opt.block);

  // Processing order: identity, or descending diag(H) (stable, so ties keep K order: deterministic).
  std::vector<int32_t> perm(static_cast<size_t>(K));
  std::iota(perm.begin(), perm.end(), 0);
  if (opt.act_order)
    std::stable_sort(perm.begin(), perm.end(), [&](int32_t a, int32_t b) { return H_in[a * K + a] > H_in[b * K + b]; });
  std::vector<int64_t> pos(static_cast<size_t>(K));  // pos[original column] = processing position
  for (int64_t p = 0; p < K; ++p) pos[perm[p]] = p;

  // H in processing order; dead inputs get H_kk = 1 and zero weight.
  std::vector<double> H(static_cast<size_t>(K * K));
  std::vector<char> dead(static_cast<size_t>(K), 0);
  double mean_diag = 0;
  for (int64_t a = 0; a < K; ++a) {
    for (int64_t b = 0; b < K; ++b) H[a * K + b] = H_in[int64_t(perm[a]) * K + perm[b]];
    if (H[a * K + a] == 0) { dead[a] = 1; H[a * K + a] = 1; }
    mean_diag += H[a * K + a];
  }
  mean_diag /= static_cast<double>(K);
  const double damp = opt.percdamp * mean_diag;
  for (int64_t a = 0; a < K; ++a) H[a * K + a] += damp;

  // U: upper Cholesky factor of H⁻¹ (H⁻¹ = Uᵀ U), as GPTQ's reference computes it (there: cholesky,
  // cholesky_inverse, cholesky upper). Cheaper, same factor: with J the reversal, J H J = Lr Lrᵀ gives
  // H = Ũ Ũᵀ, Ũ = J Lr J upper, so H⁻¹ = (Ũ⁻¹)ᵀ Ũ⁻¹ and U = Ũ⁻¹ = J Lr⁻¹ J (positive diagonal, so unique).
  std::vector<double> Hr(static_cast<size_t>(K * K));
  for (int64_t a = 0; a < K; ++a)
    for (int64_t b = 0; b < K; ++b) Hr[a * K + b] = H[(K - 1 - a) * K + (K - 1 - b)];
  H.clear(); H.shrink_to_fit();
  cholesky_lower(Hr, K, "damped H");
  const std::vector<double> M = lower_inverse(Hr, K);
  Hr.clear(); Hr.shrink_to_fit();
  std::vector<float> U(static_cast<size_t>(K * K), 0.0f);  // U[i][j] = M[K−1−i][K−1−j] for j >= i
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = i; j < K; ++j) U[i * K + j] = static_cast<float>(M[(K - 1 - i) * K + (K - 1 - j)]);

  // Wt (K, N): column p (processing order) of W is row p, so each column is contiguous.
  std::vector<float> Wt(static_cast<size_t>(K * N));
  for (int64_t p = 0; p < K; ++p)
    for (int64_t n = 0; n < N; ++n) Wt[p * N + n] = dead[p] ? 0.0f : W[n * K + perm[p]];

  const int64_t ng = K / G;
  std::vector<GroupParams> gp(static_cast<size_t>(N * ng));  // (N, ng)
  std::vector<char> have(static_cast<size_t>(ng), 0);
  std::vector<int> codes(static_cast<size_t>(N * K));  // (N, K) original order
  QuantizedMatrix out;
  out.spec = spec; out.kind = grid.kind; out.N = N; out.K = K;
  out.values.resize(static_cast<size_t>(N * K));
  if (opt.act_order) out.perm = perm;

  const int64_t B = opt.block;
  std::vector<float> Err(static_cast<size_t>(B * N));  // (B, N) scaled errors of the block's columns
  std::vector<float> gvals(static_cast<size_t>(G * N));  // (G, N) current values of one group

  for (int64_t i1 = 0; i1 < K; i1 += B) {
    const int64_t i2 = std::min(K, i1 + B);
    for (int64_t p = i1; p < i2; ++p) {
      const int64_t col = perm[p], g = col / G;
      if (!have[g]) {
        // Current values of the group's columns: in-block columns are up to date; later blocks still lack
        // this block's deferred update − Σ_{i1<=r<p} U[r][c] Err[r].
        for (int64_t j = 0; j < G; ++j) {
          const int64_t c = pos[g * G + j];
          float* dst = gvals.data() + j * N;
          std::copy(Wt.begin() + c * N, Wt.begin() + (c + 1) * N, dst);
          if (c >= i2)
            for (int64_t r = i1; r < p; ++r) {
              const float u = U[r * K + c];
              const float* er = Err.data() + (r - i1) * N;
              for (int64_t n = 0; n < N; ++n) dst[n] -= u * er[n];
            }
        }
        par_for(N, 64, double(N) * G * 4, [&](int64_t b, int64_t e) {
          for (int64_t n = b; n < e; ++n) gp[n * ng + g] = grid.params(gvals.data() + n, G, N);
        });
        have[g] = 1;
      }
      float* w = Wt.data() + p * N;
      const float d = U[p * K + p];
      float* er = Err.data() + (p - i1) * N;
      for (int64_t n = 0; n < N; ++n) {
        const GroupParams& pr = gp[n * ng + g];
        const int q = grid.code(pr, w[n]);
        const float v = grid.value(pr, q);
        codes[n * K + col] = q;
        out.values[n * K + col] = v;
        er[n] = (w[n] - v) / d;
      }
      // In-block feedback: columns p+1 .. i2-1.
      par_for(i2 - p - 1, 8, double(i2 - p - 1) * N * 2, [&](int64_t b, int64_t e) {
        for (int64_t j = p + 1 + b; j < p + 1 + e; ++j) {
          const float u = U[p * K + j];
          float* wj = Wt.data() + j * N;
          for (int64_t n = 0; n < N; ++n) wj[n] -= u * er[n];
        }
      });
    }
    // Deferred feedback to the later columns: Wt[i2:] −= U[i1:i2, i2:]ᵀ · Err  ((K−i2, N) −= (K−i2, B)(B, N)).
    if (i2 < K)
      gemm_f32(Trans::T, Trans::N, K - i2, N, i2 - i1, -1.0f, U.data() + i1 * K + i2, K, Err.data(), N, 1.0f,
               Wt.data() + i2 * N, N);
  }

  const int64_t rb = grid.row_bytes(K);
  out.data.resize(static_cast<size_t>(N * rb));
  parallel_for(N, 16, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) grid.pack_row(out.data.data() + n * rb, codes.data() + n * K, gp.data() + n * ng, K);
  });
  return out;
}

}  // namespace edgellm::quant
