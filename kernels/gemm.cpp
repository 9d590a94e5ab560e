// The GEMM driver (GotoBLAS/BLIS loops): split C over threads, pack B panels (kc, nc) and A blocks
// (mc, kc), call the table's micro-kernel per (MR, NR) tile; M == 1 goes to the row GEMV instead.
// Not here: anything ISA-specific (kernels/simd/gemm_microkernel.h, kernels/arch/<isa>/gemm.cpp).
#include "kernels/gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/profile.h"

namespace edgellm {
namespace {

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Growable 64-byte-aligned scratch, one set per thread (OpenMP threads persist between calls).
struct Scratch {
  float* p = nullptr;
  int64_t cap = 0;
  float* get(int64_t n) {
    if (n > cap) {
      std::free(p);
      p = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(round_up(n * 4, 64))));
      if (!p) fail("gemm: cannot allocate {} bytes of packing buffer", n * 4);
      cap = n;
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};
thread_local Scratch tl_apack, tl_bpack, tl_widen, tl_x;

// op(B)'s storage: f32, or 16-bit weights widened while packing.
struct BSrc {
  const void* p;
  int64_t ld;
  Trans t;
  DType dt;  // F32, F16 or BF16
};

// Converter from the table for 16-bit weights: n elements.
using WidenFn = void(float*, const uint16_t*, int64_t);
WidenFn* widen_fn(const KernelTable& kt, DType dt) { return dt == DType::F16 ? kt.f16_to_f32 : kt.bf16_to_f32; }

// Packs op(A)[i0 : i0+mcl, p0 : p0+kcl] * alpha into micro-panels (kcl, MR), k-major, rows past
// the edge zeroed. ap (ceil(mcl / MR) * MR * kcl).
void pack_a(const KernelTable& kt, float* ap, const float* A, int64_t lda, Trans ta, int64_t i0, int64_t mcl,
            int64_t p0, int64_t kcl, float alpha, int MR) {
  for (int64_t ir = 0; ir < mcl; ir += MR) {
    const int64_t mr = std::min<int64_t>(MR, mcl - ir);
    float* dst = ap + ir * kcl;
    if (ta == Trans::N) {  // a transpose: the table's sgemm_pack_an
      kt.sgemm_pack_an(dst, A + (i0 + ir) * lda + p0, lda, kcl, mr, alpha);
    } else if (mr == MR && alpha == 1.0f) {
      // Aᵀ (the dW = dyᵀ·x case): each k is MR contiguous floats, a plain copy. The general loop
      // below (a runtime-length scaled copy plus padding) was ~6% of a small model's training step.
      for (int64_t k = 0; k < kcl; ++k)
        std::memcpy(dst + k * MR, A + (p0 + k) * lda + i0 + ir, static_cast<size_t>(MR) * sizeof(float));
    } else {
      for (int64_t k = 0; k < kcl; ++k) {
        const float* src = A + (p0 + k) * lda + i0 + ir;
        for (int64_t i = 0; i < mr; ++i) dst[k * MR + i] = alpha * src[i];
        for (int64_t i = mr; i < MR; ++i) dst[k * MR + i] = 0.0f;
      }
    }
  }
}

// Packs one micro-panel: f32 op(B)[p0 : p0+kcl, j0 : j0+nr] into dst (kcl, NR), pad columns zeroed.
// Bᵀ (the x·Wᵀ case) is a transpose, done by the table's sgemm_pack_bt.
void pack_b_panel_f32(const KernelTable& kt, float* dst, const float* B, int64_t ldb, Trans tb, int64_t p0,
                      int64_t kcl, int64_t j0, int64_t nr, int NR) {
  if (tb == Trans::T) {
    kt.sgemm_pack_bt(dst, B + j0 * ldb + p0, ldb, kcl, nr);
    return;
  }
  for (int64_t k = 0; k < kcl; ++k) {
    const float* src = B + (p0 + k) * ldb + j0;
    float* d = dst + k * NR;
    std::memcpy(d, src, static_cast<size_t>(nr) * 4);
    for (int64_t j = nr; j < NR; ++j) d[j] = 0.0f;
  }
}

// Packs op(B)[p0 : p0+kcl, j0 : j0+ncl] into micro-panels (kcl, NR); bp (ceil(ncl / NR) * NR * kcl).
// 16-bit weights are first widened into a small f32 copy of the micro-panel's source (L1-sized).
void pack_b(const KernelTable& kt, float* bp, const BSrc& b, int64_t p0, int64_t kcl, int64_t j0, int64_t ncl,
            int NR) {
  for (int64_t jr = 0; jr < ncl; jr += NR) {
    const int64_t nr = std::min<int64_t>(NR, ncl - jr);
    float* dst = bp + jr * kcl;
    if (b.dt == DType::F32) {
      pack_b_panel_f32(kt, dst, static_cast<const float*>(b.p), b.ld, b.t, p0, kcl, j0 + jr, nr, NR);
      continue;
    }
    WidenFn* widen = widen_fn(kt, b.dt);
    const auto* src = static_cast<const uint16_t*>(b.p);
    float* tmp = tl_widen.get(kcl * NR);
    if (b.t == Trans::T) {  // nr rows of W, kcl contiguous each
      for (int64_t j = 0; j < nr; ++j) widen(tmp + j * kcl, src + (j0 + jr + j) * b.ld + p0, kcl);
      pack_b_panel_f32(kt, dst, tmp, kcl, Trans::T, 0, kcl, 0, nr, NR);
    } else {  // kcl rows of B, nr contiguous each
      for (int64_t k = 0; k < kcl; ++k) widen(tmp + k * nr, src + (p0 + k) * b.ld + j0 + jr, nr);
      pack_b_panel_f32(kt, dst, tmp, nr, Trans::N, 0, kcl, 0, nr, NR);
    }
  }
}

struct GemmArgs {
  Trans ta;
  const float* A;
  int64_t lda;
  BSrc b;
  int64_t K;
  float alpha, beta;
  float* C;
  int64_t ldc;
};

// C = beta * C on rows [i0, i1), columns [j0, j1); beta == 0 writes zeros without reading.
void scale_c(float* C, int64_t ldc, int64_t i0, int64_t i1, int64_t j0, int64_t j1, float beta) {
  if (beta == 1.0f) return;
  for (int64_t i = i0; i < i1; ++i) {
    float* c = C + i * ldc;
    for (int64_t j = j0; j < j1; ++j) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
  }
}

// EDGELLM_GEMM_SHARED_A=1 (or detail::gemm_set_shared_a) selects the shared-A thread split.
std::atomic<int>& shared_a_flag() {
  static std::atomic<int> f{[] {
    const char* e = std::getenv("EDGELLM_GEMM_SHARED_A");
    return e && *e == '1' ? 1 : 0;
  }()};
  return f;
}
bool shared_a_mode() { return shared_a_flag().load(std::memory_order_relaxed) != 0; }

// EDGELLM_GEMM_BLOCKING="kc,mc,nc" overrides the table's cache blocking (for tuning runs only).
GemmBlocking blocking(const KernelTable& kt) {
  static const int64_t* over = [] {
    static int64_t v[3] = {0, 0, 0};
    if (const char* e = std::getenv("EDGELLM_GEMM_BLOCKING"); e && *e)
      if (std::sscanf(e, "%ld,%ld,%ld", &v[0], &v[1], &v[2]) != 3 || v[0] < 1 || v[1] < 1 || v[2] < 1)
        fail("EDGELLM_GEMM_BLOCKING='{}': expected three positive integers kc,mc,nc", e);
    return v;
  }();
  GemmBlocking b = kt.sgemm_block;
  if (over[0] > 0) {
    b.kc = over[0];
    b.mc = over[1];
    b.nc = over[2];
  }
  return b;
}

// One thread's block of C, rows [i0, i1) and columns [j0, j1): the five GotoBLAS loops.
void gemm_block(const KernelTable& kt, const GemmArgs& g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const GemmBlocking bl = blocking(kt);
  const int MR = bl.mr, NR = bl.nr;
  const int64_t kc = bl.kc, mc = round_up(bl.mc, MR), nc = round_up(bl.nc, NR);
  if (g.beta != 0.0f) scale_c(g.C, g.ldc, i0, i1, j0, j1, g.beta);
  float* bp = tl_bpack.get(round_up(std::min(nc, j1 - j0), NR) * kc);
  float* ap = tl_apack.get(round_up(std::min(mc, i1 - i0), MR) * kc);
  for (int64_t jc = j0; jc < j1; jc += nc) {
    const int64_t ncl = std::min(nc, j1 - jc);
    for (int64_t pc = 0; pc < g.K; pc += kc) {
      const int64_t kcl = std::min(kc, g.K - pc);
      const bool accumulate = pc > 0 || g.beta != 0.0f;
      if (i1 - i0 <= mc) {
        // One A block (small M, e.g. a batch of tokens): each B micro-panel is used right after it
        // is packed, while it is still in L1, instead of making a round trip through L2.
        pack_a(kt, ap, g.A, g.lda, g.ta, i0, i1 - i0, pc, kcl, g.alpha, MR);
        for (int64_t jr = 0; jr < ncl; jr += NR) {
          const int64_t nr = std::min<int64_t>(NR, ncl - jr);
          pack_b(kt, bp, g.b, pc, kcl, jc + jr, nr, NR);
          for (int64_t ir = 0; ir < i1 - i0; ir += MR)
            kt.sgemm_ukernel(kcl, ap + ir * kcl, bp, g.C + (i0 + ir) * g.ldc + jc + jr, g.ldc,
                             std::min<int64_t>(MR, i1 - i0 - ir), nr, accumulate);
        }
        continue;
      }
      pack_b(kt, bp, g.b, pc, kcl, jc, ncl, NR);
      for (int64_t ic = i0; ic < i1; ic += mc) {
        const int64_t mcl = std::min(mc, i1 - ic);
        pack_a(kt, ap, g.A, g.lda, g.ta, ic, mcl, pc, kcl, g.alpha, MR);
        for (int64_t jr = 0; jr < ncl; jr += NR) {
          const int64_t nr = std::min<int64_t>(NR, ncl - jr);
          for (int64_t ir = 0; ir < mcl; ir += MR) {
            kt.sgemm_ukernel(kcl, ap + ir * kcl, bp + jr * kcl, g.C + (ic + ir) * g.ldc + jc + jr, g.ldc,
                             std::min<int64_t>(MR, mcl - ir), nr, accumulate);
          }
        }
      }
    }
  }
}

// All nt threads of a parallel region together (BLIS's jr-loop split): each thread owns a slice of
// every B panel's micro-panels, packs it into its own buffer (it stays in that core's L2) and
// computes those columns; the A block is packed once, cooperatively, into `ap` shared by all, with a
// barrier either side of its use. Every thread runs the same loop counts so the barriers match.
void gemm_shared_a(const KernelTable& kt, const GemmArgs& g, int64_t M, int64_t N, int tid, int nt, float* ap) {
  const GemmBlocking bl = blocking(kt);
  const int MR = bl.mr, NR = bl.nr;
  const int64_t kc = bl.kc, mc = round_up(bl.mc, MR), ncg = round_up(bl.nc, NR) * nt;
  float* bp = tl_bpack.get(round_up(bl.nc, NR) * kc);
  for (int64_t jc = 0; jc < N; jc += ncg) {
    const int64_t ncl = std::min(ncg, N - jc), nb = (ncl + NR - 1) / NR;
    const int64_t my0 = std::min(ncl, nb * tid / nt * NR), my1 = std::min(ncl, nb * (tid + 1) / nt * NR);
    if (g.beta != 0.0f) scale_c(g.C, g.ldc, 0, M, jc + my0, jc + my1, g.beta);
    for (int64_t pc = 0; pc < g.K; pc += kc) {
      const int64_t kcl = std::min(kc, g.K - pc);
      const bool accumulate = pc > 0 || g.beta != 0.0f;
      if (my0 < my1) pack_b(kt, bp, g.b, pc, kcl, jc + my0, my1 - my0, NR);
      for (int64_t ic = 0; ic < M; ic += mc) {
        const int64_t mcl = std::min(mc, M - ic), mb = (mcl + MR - 1) / MR;
        const int64_t a0 = mb * tid / nt * MR, a1 = std::min(mcl, mb * (tid + 1) / nt * MR);
        if (a0 < a1) pack_a(kt, ap + a0 * kcl, g.A, g.lda, g.ta, ic + a0, a1 - a0, pc, kcl, g.alpha, MR);
        region_barrier();
        for (int64_t jr = my0; jr < my1; jr += NR) {
          const int64_t nr = std::min<int64_t>(NR, my1 - jr);
          for (int64_t ir = 0; ir < mcl; ir += MR)
            kt.sgemm_ukernel(kcl, ap + ir * kcl, bp + (jr - my0) * kcl, g.C + (ic + ir) * g.ldc + jc + jr, g.ldc,
                             std::min<int64_t>(MR, mcl - ir), nr, accumulate);
        }
        region_barrier();
      }
    }
  }
}

// Splits C into tm x tn blocks for nt threads, keeping each block close to square (fewer repacks);
// ties split N, which keeps every thread's share of W (the large operand in LLM layers) disjoint.
void pick_grid(int nt, int64_t M, int64_t N, int MR, int NR, int& tm, int& tn) {
  tm = 1;
  tn = 1;
  double best = 1e300;
  for (int d = 1; d <= nt; ++d) {
    if (nt % d) continue;
    const int m = nt / d, n = d;
    if (m > (M + MR - 1) / MR || n > (N + NR - 1) / NR) continue;
    const double score = std::fabs(std::log((static_cast<double>(M) / m) / (static_cast<double>(N) / n)));
    if (score <= best) {
      best = score;
      tm = m;
      tn = n;
    }
  }
}

// Calls fn(n0, n1) over [0, N) in chunks of `chunk` (chunk boundaries stay multiples of it), through
// parallel_for, whose threads take a late thread's chunks instead of waiting for it.
template <class F>
void dynamic_chunks(int64_t N, int64_t chunk, F&& fn) {
  const int64_t nchunks = (N + chunk - 1) / chunk;
  parallel_for(nchunks, 1, [&](int64_t c0, int64_t c1) { fn(c0 * chunk, std::min(N, c1 * chunk)); });
}

// M == 1: y (N) = alpha * x (K) · op(B) + beta * y, streaming B once, threads over N.
void gemv(const KernelTable& kt, const GemmArgs& g, int64_t N) {
  const float* x = g.A;
  if (g.ta == Trans::T && g.lda != 1) {  // op(A) (1, K) is a column of A (K, 1; lda)
    float* xs = tl_x.get(g.K);
    for (int64_t k = 0; k < g.K; ++k) xs[k] = g.A[k * g.lda];
    x = xs;
  }
  const BSrc& b = g.b;
  if (b.t == Trans::T) {  // rows of W: dot products
    // Chunks of >= 256 KiB of W (or 8 per thread), rows in fours for the 4-row kernel.
    const int64_t min_rows = std::max<int64_t>(16, (256 << 10) / (4 * std::max<int64_t>(g.K, 1)));
    const int64_t chunk = round_up(std::max(min_rows, N / (8 * static_cast<int64_t>(num_threads()))), 4);
    dynamic_chunks(N, chunk, [&](int64_t n0, int64_t n1) {
      float* y = g.C + n0;
      if (b.dt == DType::F32)
        kt.sgemv_rows(y, x, static_cast<const float*>(b.p) + n0 * b.ld, n1 - n0, g.K, b.ld, g.alpha, g.beta);
      else if (b.dt == DType::F16)
        kt.sgemv_rows_f16(y, x, static_cast<const uint16_t*>(b.p) + n0 * b.ld, n1 - n0, g.K, b.ld, g.alpha, g.beta);
      else
        kt.sgemv_rows_bf16(y, x, static_cast<const uint16_t*>(b.p) + n0 * b.ld, n1 - n0, g.K, b.ld, g.alpha, g.beta);
    });
    return;
  }
  // B (K, N) row-major: y += (alpha x[k]) * B[k, :], over column chunks that stay in L1.
  constexpr int64_t kChunk = 1024;
  dynamic_chunks(N, kChunk, [&](int64_t n0, int64_t n1) {
    for (int64_t c0 = n0; c0 < n1; c0 += kChunk) {
      const int64_t len = std::min(kChunk, n1 - c0);
      scale_c(g.C, 0, 0, 1, c0, c0 + len, g.beta);
      float* tmp = b.dt == DType::F32 ? nullptr : tl_widen.get(len);
      for (int64_t k = 0; k < g.K; ++k) {
        const float* row;
        if (b.dt == DType::F32) {
          row = static_cast<const float*>(b.p) + k * b.ld + c0;
        } else {
          widen_fn(kt, b.dt)(tmp, static_cast<const uint16_t*>(b.p) + k * b.ld + c0, len);
          row = tmp;
        }
        kt.scale_backward(g.C + c0, row, g.alpha * x[k], len);
      }
    }
  });
}

void check_args(const char* fn, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb,
                int64_t ldc) {
  if (M < 0 || N < 0 || K < 0) fail("{}: negative size M={} N={} K={}", fn, M, N, K);
  const int64_t a_cols = ta == Trans::N ? K : M, b_cols = tb == Trans::N ? N : K;
  if (lda < std::max<int64_t>(1, a_cols)) fail("{}: lda={} < {} columns of A", fn, lda, a_cols);
  if (ldb < std::max<int64_t>(1, b_cols)) fail("{}: ldb={} < {} columns of B", fn, ldb, b_cols);
  if (ldc < std::max<int64_t>(1, N)) fail("{}: ldc={} < N={}", fn, ldc, N);
}

void run_gemm(const KernelTable& kt, Trans ta, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
              int64_t lda, const BSrc& b, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  // An op of its own when no driver called it (LoRA and training call the GEMM directly); inside linear it is
  // linear's time.
  profile::Scope prof("gemm", [&] { return fmt::format("{} {} {}", dtype_name(b.dt), M == 1 ? "gemv" : "gemm",
                                                       M == 1 ? kt.sgemv_rows_isa : kt.sgemm_ukernel_isa); },
                      [&] { return profile::Cost{4.0 * (static_cast<double>(M) * K + static_cast<double>(K) * N + 2.0 * M * N),
                                                 2.0 * M * N * K}; });
  if (K == 0 || alpha == 0.0f) {  // C = beta * C (BLAS: no product is formed)
    scale_c(C, ldc, 0, M, 0, N, beta);
    return;
  }
  const GemmArgs g{ta, A, lda, b, K, alpha, beta, C, ldc};
  if (M == 1) {
    gemv(kt, g, N);
    return;
  }
  const int MR = kt.sgemm_block.mr, NR = kt.sgemm_block.nr;
  // Below about 2^18 multiply-adds per thread the fork costs more than it saves.
  const int64_t work = M * N * K;
  int nt = in_parallel() ? 1 : static_cast<int>(std::min<int64_t>(num_threads(), std::max<int64_t>(1, work >> 18)));
  // Shared A needs two barriers per A block: on a busy machine a preempted thread stalls the others
  // for a whole time slice (measured: 4 vs 44 GFLOP/s at load 10 on 2 cores), so it is opt-in.
  // The default splits C into independent blocks, each thread packing its own A (cheap: vectorized).
  if (shared_a_mode() && nt > 1 && N >= static_cast<int64_t>(nt) * NR * 2) {  // wide enough: threads share A, own columns
    const GemmBlocking bl = blocking(kt);
    float* ap = tl_apack.get(round_up(std::min(round_up(bl.mc, MR), M), MR) * bl.kc);
    parallel_region(nt, [&](int tid, int n) { gemm_shared_a(kt, g, M, N, tid, n, ap); });
    return;
  }
  int tm = 1, tn = 1;
  pick_grid(nt, M, N, MR, NR, tm, tn);
  nt = tm * tn;
  if (nt == 1) {
    gemm_block(kt, g, 0, M, 0, N);
    return;
  }
  const int64_t mblocks = (M + MR - 1) / MR, nblocks = (N + NR - 1) / NR;
  parallel_for(nt, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t ti = t / tn, tj = t % tn;
      const int64_t i0 = std::min(M, mblocks * ti / tm * MR), i1 = std::min(M, mblocks * (ti + 1) / tm * MR);
      const int64_t j0 = std::min(N, nblocks * tj / tn * NR), j1 = std::min(N, nblocks * (tj + 1) / tn * NR);
      if (i0 < i1 && j0 < j1) gemm_block(kt, g, i0, i1, j0, j1);
    }
  });
}

}  // namespace

void detail::gemm_set_shared_a(bool on) { shared_a_flag().store(on ? 1 : 0); }

void gemm_f32(const KernelTable& kt, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  check_args("gemm_f32", ta, tb, M, N, K, lda, ldb, ldc);
  run_gemm(kt, ta, M, N, K, alpha, A, lda, BSrc{B, ldb, tb, DType::F32}, beta, C, ldc);
}

void gemm_f32(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_f32(kernels(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_f32_w16(const KernelTable& kt, DType wtype, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K,
                  float alpha, const float* A, int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C,
                  int64_t ldc) {
  if (wtype != DType::F16 && wtype != DType::BF16)
    fail("gemm_f32_w16: weight type {} is not f16 or bf16", dtype_name(wtype));
  check_args("gemm_f32_w16", ta, tb, M, N, K, lda, ldb, ldc);
  run_gemm(kt, ta, M, N, K, alpha, A, lda, BSrc{B, ldb, tb, wtype}, beta, C, ldc);
}

void gemm_f32_w16(DType wtype, Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_f32_w16(kernels(), wtype, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace edgellm
