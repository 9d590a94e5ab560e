// Driver of the 8-bit panel GEMM (kernels/quant_gemm_i8.h): activation quantization, weight panels, threads. The
// weight's zero point moves to the activation side: the panel holds unsigned codes u = q + z (z = 8 for Q4_0, 128
// for Q8_0, 32 for Q6_K), so Σ q·x = Σ u·x − z·Σ x, and −z·Σ x is one integer per (row, block). Q4_K's and Q5_K's
// codes are already unsigned; their per-sub-block minimum becomes wm = −dmin·m, times dx·Σ x. Not here: the inner
// product (the table's i8_panel_ukernel) and the few-rows path (quant_matmul.h).
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
constexpr uint32_t kLow4 = 0x0F0F0F0Fu;

// What the panel needs to know of a weight type: its panel block (elements per scale) and zero point.
struct PanelFormat {
  int64_t kb;      // elements per panel block: 32, or 16 for Q6_K's sub-blocks
  int32_t zero;    // added to the signed code to make it unsigned (0: codes are unsigned already)
  bool has_min;    // blocks carry an offset (wm)
};

bool panel_type(DType w) {
  return w == DType::Q4_0 || w == DType::Q8_0 || w == DType::Q4_K || w == DType::Q5_K || w == DType::Q6_K;
}

