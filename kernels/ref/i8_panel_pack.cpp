// Scalar panel packing (kernel_table.h: i8_panel_pack_*): one stored block of one weight row at a time into column j
// of the panel, words u32[(b·G + g)·NC + j] (G = kb/4 groups of 4 codes) from panel block b on, its scales (and
// offsets) at [b·NC + j]. The scalar table's entries and the definition the SIMD packers are tested against. Not here:
// the micro-kernel that reads the panel (kernels/ref/i8_panel.h) or the choice of type (kernels/quant_gemm_i8.cpp).
#include <algorithm>
#include <cstring>

#include "kernels/quant/blocks.h"
#include "kernels/ref/i8_panel.h"
#include "runtime/dtype.h"

namespace edgellm::ref {
namespace {

constexpr int64_t NC = kI8PanelCols;
constexpr uint32_t kLow4 = 0x0F0F0F0Fu;

uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void pack_q4_0(uint32_t* u32, float* wd, float*, const uint8_t* p, int64_t b, int64_t j, uint32_t) {
  const auto& blk = *reinterpret_cast<const quant::block_q4_0*>(p);
  uint32_t* dst = u32 + b * 8 * NC + j;
  for (int g = 0; g < 4; ++g) {  // elements 4g.. in the low nibbles, 16 + 4g.. in the high ones
    const uint32_t v = load32(blk.qs + 4 * g);
    dst[g * NC] = v & kLow4;
    dst[(g + 4) * NC] = (v >> 4) & kLow4;
  }
  wd[b * NC + j] = f16_to_f32(blk.d);
}

// flip = 0x80808080 makes the codes unsigned (q + 128); 0 keeps them signed.
void pack_q8_0(uint32_t* u32, float* wd, float*, const uint8_t* p, int64_t b, int64_t j, uint32_t flip) {
  const auto& blk = *reinterpret_cast<const quant::block_q8_0*>(p);
  uint32_t* dst = u32 + b * 8 * NC + j;
  for (int g = 0; g < 8; ++g) dst[g * NC] = load32(reinterpret_cast<const uint8_t*>(blk.qs) + 4 * g) ^ flip;
  wd[b * NC + j] = f16_to_f32(blk.d);
}

// Q4_K and Q5_K: sub-blocks 2p and 2p+1 share 32 bytes of qs (low nibbles, then high); Q5_K's fifth bit of element l
// of sub-block s is bit s of qh[l]. b0 is the super-block's first panel block.
template <bool kFive, typename Block>
void pack_q45_k(uint32_t* u32, float* wd, float* wm, const uint8_t* p, int64_t b0, int64_t j, uint32_t) {
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
void pack_q6_k(uint32_t* u32, float* wd, float*, const uint8_t* p, int64_t b0, int64_t j, uint32_t) {
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

// The loop runs over stored blocks outside and rows inside, so the words written stay within a few KiB (the panel of
// a 2048-wide row is 64 KiB, more than L1). Reading 32 rows side by side defeats the hardware prefetcher (perf: the
// weight loads were most of the packing), so each row's block two steps ahead is prefetched.
template <typename Block, int64_t kElems, int64_t kKb, bool kMin, auto kPackBlock>
void pack(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K, uint32_t flip) {
  const int64_t nb = K / kKb, nsb = K / kElems, per = kElems / kKb;
  if (rows < NC) {
    std::memset(u, 0, static_cast<size_t>(K * NC));
    std::fill(wd, wd + nb * NC, 0.0f);
    if (kMin) std::fill(wm, wm + nb * NC, 0.0f);
  }
  auto* u32 = reinterpret_cast<uint32_t*>(u);
  for (int64_t s = 0; s < nsb; ++s)
    for (int64_t j = 0; j < rows; ++j) {
      const uint8_t* p = w + j * wrb + s * int64_t{sizeof(Block)};
      if (s + 2 < nsb)
        for (int64_t off = 0; off < int64_t{sizeof(Block)}; off += 64) __builtin_prefetch(p + 2 * sizeof(Block) + off);
      kPackBlock(u32, wd, wm, p, s * per, j, flip);
    }
}

}  // namespace

void i8_panel_pack_q4_0(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                        bool) {
  pack<quant::block_q4_0, 32, 32, false, pack_q4_0>(u, wd, wm, w, wrb, rows, K, 0);
}
void i8_panel_pack_q8_0(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                        bool signed_codes) {
  pack<quant::block_q8_0, 32, 32, false, pack_q8_0>(u, wd, wm, w, wrb, rows, K, signed_codes ? 0u : 0x80808080u);
}
void i8_panel_pack_q4_k(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                        bool) {
  pack<quant::block_q4_K, 256, 32, true, pack_q45_k<false, quant::block_q4_K>>(u, wd, wm, w, wrb, rows, K, 0);
}
void i8_panel_pack_q5_k(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                        bool) {
  pack<quant::block_q5_K, 256, 32, true, pack_q45_k<true, quant::block_q5_K>>(u, wd, wm, w, wrb, rows, K, 0);
}
void i8_panel_pack_q6_k(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                        bool) {
  pack<quant::block_q6_K, 256, 16, false, pack_q6_k>(u, wd, wm, w, wrb, rows, K, 0);
}

}  // namespace edgellm::ref
