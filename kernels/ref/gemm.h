// Scalar references of the GEMM family: the naive triple loop (the truth tests compare against,
// accumulating in double), the portable micro-kernel and the row GEMV. Not fast, by design.
#pragma once

#include <cstdint>

#include "kernels/gemm.h"
#include "runtime/dtype.h"

namespace edgellm::ref {

// C (M, N; ldc) = alpha * op(A) · op(B) + beta * C with the conventions of kernels/gemm.h.
// Each dot product is summed in double; beta == 0 never reads C. B's element type may be float
// or a widened weight (see gemm_naive_w16).
template <class T, class Tag = void>
void gemm_naive(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
                int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) {
        const T a = ta == Trans::N ? A[i * lda + k] : A[k * lda + i];
        const T b = tb == Trans::N ? B[k * ldb + j] : B[j * ldb + k];
        s += static_cast<double>(a) * static_cast<double>(b);
      }
      T& c = C[i * ldc + j];
      c = static_cast<T>(static_cast<double>(alpha) * s + (beta == T(0) ? 0.0 : static_cast<double>(beta) * c));
    }
}

// Portable micro-kernel with an MR x NR tile, the scalar table's sgemm_ukernel (see kernel_table.h).
template <int MR, int NR, class Tag = void>
void sgemm_ukernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t m, int64_t n,
                   bool accumulate) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += ap[k * MR + i] * bp[k * NR + j];
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

// The scalar sgemm_pack_bt for an NR-wide micro-panel (see kernel_table.h); also the tail of the SIMD ones.
template <int NR, class Tag = void>
void sgemm_pack_bt(float* dst, const float* w, int64_t ldw, int64_t kc, int64_t nr) {
  for (int64_t j = 0; j < nr; ++j)
    for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = w[j * ldw + k];
  for (int64_t j = nr; j < NR; ++j)
    for (int64_t k = 0; k < kc; ++k) dst[k * NR + j] = 0.0f;
}

// The scalar sgemm_pack_an for an MR-row micro-panel of A (M, K) row-major: dst[k*MR + i] =
// alpha * a[i*lda + k] for the mr <= MR rows, rows mr..MR zeroed.
template <int MR, class Tag = void>
void sgemm_pack_an(float* dst, const float* a, int64_t lda, int64_t kc, int64_t mr, float alpha) {
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = alpha * a[i * lda + k];
  for (int64_t i = mr; i < MR; ++i)
    for (int64_t k = 0; k < kc; ++k) dst[k * MR + i] = 0.0f;
}

// How a weight element of type W becomes a float (f32 as is, f16 and bf16 widened).
struct WidenF32 {
  static float get(float w) { return w; }
};
struct WidenF16 {
  static float get(uint16_t w) { return f16_to_f32(w); }
};
struct WidenBF16 {
  static float get(uint16_t w) { return bf16_to_f32(w); }
};

// y (N) = alpha * W (N, K; ldw) · x (K) + beta * y, summed in float in k order.
template <class Wt, class Widen, class Tag = void>
void sgemv_rows(float* y, const float* x, const Wt* w, int64_t N, int64_t K, int64_t ldw, float alpha, float beta) {
  for (int64_t n = 0; n < N; ++n) {
    float s = 0;
    for (int64_t k = 0; k < K; ++k) s += x[k] * Widen::get(w[n * ldw + k]);
    y[n] = alpha * s + (beta == 0.0f ? 0.0f : beta * y[n]);
  }
}

}  // namespace edgellm::ref
