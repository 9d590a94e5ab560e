// Driver of the 8-bit panel GEMM (kernels/quant_gemm_i8.h): activation quantization, weight panels, threads. The
// weight's zero point moves to the activation side: the panel holds unsigned codes u = q + z (z = 8 for Q4_0, 128
// for Q8_0, 32 for Q6_K), so Σ q·x = Σ u·x − z·Σ x, and −z·Σ x is one integer per (row, block). Q4_K's and Q5_K's
// codes are already unsigned; their per-sub-block minimum becomes wm = −dmin·m, times dx·Σ x. Not here: the packing
// and the inner product (the table's i8_panel_pack_* and i8_panel_ukernel) and the few-rows path (quant_matmul.h).
#include "kernels/quant_gemm_i8.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/quant/blocks.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm {
namespace {

constexpr int64_t NC = kI8PanelCols;

// What the panel needs to know of a weight type: its panel block (elements per scale), zero point and code range.
struct PanelFormat {
  int64_t kb;      // elements per panel block: 32, or 16 for Q6_K's sub-blocks
  int32_t zero;    // added to the signed code to make it unsigned (0: codes are unsigned already)
  bool has_min;    // blocks carry an offset (wm)
  int code_bits;   // codes are below 2^code_bits (8: any byte)
};

bool panel_type(DType w) {
  return w == DType::Q4_0 || w == DType::Q8_0 || w == DType::Q4_K || w == DType::Q5_K || w == DType::Q6_K;
}

PanelFormat panel_format(DType w, const KernelTable& t) {
  switch (w) {
    case DType::Q4_0: return {32, 8, false, 4};
    case DType::Q8_0: return {32, t.i8_panel_signed_codes ? 0 : 128, false, 8};
    case DType::Q4_K: return {32, 0, true, 4};
    case DType::Q5_K: return {32, 0, true, 5};
    default: return {16, 32, false, 6};  // Q6_K
  }
}

// 8-bit activations of M rows: bytes (M, K); per (row, panel block) scales, corrections and dx·Σx (M, K / kb).
struct Act {
  std::vector<int8_t> x;
  std::vector<float> dx, dsx;
  std::vector<int32_t> corr;
};

// Rows are quantized per 32 elements (Q8_0, as the GEMV path and llama.cpp do); a 16-element panel block takes its
// 32-block's scale and its own sum.
void quantize_rows(Act& a, const float* x, int64_t M, int64_t K, const PanelFormat& f, const KernelTable& t) {
  const int64_t nb = K / f.kb;
  a.x.resize(static_cast<size_t>(M * K));
  a.dx.resize(static_cast<size_t>(M * nb));
  a.corr.resize(static_cast<size_t>(M * nb));
  a.dsx.resize(static_cast<size_t>(M * nb));
  parallel_for(M, 1, [&](int64_t m0, int64_t m1) {
    std::vector<quant::block_q8_0> q(static_cast<size_t>(K / 32));
    for (int64_t m = m0; m < m1; ++m) {
      t.quantize_q8_0(q.data(), x + m * K, K);
      for (int64_t b = 0; b < nb; ++b) {
        const quant::block_q8_0& blk = q[static_cast<size_t>(b * f.kb / 32)];
        const int8_t* qs = blk.qs + (b * f.kb) % 32;
        std::memcpy(a.x.data() + m * K + b * f.kb, qs, static_cast<size_t>(f.kb));
        int32_t sum = 0;
        for (int64_t e = 0; e < f.kb; ++e) sum += qs[e];
        const float d = f16_to_f32(blk.d);
        const auto i = static_cast<size_t>(m * nb + b);
        a.dx[i] = d;
        a.corr[i] = -f.zero * sum;
        a.dsx[i] = d * static_cast<float>(sum);
      }
    }
  });
}

// The table's packer of weight type w (panel_type(w) holds).
i8_panel_pack_fn* panel_packer(DType w, const KernelTable& t) {
  switch (w) {
    case DType::Q4_0: return t.i8_panel_pack_q4_0;
    case DType::Q8_0: return t.i8_panel_pack_q8_0;
    case DType::Q4_K: return t.i8_panel_pack_q4_k;
    case DType::Q5_K: return t.i8_panel_pack_q5_k;
    default: return t.i8_panel_pack_q6_k;
  }
}

}  // namespace

bool i8_panel_supported(DType w, const KernelTable& t) {
  return panel_type(w) && t.i8_panel_ukernel && std::strcmp(t.i8_panel_ukernel_isa, "scalar") != 0;
}

void matmul_i8_panel(float* y, const float* x, const void* w, DType wtype, int64_t M, int64_t N, int64_t K,
                     const KernelTable& t) {
  if (!panel_type(wtype))
    fail("matmul_i8_panel: weight type {} is not Q4_0, Q8_0, Q4_K, Q5_K or Q6_K", dtype_name(wtype));
  const int64_t block = dtype_info(wtype).block;
  if (K % block != 0) fail("matmul_i8_panel: K={} is not a multiple of the {} block ({})", K, dtype_name(wtype), block);
  if (M <= 0 || N <= 0) return;
  const PanelFormat f = panel_format(wtype, t);
  const int64_t nb = K / f.kb, wrb = dtype_row_bytes(wtype, K), MR = t.i8_panel_mr;
  Act a;
  quantize_rows(a, x, M, K, f, t);
  const auto* wb = static_cast<const uint8_t*>(w);
  i8_panel_pack_fn* pack = panel_packer(wtype, t);
  const int64_t strips = (N + NC - 1) / NC;
  parallel_for(strips, 1, [&](int64_t s0, int64_t s1) {
    thread_local std::vector<uint8_t> u;
    thread_local std::vector<float> wd, wm;
    u.resize(static_cast<size_t>(K * NC));
    wd.resize(static_cast<size_t>(nb * NC));
    wm.resize(f.has_min ? static_cast<size_t>(nb * NC) : 0);
    float* wmp = f.has_min ? wm.data() : nullptr;
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t n0 = s * NC, n = std::min(NC, N - n0);
      pack(u.data(), wd.data(), wmp, wb + n0 * wrb, wrb, n, K, t.i8_panel_signed_codes);
      // The next strip's rows (contiguous) are fetched into L2 while this one computes, a slice per tile, so the packer
      // finds them in cache: perf put most of the packing's time on its first load of each block (the weights stream
      // from memory once per call). Into L2 rather than L1, which the tiles use (perf's share of the packing in a Q4_K
      // M = 64 product: 20% without this, 19% fetching into L1, 14% into L2).
      const uint8_t* next = wb + (n0 + NC) * wrb;
      const int64_t next_bytes = s + 1 < s1 ? std::min(NC, N - n0 - NC) * wrb : 0;
      const int64_t slice = (next_bytes / ((M + MR - 1) / MR) + 63) & ~int64_t{63};
      int64_t fetched = 0;
      for (int64_t i = 0; i < M; i += MR) {
        for (const int64_t end = std::min(next_bytes, fetched + slice); fetched < end; fetched += 64)
          __builtin_prefetch(next + fetched, 0, 2);
        t.i8_panel_ukernel(nb, f.kb, f.code_bits, a.x.data() + i * K, K, a.dx.data() + i * nb,
                           a.corr.data() + i * nb, a.dsx.data() + i * nb, nb, u.data(), wd.data(), wmp, y + i * N + n0,
                           N, std::min(MR, M - i), n);
      }
    }
  });
}

}  // namespace edgellm
