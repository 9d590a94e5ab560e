// GPTQ's factorizations: blocked lower Cholesky and lower-triangular inverse in f32 with the GEMM doing the
// bulk, and their all-double references. Not parallel itself outside the GEMM: the diagonal blocks are small.
#include "quant/gptq_factor.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/gemm.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm::quant {

namespace {

// ---- small dense blocks in double -----------------------------------------------------------------------

// In place: D (n, n; stride n) -> lower Cholesky factor, strict upper zeroed. j0 is D's offset in the whole
// matrix, so that the error names the global pivot.
void chol_block(double* D, int64_t n, int64_t j0, const char* what) {
  for (int64_t j = 0; j < n; ++j) {
    double* Dj = D + j * n;
    double d = Dj[j];
    for (int64_t k = 0; k < j; ++k) d -= Dj[k] * Dj[k];
    if (!(d > 0)) fail("gptq: {} is not positive definite (pivot {} = {})", what, j0 + j, d);
    Dj[j] = std::sqrt(d);
    for (int64_t i = j + 1; i < n; ++i) {
      double* Di = D + i * n;
      double s = Di[j];
      for (int64_t k = 0; k < j; ++k) s -= Di[k] * Dj[k];
      Di[j] = s / Dj[j];
    }
    for (int64_t k = j + 1; k < n; ++k) Dj[k] = 0.0;
  }
}

// Di (n, n) = D⁻¹ for D (n, n) lower with positive diagonal; Di lower, strict upper zero.
// Row i of Di by forward substitution on rows: Di[i] = (e_i − Σ_{k<i} D[i][k] Di[k]) / D[i][i], where row k of
// Di is zero beyond column k (contiguous axpys rather than column walks at stride n).
void inv_block(const double* D, double* Di, int64_t n) {
  std::fill(Di, Di + n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double* r = Di + i * n;
    r[i] = 1.0;
    for (int64_t k = 0; k < i; ++k) {
      const double l = D[i * n + k];
      const double* rk = Di + k * n;
      for (int64_t c = 0; c <= k; ++c) r[c] -= l * rk[c];
    }
    const double inv = 1.0 / D[i * n + i];
    for (int64_t c = 0; c <= i; ++c) r[c] *= inv;
  }
}

}  // namespace

// ---- blocked f32 ------------------------------------------------------------------------------------------
//
// Right-looking Cholesky by panels of nb columns [j0, j1):
//   L11 = chol(A11)                 (double, nb³/3)
//   L21 = A21 · L11⁻ᵀ               (GEMM (R, nb) · (nb, nb), with L11⁻¹ in double)
//   A22 −= L21 · L21ᵀ               (GEMM, lower triangle by row blocks of kRows: rows [a, b) × cols [j1, b))
// The row blocks' diagonal squares also write some strict-upper entries of A22; those are never read.
void cholesky_lower_f32(float* A, int64_t K, const char* what) {
  constexpr int64_t nb = kFactorBlock, kRows = 2048;
  std::vector<double> D(nb * nb), Di(nb * nb);
  std::vector<float> Dif(nb * nb), panel;  // Dif (jb, jb) = L11⁻¹ in f32; panel (R, jb) = A21
  for (int64_t j0 = 0; j0 < K; j0 += nb) {
    const int64_t jb = std::min(nb, K - j0), j1 = j0 + jb, R = K - j1;
    for (int64_t i = 0; i < jb; ++i)
      for (int64_t k = 0; k <= i; ++k) D[i * jb + k] = A[(j0 + i) * K + j0 + k];
    chol_block(D.data(), jb, j0, what);
    for (int64_t i = 0; i < jb; ++i)
      for (int64_t k = 0; k < jb; ++k) A[(j0 + i) * K + j0 + k] = static_cast<float>(D[i * jb + k]);
    if (R == 0) break;
    inv_block(D.data(), Di.data(), jb);
    for (int64_t i = 0; i < jb * jb; ++i) Dif[i] = static_cast<float>(Di[i]);
    panel.resize(static_cast<size_t>(R * jb));
    for (int64_t i = 0; i < R; ++i)
      std::copy(A + (j1 + i) * K + j0, A + (j1 + i) * K + j1, panel.data() + i * jb);
    gemm_f32(Trans::N, Trans::T, R, jb, jb, 1.0f, panel.data(), jb, Dif.data(), jb, 0.0f, A + j1 * K + j0, K);
    for (int64_t a = j1; a < K; a += kRows) {
      const int64_t b = std::min(K, a + kRows);
      gemm_f32(Trans::N, Trans::T, b - a, b - j1, jb, -1.0f, A + a * K + j0, K, A + j1 * K + j0, K, 1.0f,
               A + a * K + j1, K);
    }
  }
}

// Right-looking block forward substitution for L M = I, by block rows [r0, r1) of nb rows. M[r0:r1, 0:r0]
// holds the right-hand side I − Σ_{k<r0} L[r0:r1, k] M[k, 0:r0] when block row r0 is reached, so
//   M[r0:r1, 0:r0]  = L11⁻¹ · M[r0:r1, 0:r0]      (GEMM (nb, nb) · (nb, r0))
//   M[r0:r1, r0:r1] = L11⁻¹                        (double)
//   M[r1:, 0:r1]   −= L[r1:, r0:r1] · M[r0:r1, 0:r1]  (GEMM (K−r1, nb) · (nb, r1): the K³/3 bulk)
void lower_inverse_f32(const float* L, float* M, int64_t K) {
  constexpr int64_t nb = kFactorBlock;
  std::fill(M, M + K * K, 0.0f);
  std::vector<double> D(nb * nb), Di(nb * nb);
  std::vector<float> Dif(nb * nb), rhs;  // rhs (jb, r0)
  for (int64_t r0 = 0; r0 < K; r0 += nb) {
    const int64_t jb = std::min(nb, K - r0), r1 = r0 + jb;
    for (int64_t i = 0; i < jb; ++i)
      for (int64_t k = 0; k < jb; ++k) D[i * jb + k] = k <= i ? L[(r0 + i) * K + r0 + k] : 0.0;
    inv_block(D.data(), Di.data(), jb);
    for (int64_t i = 0; i < jb * jb; ++i) Dif[i] = static_cast<float>(Di[i]);
    if (r0 > 0) {
      rhs.resize(static_cast<size_t>(jb * r0));
      for (int64_t i = 0; i < jb; ++i) std::copy(M + (r0 + i) * K, M + (r0 + i) * K + r0, rhs.data() + i * r0);
      gemm_f32(Trans::N, Trans::N, jb, r0, jb, 1.0f, Dif.data(), jb, rhs.data(), r0, 0.0f, M + r0 * K, K);
    }
    for (int64_t i = 0; i < jb; ++i) std::copy(Dif.data() + i * jb, Dif.data() + (i + 1) * jb, M + (r0 + i) * K + r0);
    if (r1 < K)
      gemm_f32(Trans::N, Trans::N, K - r1, r1, jb, -1.0f, L + r1 * K + r0, K, M + r0 * K, K, 1.0f, M + r1 * K, K);
  }
}

// ---- double references (the previous implementation) -----------------------------------------------------

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

void cholesky_lower_f64(std::vector<double>& A, int64_t K, const char* what) { cholesky_lower(A, K, what); }
std::vector<double> lower_inverse_f64(const std::vector<double>& L, int64_t K) { return lower_inverse(L, K); }

}  // namespace edgellm::quant
