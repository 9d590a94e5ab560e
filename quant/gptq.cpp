// GPTQ: damped Hessian, upper Cholesky factor of H⁻¹, lazy-block column quantization with error feedback.
// Not parallel in the column loop (inherently sequential); the O(K³) factorizations and the block updates are.
#include "quant/gptq.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/gemm.h"
#include "quant/gptq_factor.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm::quant {

namespace {

// parallel_for only when the region carries enough work (~work flops) to pay for a fork/join: GPTQ's
// column loop would otherwise fork thousands of times, which costs more than it saves on a busy machine.
constexpr int64_t kTile = 64;  // transpose tile (rows and columns)

template <class F>
void par_for(int64_t n, int64_t grain, double work, F&& fn) {
  if (work < 4e6) fn(int64_t{0}, n);
  else parallel_for(n, grain, fn);
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

  // Dead inputs get H_kk = 1 and zero weight; damping adds percdamp · mean(diag H) to the diagonal.
  std::vector<char> dead(static_cast<size_t>(K), 0);
  double mean_diag = 0;
  for (int64_t a = 0; a < K; ++a) {
    const double h = H_in[int64_t(perm[a]) * K + perm[a]];
    if (h == 0) dead[a] = 1;
    mean_diag += h == 0 ? 1.0 : h;
  }
  mean_diag /= static_cast<double>(K);
  const double damp = opt.percdamp * mean_diag;
  auto h_at = [&](int64_t a, int64_t b) {  // damped H in processing order
    if (a != b) return H_in[int64_t(perm[a]) * K + perm[b]];
    return (dead[a] ? 1.0 : H_in[int64_t(perm[a]) * K + perm[a]]) + damp;
  };

  // U: upper Cholesky factor of H⁻¹ (H⁻¹ = Uᵀ U), as GPTQ's reference computes it (there: cholesky,
  // cholesky_inverse, cholesky upper). Cheaper, same factor: with J the reversal, J H J = Lr Lrᵀ gives
  // H = Ũ Ũᵀ, Ũ = J Lr J upper, so H⁻¹ = (Ũ⁻¹)ᵀ Ũ⁻¹ and U = Ũ⁻¹ = J Lr⁻¹ J (positive diagonal, so unique).
  // (J X J)[i][j] = X[K−1−i][K−1−j] is X's flat (K·K) array reversed.
  std::vector<float> U(static_cast<size_t>(K * K));  // (K, K) upper; first Lr⁻¹
  if (opt.f64_factor) {  // the all-double reference path
    std::vector<double> Hr(static_cast<size_t>(K * K));
    for (int64_t a = 0; a < K; ++a)
      for (int64_t b = 0; b < K; ++b) Hr[(K - 1 - a) * K + (K - 1 - b)] = h_at(a, b);
    cholesky_lower_f64(Hr, K, "damped H");
    const std::vector<double> M = lower_inverse_f64(Hr, K);
    for (int64_t i = 0; i < K * K; ++i) U[i] = static_cast<float>(M[i]);
  } else {
    std::vector<float> Hr(static_cast<size_t>(K * K));  // (K, K) J H J, then its lower Cholesky factor Lr
    for (int64_t a = 0; a < K; ++a)
      for (int64_t b = 0; b < K; ++b) Hr[(K - 1 - a) * K + (K - 1 - b)] = static_cast<float>(h_at(a, b));
    cholesky_lower_f32(Hr.data(), K, "damped H");
    lower_inverse_f32(Hr.data(), U.data(), K);
  }
  std::reverse(U.begin(), U.end());  // U = J Lr⁻¹ J

  // Wt (K, N): column p (processing order) of W is row p, so each column is contiguous.
  std::vector<float> Wt(static_cast<size_t>(K * N));
  // Tiled (kTile x kTile) so that neither side is walked at stride K or N alone.
  parallel_for((N + kTile - 1) / kTile, 1, [&](int64_t b, int64_t e) {
    for (int64_t n0 = b * kTile; n0 < std::min(N, e * kTile); n0 += kTile)
      for (int64_t p0 = 0; p0 < K; p0 += kTile)
        for (int64_t p = p0; p < std::min(K, p0 + kTile); ++p)
          for (int64_t n = n0; n < std::min(N, n0 + kTile); ++n) Wt[p * N + n] = dead[p] ? 0.0f : W[n * K + perm[p]];
  });

  const int64_t ng = K / G;
  std::vector<GroupParams> gp(static_cast<size_t>(N * ng));  // (N, ng)
  std::vector<char> have(static_cast<size_t>(ng), 0);
  // Codes in processing order (K, N); a quantized column's values replace its row of Wt, which nothing reads
  // after that column (feedback goes to later columns only). Both are transposed once at the end: writing
  // (N, K) outputs column by column touched a new cache line per element.
  std::vector<int16_t> codes_t(static_cast<size_t>(K * N));
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
        codes_t[p * N + n] = static_cast<int16_t>(q);
        er[n] = (w[n] - v) / d;
        w[n] = v;
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
  // Back to (N, K) in original column order, kTile rows at a time, and packed row by row.
  parallel_for((N + kTile - 1) / kTile, 1, [&](int64_t b, int64_t e) {
    std::vector<int> codes(static_cast<size_t>(kTile * K));  // (kTile, K)
    for (int64_t n0 = b * kTile; n0 < std::min(N, e * kTile); n0 += kTile) {
      const int64_t n1 = std::min(N, n0 + kTile);
      for (int64_t p0 = 0; p0 < K; p0 += kTile)
        for (int64_t p = p0; p < std::min(K, p0 + kTile); ++p)
          for (int64_t n = n0; n < n1; ++n) {
            codes[(n - n0) * K + perm[p]] = codes_t[p * N + n];
            out.values[n * K + perm[p]] = Wt[p * N + n];
          }
      for (int64_t n = n0; n < n1; ++n)
        grid.pack_row(out.data.data() + n * rb, codes.data() + (n - n0) * K, gp.data() + n * ng, K);
    }
  });
  return out;
}

}  // namespace edgellm::quant
