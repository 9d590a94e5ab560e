// f32 GEMM, BLAS-like and row-major, with f16/bf16 weights: packing, cache blocking and threads
// around the kernel table's micro-kernel. Not a full BLAS: row-major only, no complex, no batching.
//
// C (M, N; row stride ldc) = alpha * op(A) · op(B) + beta * C, where
//   op(A) (M, K) is A (M, K; lda) for Trans::N, or Aᵀ with A (K, M; lda) for Trans::T;
//   op(B) (K, N) is B (K, N; ldb) for Trans::N, or Bᵀ with B (N, K; ldb) for Trans::T.
// The LLM layer y (T, out) = x (T, in) · W (out, in)ᵀ, W row-major as in PyTorch and GGUF, is
// gemm_f32(Trans::N, Trans::T, T, out, in, 1, x, in, W, in, 0, y, out). beta == 0 never reads C
// (NaNs in C are overwritten); beta == 1 accumulates, as backward passes need.
// M == 1 takes a memory-bound GEMV path that streams B once over all threads.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"
#include "runtime/dtype.h"

namespace edgellm {

enum class Trans : uint8_t { N, T };

// Uses the active kernel table and num_threads() threads (runtime/parallel.h).
void gemm_f32(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Same with an explicit table: tests and benchmarks run every ISA through this.
void gemm_f32(const KernelTable& kt, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// B holds f16 or bf16 (wtype = DType::F16 or DType::BF16) and is widened to f32 while packing
// (or, for M == 1, on the fly in the GEMV); products accumulate in f32. Throws Error on other types.
void gemm_f32_w16(DType wtype, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc);
void gemm_f32_w16(const KernelTable& kt, DType wtype, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K,
                  float alpha, const float* A, int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C,
                  int64_t ldc);

namespace detail {
// Thread split for M > 1: false (default) gives each thread an independent block of C; true makes
// threads share one packed A block behind barriers (faster on an idle machine, fragile on a busy
// one). Also set by EDGELLM_GEMM_SHARED_A=1. For tests and benchmarks.
void gemm_set_shared_a(bool on);
}  // namespace detail

}  // namespace edgellm