PanelFormat panel_format(DType w, const KernelTable& t) {
  switch (w) {
    case DType::Q4_0: return {32, 8, false};
    case DType::Q8_0: return {32, t.i8_panel_signed_codes ? 0 : 128, false};
    case DType::Q4_K:
    case DType::Q5_K: return {32, 0, true};
    default: return {16, 32, false};  // Q6_K
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

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The pack_* functions put one stored block of weight row j into column j of the panel: words u32[(b·G + g)·NC + j]
// (G = kb/4 groups of 4 codes) from panel block b on, and the block's scales (and offsets) at [b·NC + j]. Q4_0 and
// Q8_0 leave their f16 scale in wd16, converted for the whole panel at once by the table's f16_to_f32 (one portable
// f16_to_f32 per 32 weights was a sixth of the packing's instructions under qemu's count).

void pack_q4_0(uint32_t* u32, uint16_t* wd16, const uint8_t* p, int64_t b, int64_t j) {
  const auto& blk = *reinterpret_cast<const quant::block_q4_0*>(p);
  uint32_t* dst = u32 + b * 8 * NC + j;
  for (int g = 0; g < 4; ++g) {  // elements 4g.. in the low nibbles, 16 + 4g.. in the high ones
    const uint32_t v = load32(blk.qs + 4 * g);
    dst[g * NC] = v & kLow4;
    dst[(g + 4) * NC] = (v >> 4) & kLow4;
  }
  wd16[b * NC + j] = blk.d;
}

// flip = 0x80808080 makes the codes unsigned (q + 128); 0 keeps them signed (sdot tables).
void pack_q8_0(uint32_t* u32, uint16_t* wd16, const uint8_t* p, int64_t b, int64_t j, uint32_t flip) {
  const auto& blk = *reinterpret_cast<const quant::block_q8_0*>(p);
  uint32_t* dst = u32 + b * 8 * NC + j;
  for (int g = 0; g < 8; ++g) dst[g * NC] = load32(reinterpret_cast<const uint8_t*>(blk.qs) + 4 * g) ^ flip;
  wd16[b * NC + j] = blk.d;
}

// Q4_K and Q5_K: sub-blocks 2p and 2p+1 share 32 bytes of qs (low nibbles, then high); Q5_K's fifth bit of element l
// of sub-block s is bit s of qh[l].
template <bool kFive, typename Block>
void pack_q45_k(uint32_t* u32, float* wd, float* wm, const uint8_t* p, int64_t b0, int64_t j) {
  const auto& blk = *reinterpret_cast<const Block*>(p);
  const float d = f16_to_f32(blk.d), dmin = f16_to_f32(blk.dmin);
  for (int s = 0; s < 8; ++s) {
    const int64_t b = b0 + s;
    uint8_t sc, m;
    quant::get_scale_min_k4(s, blk.scales, &sc, &m);
    wd[b * NC + j] = d * sc;
    wm[b * NC + j] = -dmin * m;
    uint32_t* dst = u32 + b * 8 * NC + j;
    for (int g = 0; g < 8; ++g) {
      uint32_t c = (load32(blk.qs + 32 * (s / 2) + 4 * g) >> (4 * (s % 2))) & kLow4;
      if constexpr (kFive) c |= ((load32(blk.qh + 4 * g) >> s) & 0x01010101u) << 4;
      dst[g * NC] = c;
    }
  }
}

// Q6_K: element e = 128h + 32q + l (q < 4, l < 32) has its low nibble in ql[64h + 32(q&1) + l] (high nibble when
// q >= 2) and its two high bits at 2q in qh[32h + l]; its scale is sub-block e/16 = 8h + 2q + l/16.
void pack_q6_k(uint32_t* u32, float* wd, const uint8_t* p, int64_t b0, int64_t j) {
  const auto& blk = *reinterpret_cast<const quant::block_q6_K*>(p);
  const float d = f16_to_f32(blk.d);
  for (int h = 0; h < 2; ++h)
    for (int q = 0; q < 4; ++q)
      for (int half = 0; half < 2; ++half) {
        const int sub = 8 * h + 2 * q + half;
        const int64_t b = b0 + sub;
        wd[b * NC + j] = d * static_cast<float>(blk.scales[sub]);
        uint32_t* dst = u32 + b * 4 * NC + j;
        for (int g = 0; g < 4; ++g) {
          const int l = 16 * half + 4 * g;
          const uint32_t lo = (load32(blk.ql + 64 * h + 32 * (q & 1) + l) >> (4 * (q >> 1))) & kLow4;
          const uint32_t hi = ((load32(blk.qh + 32 * h + l) >> (2 * q)) & 0x03030303u) << 4;
          dst[g * NC] = lo | hi;
        }
      }
}

// Packs weight rows [n0, n0 + rows) into u (K · NC bytes), wd and (with a minimum) wm ((K / kb) · NC). The loop runs
// over stored blocks outside and rows inside, so the words written stay within a few KiB (the panel of a 2048-wide
// row is 64 KiB, more than L1). Reading 32 rows side by side defeats the hardware prefetcher (perf: the weight loads
// were most of the packing), so each row's block two steps ahead is prefetched. Columns past `rows` are zero codes
// with zero scales, so they add nothing.
void pack_panel(uint8_t* u, float* wd, uint16_t* wd16, float* wm, const uint8_t* w, int64_t wrb, DType wtype,
                const PanelFormat& f, int64_t n0, int64_t rows, int64_t K, const KernelTable& t) {
  const int64_t nb = K / f.kb;
  const bool f16_scales = wtype == DType::Q4_0 || wtype == DType::Q8_0;
  if (rows < NC) {
    std::memset(u, 0, static_cast<size_t>(K * NC));
    std::fill(wd, wd + nb * NC, 0.0f);
    if (f16_scales) std::fill(wd16, wd16 + nb * NC, uint16_t{0});
    if (wm) std::fill(wm, wm + nb * NC, 0.0f);
  }
  auto* u32 = reinterpret_cast<uint32_t*>(u);
  const int64_t sbk = dtype_info(wtype).block, sbytes = dtype_row_bytes(wtype, sbk), per = sbk / f.kb;
  for (int64_t s = 0; s < K / sbk; ++s)
    for (int64_t j = 0; j < rows; ++j) {
      const uint8_t* p = w + (n0 + j) * wrb + s * sbytes;
      if (s + 2 < K / sbk)
        for (int64_t off = 0; off < sbytes; off += 64) __builtin_prefetch(p + 2 * sbytes + off);
      switch (wtype) {
        case DType::Q4_0: pack_q4_0(u32, wd16, p, s, j); break;
        case DType::Q8_0: pack_q8_0(u32, wd16, p, s, j, f.zero ? 0x80808080u : 0u); break;
        case DType::Q4_K: pack_q45_k<false, quant::block_q4_K>(u32, wd, wm, p, s * per, j); break;
        case DType::Q5_K: pack_q45_k<true, quant::block_q5_K>(u32, wd, wm, p, s * per, j); break;
        default: pack_q6_k(u32, wd, p, s * per, j); break;
      }
    }
  if (f16_scales) t.f16_to_f32(wd, wd16, nb * NC);
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
  const int64_t strips = (N + NC - 1) / NC;
  parallel_for(strips, 1, [&](int64_t s0, int64_t s1) {
    thread_local std::vector<uint8_t> u;
    thread_local std::vector<float> wd, wm;
    thread_local std::vector<uint16_t> wd16;
    u.resize(static_cast<size_t>(K * NC));
    wd.resize(static_cast<size_t>(nb * NC));
    wd16.resize(static_cast<size_t>(nb * NC));
    wm.resize(f.has_min ? static_cast<size_t>(nb * NC) : 0);
    float* wmp = f.has_min ? wm.data() : nullptr;
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t n0 = s * NC, n = std::min(NC, N - n0);
      pack_panel(u.data(), wd.data(), wd16.data(), wmp, wb, wrb, wtype, f, n0, n, K, t);
      for (int64_t i = 0; i < M; i += MR)
        t.i8_panel_ukernel(nb, f.kb, a.x.data() + i * K, K, a.dx.data() + i * nb, a.corr.data() + i * nb,
                           a.dsx.data() + i * nb, nb, u.data(), wd.data(), wmp, y + i * N + n0, N, std::min(MR, M - i),
                           n);
    }
  });
}

}  // namespace edgellm
