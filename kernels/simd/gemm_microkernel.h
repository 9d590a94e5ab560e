// xsimd bodies of the GEMM family, templated on the architecture: the register-tiled sgemm
// micro-kernel (MR rows x NV vectors) and the row GEMV. Instantiated only from kernels/arch/<isa>/gemm.cpp.
// Not here: packing, blocking and threads (kernels/gemm.cpp); f16/bf16 loads (the arch files pass them in).
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <xsimd/xsimd.hpp>

#include "kernels/kernel_table.h"
#include "kernels/ref/gemm.h"

namespace edgellm::simd {

// C tile (m <= MR, n <= NR) = or += A micro-panel (kc, MR) · B micro-panel (kc, NR), both packed k-major.
// Each k step loads NV vectors of B, broadcasts MR scalars of A and issues MR*NV FMAs into
// MR*NV accumulators that stay in registers (14x2 zmm on AVX-512, 6x2 ymm on AVX2, 8x3 on NEON).
// Short tiles (m < MR, the bottom edge) run a tile<m> instance, so no FMA is spent on padding rows.
template <class A, int MR, int NV>
struct SgemmMicro {
  using B = xsimd::batch<float, A>;
  static constexpr int W = static_cast<int>(B::size);
  static constexpr int NR = NV * W;

  template <int M>
  static void tile(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* c, int64_t ldc,
                   int64_t n, bool accumulate) {
    // C comes back from L2/L3 after kc steps; start fetching it now (GCC/Clang builtin, any ISA).
    for (int i = 0; i < M; ++i) {
      __builtin_prefetch(c + i * ldc, 1);
      __builtin_prefetch(c + i * ldc + NR - 1, 1);
    }
    B acc[M][NV];
#pragma GCC unroll 32
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[i][j] = B(0.0f);
    for (int64_t k = 0; k < kc; ++k) {
      B b[NV];
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) b[j] = B::load_unaligned(bp + j * W);
#pragma GCC unroll 32
      for (int i = 0; i < M; ++i) {
        const B a(ap[i]);
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[i][j] = xsimd::fma(a, b[j], acc[i][j]);
      }
      ap += MR;
      bp += NR;
    }
    if (n == NR) {
#pragma GCC unroll 32
      for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) {
          float* p = c + i * ldc + j * W;
          B v = acc[i][j];
          if (accumulate) v += B::load_unaligned(p);
          v.store_unaligned(p);
        }
      return;
    }
    alignas(64) float tmp[M * NR];  // right edge: spill the tile, copy the n valid columns
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < NV; ++j) acc[i][j].store_aligned(tmp + i * NR + j * W);
    for (int i = 0; i < M; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + tmp[i * NR + j] : tmp[i * NR + j];
  }

  using TileFn = void (*)(int64_t, const float*, const float*, float*, int64_t, int64_t, bool);
  template <int... I>
  static constexpr std::array<TileFn, MR> tiles(std::integer_sequence<int, I...>) {
    return {&tile<I + 1>...};
  }

  // The kernel table's sgemm_ukernel.
  static void run(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t m, int64_t n,
                  bool accumulate) {
    static constexpr std::array<TileFn, MR> kTiles = tiles(std::make_integer_sequence<int, MR>{});
    kTiles[m - 1](kc, ap, bp, c, ldc, n, accumulate);
  }
};

// Loads W vectors of f32 weights as they are; f16/bf16 loaders with the same shape live in the arch files.
template <class A>
struct LoadF32 {
  using Wt = float;
  static xsimd::batch<float, A> load(const float* p) { return xsimd::batch<float, A>::load_unaligned(p); }
  static float scalar(float w) { return w; }
};

// y (N) = alpha * W (N, K; ldw) · x (K) + beta * y: four rows at a time share each load of x,
// two accumulators per row hide FMA latency. Memory-bound: W is streamed exactly once.
template <class A, class Load>
struct SgemvRows {
  using B = xsimd::batch<float, A>;
  using Wt = typename Load::Wt;
  static constexpr int64_t W = static_cast<int64_t>(B::size);

  static float finish(float s, float* y, float alpha, float beta) { return alpha * s + (beta == 0.0f ? 0.0f : beta * *y); }

  static void run(float* y, const float* x, const Wt* w, int64_t N, int64_t K, int64_t ldw, float alpha, float beta) {
    int64_t n = 0;
    for (; n + 4 <= N; n += 4) {
      const Wt* r[4] = {w + n * ldw, w + (n + 1) * ldw, w + (n + 2) * ldw, w + (n + 3) * ldw};
      B s0[4] = {B(0.0f), B(0.0f), B(0.0f), B(0.0f)}, s1[4] = {B(0.0f), B(0.0f), B(0.0f), B(0.0f)};
      int64_t k = 0;
      for (; k + 2 * W <= K; k += 2 * W) {
        const B x0 = B::load_unaligned(x + k), x1 = B::load_unaligned(x + k + W);
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) {
          s0[q] = xsimd::fma(x0, Load::load(r[q] + k), s0[q]);
          s1[q] = xsimd::fma(x1, Load::load(r[q] + k + W), s1[q]);
        }
      }
      for (; k + W <= K; k += W) {
        const B x0 = B::load_unaligned(x + k);
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) s0[q] = xsimd::fma(x0, Load::load(r[q] + k), s0[q]);
      }
      for (int q = 0; q < 4; ++q) {
        float s = xsimd::hadd(s0[q] + s1[q]);
        for (int64_t kk = k; kk < K; ++kk) s += x[kk] * Load::scalar(r[q][kk]);
        y[n + q] = finish(s, y + n + q, alpha, beta);
      }
    }
    for (; n < N; ++n) {
      const Wt* r = w + n * ldw;
      B s0(0.0f);
      int64_t k = 0;
      for (; k + W <= K; k += W) s0 = xsimd::fma(B::load_unaligned(x + k), Load::load(r + k), s0);
      float s = xsimd::hadd(s0);
      for (; k < K; ++k) s += x[k] * Load::scalar(r[k]);
      y[n] = finish(s, y + n, alpha, beta);
    }
  }
};

// Sets the GEMM family of table `t` from one architecture's micro-kernel and loaders.
// pack_bt / pack_an are the arch's packers for NR = NV * W columns and MR rows.
template <class A, int MR, int NV, class LoadF16, class LoadBF16>
void fill_gemm(KernelTable& t, const char* isa, sgemm_pack_bt_fn* pack_bt, sgemm_pack_an_fn* pack_an, int64_t kc,
               int64_t mc, int64_t nc) {
  using U = SgemmMicro<A, MR, NV>;
  EDGELLM_SET_KERNEL(t, sgemm_ukernel, U::run, isa);
  EDGELLM_SET_KERNEL(t, sgemm_pack_bt, pack_bt, isa);
  EDGELLM_SET_KERNEL(t, sgemm_pack_an, pack_an, isa);
  EDGELLM_SET_KERNEL(t, sgemv_rows, (SgemvRows<A, LoadF32<A>>::run), isa);
  EDGELLM_SET_KERNEL(t, sgemv_rows_f16, (SgemvRows<A, LoadF16>::run), isa);
  EDGELLM_SET_KERNEL(t, sgemv_rows_bf16, (SgemvRows<A, LoadBF16>::run), isa);
  t.sgemm_block = GemmBlocking{MR, U::NR, kc, mc, nc};
}

}  // namespace edgellm::simd
