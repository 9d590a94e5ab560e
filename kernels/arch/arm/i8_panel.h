// AArch64 8-bit panel micro-kernels (kernel_table.h: i8_panel_ukernel), 4 activation rows x 8 weight columns per pass:
// sdot (vdotq_laneq_s32, 4 weight bytes x 4 activation bytes per lane) and, on CPUs with i8mm, smmla (2 rows x 2
// columns x 8 bytes per instruction, twice sdot's products). Included ONLY from arch/neon_dotprod. Codes are read as
// signed bytes, so the table sets i8_panel_signed_codes and the driver packs Q8_0 as q itself. Also the NEON packers of
// Q4_0 and Q8_0 (the K-quants keep the scalar ones).
#pragma once

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/kernel_table.h"
#include "kernels/quant/blocks.h"

namespace edgellm::armq {
namespace {

constexpr int kPanelMR = 4;
constexpr int64_t kPanelChunk = 8;  // columns per pass: 4 rows x 2 int32x4 integer + 2 float accumulators each

// Rows [0, M) of c, columns [j0, j0 + 8) of the panel (stores only the first nj <= 8).
template <int M, bool kMin, int G>
inline void panel_chunk(int64_t nb, const int8_t* x, int64_t ldx, const float* dx, const int32_t* corr,
                        const float* dsx, int64_t ldd, const uint8_t* u, const float* wd, const float* wm, float* c,
                        int64_t ldc, int64_t j0, int64_t nj) {
  constexpr int64_t NC = kI8PanelCols;
  float32x4_t acc[M][2];
  for (int i = 0; i < M; ++i) acc[i][0] = acc[i][1] = vdupq_n_f32(0.0f);
  for (int64_t b = 0; b < nb; ++b) {
    int32x4_t s[M][2];
    for (int i = 0; i < M; ++i) s[i][0] = s[i][1] = vdupq_n_s32(corr[i * ldd + b]);
    const int8_t* ub = reinterpret_cast<const int8_t*>(u) + (b * G * NC + j0) * 4;
    const int8_t* xb = x + b * G * 4;
#pragma GCC unroll 2
    for (int g4 = 0; g4 < G; g4 += 4) {
      int8x16_t xv[M];
      for (int i = 0; i < M; ++i) xv[i] = vld1q_s8(xb + i * ldx + g4 * 4);
      const int8_t* w = ub + g4 * NC * 4;
#define EDGELLM_PANEL_LANE(L)                                                    \
  {                                                                              \
    const int8x16_t w0 = vld1q_s8(w + (L)*NC * 4), w1 = vld1q_s8(w + (L)*NC * 4 + 16); \
    for (int i = 0; i < M; ++i) {                                                \
      s[i][0] = vdotq_laneq_s32(s[i][0], w0, xv[i], L);                          \
      s[i][1] = vdotq_laneq_s32(s[i][1], w1, xv[i], L);                          \
    }                                                                            \
  }
      EDGELLM_PANEL_LANE(0) EDGELLM_PANEL_LANE(1) EDGELLM_PANEL_LANE(2) EDGELLM_PANEL_LANE(3)
#undef EDGELLM_PANEL_LANE
    }
    const float32x4_t d0 = vld1q_f32(wd + b * NC + j0), d1 = vld1q_f32(wd + b * NC + j0 + 4);
    for (int i = 0; i < M; ++i) {
      const float di = dx[i * ldd + b];
      acc[i][0] = vfmaq_f32(acc[i][0], vcvtq_f32_s32(s[i][0]), vmulq_n_f32(d0, di));
      acc[i][1] = vfmaq_f32(acc[i][1], vcvtq_f32_s32(s[i][1]), vmulq_n_f32(d1, di));
    }
    if constexpr (kMin) {
      const float32x4_t m0 = vld1q_f32(wm + b * NC + j0), m1 = vld1q_f32(wm + b * NC + j0 + 4);
      for (int i = 0; i < M; ++i) {
        acc[i][0] = vfmaq_n_f32(acc[i][0], m0, dsx[i * ldd + b]);
        acc[i][1] = vfmaq_n_f32(acc[i][1], m1, dsx[i * ldd + b]);
      }
    }
  }
  for (int i = 0; i < M; ++i) {
    if (nj == kPanelChunk) {
      vst1q_f32(c + i * ldc + j0, acc[i][0]);
      vst1q_f32(c + i * ldc + j0 + 4, acc[i][1]);
      continue;
    }
    float tmp[8];
    vst1q_f32(tmp, acc[i][0]);
    vst1q_f32(tmp + 4, acc[i][1]);
    for (int64_t j = 0; j < nj; ++j) c[i * ldc + j0 + j] = tmp[j];
  }
}

template <int M, bool kMin, int G>
inline void panel_rows(int64_t nb, const int8_t* x, int64_t ldx, const float* dx, const int32_t* corr,
                       const float* dsx, int64_t ldd, const uint8_t* u, const float* wd, const float* wm, float* c,
                       int64_t ldc, int64_t n) {
  for (int64_t j0 = 0; j0 < n; j0 += kPanelChunk)
    panel_chunk<M, kMin, G>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, j0,
                            n - j0 < kPanelChunk ? n - j0 : kPanelChunk);
}

template <bool kMin, int G>
inline void panel_m(int64_t nb, const int8_t* x, int64_t ldx, const float* dx, const int32_t* corr, const float* dsx,
                    int64_t ldd, const uint8_t* u, const float* wd, const float* wm, float* c, int64_t ldc, int64_t m,
                    int64_t n) {
  switch (m) {
    case 4: return panel_rows<4, kMin, G>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, n);
    case 3: return panel_rows<3, kMin, G>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, n);
    case 2: return panel_rows<2, kMin, G>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, n);
    default: return panel_rows<1, kMin, G>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, n);
  }
}

inline void i8_panel_ukernel_sdot(int64_t nb, int64_t kb, int /*code_bits*/, const int8_t* x, int64_t ldx,
                                  const float* dx, const int32_t* corr, const float* dsx, int64_t ldd, const uint8_t* u,
                                  const float* wd, const float* wm, float* c, int64_t ldc, int64_t m, int64_t n) {
  if (kb == 16) {
    if (wm) return panel_m<true, 4>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
    return panel_m<false, 4>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
  }
  if (wm) return panel_m<true, 8>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
  panel_m<false, 8>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
}

// ---- i8mm: smmla on 2x2 tiles ---------------------------------------------------------------------------------------
// The panel keeps sdot's layout (4 codes per column per group); two groups of columns j..j+3 zip into the [col j: 8 k |
// col j+1: 8 k] operands smmla wants. Result lanes of tile (row pair p, column pair q): r0c0, r0c1, r1c0, r1c1.
#define EDGELLM_I8MM __attribute__((target("arch=armv8.2-a+dotprod+fp16+i8mm")))

template <bool kMin, int G>
EDGELLM_I8MM inline void panel_chunk_i8mm(int64_t nb, const int8_t* x0, const int8_t* x1, const int8_t* x2,
                                          const int8_t* x3, const float* dx, const int32_t* corr, const float* dsx,
                                          const int64_t* rd, const uint8_t* u, const float* wd, const float* wm,
                                          float32x4_t acc[2][4], int64_t j0) {
  constexpr int64_t NC = kI8PanelCols;
  for (int64_t b = 0; b < nb; ++b) {
    int32x4_t s[2][4];
    for (int p = 0; p < 2; ++p) {
      const int32x2_t c0 = vdup_n_s32(corr[rd[2 * p] + b]), c1 = vdup_n_s32(corr[rd[2 * p + 1] + b]);
      for (int q = 0; q < 4; ++q) s[p][q] = vcombine_s32(c0, c1);
    }
    const int8_t* ub = reinterpret_cast<const int8_t*>(u) + (b * G * NC + j0) * 4;
    const int64_t xo = b * G * 4;
#pragma GCC unroll 4
    for (int g = 0; g < G; g += 2) {
      const int8x16_t a0 = vcombine_s8(vld1_s8(x0 + xo + 4 * g), vld1_s8(x1 + xo + 4 * g));
      const int8x16_t a1 = vcombine_s8(vld1_s8(x2 + xo + 4 * g), vld1_s8(x3 + xo + 4 * g));
      const int8_t* w = ub + g * NC * 4;
      for (int h = 0; h < 2; ++h) {  // columns j0 + 4h .. + 3
        const int32x4_t lo = vreinterpretq_s32_s8(vld1q_s8(w + 16 * h));
        const int32x4_t hi = vreinterpretq_s32_s8(vld1q_s8(w + NC * 4 + 16 * h));
        const int8x16_t b0 = vreinterpretq_s8_s32(vzip1q_s32(lo, hi)), b1 = vreinterpretq_s8_s32(vzip2q_s32(lo, hi));
        s[0][2 * h] = vmmlaq_s32(s[0][2 * h], a0, b0);
        s[0][2 * h + 1] = vmmlaq_s32(s[0][2 * h + 1], a0, b1);
        s[1][2 * h] = vmmlaq_s32(s[1][2 * h], a1, b0);
        s[1][2 * h + 1] = vmmlaq_s32(s[1][2 * h + 1], a1, b1);
      }
    }
    for (int p = 0; p < 2; ++p) {
      const float d0 = dx[rd[2 * p] + b], d1 = dx[rd[2 * p + 1] + b];
      for (int q = 0; q < 4; ++q) {
        const float32x2_t w2 = vld1_f32(wd + b * NC + j0 + 2 * q);
        const float32x4_t sc = vcombine_f32(vmul_n_f32(w2, d0), vmul_n_f32(w2, d1));
        acc[p][q] = vfmaq_f32(acc[p][q], vcvtq_f32_s32(s[p][q]), sc);
        if constexpr (kMin) {
          const float32x2_t m2 = vld1_f32(wm + b * NC + j0 + 2 * q);
          acc[p][q] = vfmaq_f32(acc[p][q], vcombine_f32(m2, m2),
                                vcombine_f32(vdup_n_f32(dsx[rd[2 * p] + b]), vdup_n_f32(dsx[rd[2 * p + 1] + b])));
        }
      }
    }
  }
}

template <bool kMin, int G>
EDGELLM_I8MM inline void panel_m_i8mm(int64_t nb, const int8_t* x, int64_t ldx, const float* dx, const int32_t* corr,
                                      const float* dsx, int64_t ldd, const uint8_t* u, const float* wd,
                                      const float* wm, float* c, int64_t ldc, int64_t m, int64_t n) {
  // Rows past m repeat row m-1 (read, never stored), so the 2x2 tiles need no odd-row case.
  const int8_t* xr[4];
  int64_t rd[4];
  for (int i = 0; i < 4; ++i) {
    const int64_t r = i < m ? i : m - 1;
    xr[i] = x + r * ldx;
    rd[i] = r * ldd;
  }
  for (int64_t j0 = 0; j0 < n; j0 += kPanelChunk) {
    float32x4_t acc[2][4];
    for (auto& row : acc)
      for (auto& a : row) a = vdupq_n_f32(0.0f);
    panel_chunk_i8mm<kMin, G>(nb, xr[0], xr[1], xr[2], xr[3], dx, corr, dsx, rd, u, wd, wm, acc, j0);
    const int64_t nj = n - j0 < kPanelChunk ? n - j0 : kPanelChunk;
    for (int p = 0; p < 2; ++p) {
      float t[2][8];  // rows 2p, 2p+1 of this chunk
      for (int q = 0; q < 4; ++q) {
        vst1_f32(&t[0][2 * q], vget_low_f32(acc[p][q]));
        vst1_f32(&t[1][2 * q], vget_high_f32(acc[p][q]));
      }
      for (int r = 0; r < 2 && 2 * p + r < m; ++r)
        for (int64_t j = 0; j < nj; ++j) c[(2 * p + r) * ldc + j0 + j] = t[r][j];
    }
  }
}

EDGELLM_I8MM inline void i8_panel_ukernel_i8mm(int64_t nb, int64_t kb, int /*code_bits*/, const int8_t* x,
                                               int64_t ldx, const float* dx, const int32_t* corr, const float* dsx,
                                               int64_t ldd, const uint8_t* u, const float* wd, const float* wm,
                                               float* c, int64_t ldc, int64_t m, int64_t n) {
  if (kb == 16) {
    if (wm) return panel_m_i8mm<true, 4>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
    return panel_m_i8mm<false, 4>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
  }
  if (wm) return panel_m_i8mm<true, 8>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
  panel_m_i8mm<false, 8>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
}
#undef EDGELLM_I8MM

// ---- packing of Q4_0 and Q8_0 (kernel_table.h: i8_panel_pack_*; kernels/ref/i8_panel_pack.cpp is the definition) --
// Four weight rows at a time: each row's 32 codes are two vectors of four 32-bit words (groups 0-3 and 4-7); a 4x4
// transpose of words puts one group's words of the four columns in one vector, stored in one instruction, and the
// four f16 scales convert in one. The scalar packer (a mask and a store per word, the portable f16_to_f32 per block)
// was ~40 instructions per row and block, 12% of the 110m Q4_0 prompt under qemu's count (bench/RESULTS.md).

// a..d word k -> word k of a..d (rows to columns).
inline void transpose4x4_u32(uint32x4_t& a, uint32x4_t& b, uint32x4_t& c, uint32x4_t& d) {
  const uint64x2_t ab0 = vreinterpretq_u64_u32(vtrn1q_u32(a, b)), ab1 = vreinterpretq_u64_u32(vtrn2q_u32(a, b));
  const uint64x2_t cd0 = vreinterpretq_u64_u32(vtrn1q_u32(c, d)), cd1 = vreinterpretq_u64_u32(vtrn2q_u32(c, d));
  a = vreinterpretq_u32_u64(vtrn1q_u64(ab0, cd0));
  b = vreinterpretq_u32_u64(vtrn1q_u64(ab1, cd1));
  c = vreinterpretq_u32_u64(vtrn2q_u64(ab0, cd0));
  d = vreinterpretq_u32_u64(vtrn2q_u64(ab1, cd1));
}

// Panel block s of columns j0..j0+3 from blk[0..3] (kQ4: Q4_0, low nibbles are elements 0-15, high 16-31; else Q8_0,
// each byte xor flip, 0x80 making the codes unsigned). Columns from `live` on are zero bytes with a zero scale, as the
// scalar packer leaves them (not flip's 0x80 for Q8_0).
template <bool kQ4, class Block>
inline void pack_legacy4(const Block* const blk[4], int live, uint8_t flip, uint32_t* dst, float* wdst) {
  constexpr int64_t NC = kI8PanelCols;
  uint32x4_t lo[4], hi[4];
  for (int r = 0; r < 4; ++r) {
    const auto* q = reinterpret_cast<const uint8_t*>(blk[r]->qs);
    if (r >= live) {
      lo[r] = hi[r] = vdupq_n_u32(0);
    } else if constexpr (kQ4) {
      const uint8x16_t v = vld1q_u8(q);
      lo[r] = vreinterpretq_u32_u8(vandq_u8(v, vdupq_n_u8(0x0F)));
      hi[r] = vreinterpretq_u32_u8(vshrq_n_u8(v, 4));
    } else {
      lo[r] = vreinterpretq_u32_u8(veorq_u8(vld1q_u8(q), vdupq_n_u8(flip)));
      hi[r] = vreinterpretq_u32_u8(veorq_u8(vld1q_u8(q + 16), vdupq_n_u8(flip)));
    }
  }
  transpose4x4_u32(lo[0], lo[1], lo[2], lo[3]);
  transpose4x4_u32(hi[0], hi[1], hi[2], hi[3]);
  for (int g = 0; g < 4; ++g) {
    vst1q_u32(dst + g * NC, lo[g]);
    vst1q_u32(dst + (g + 4) * NC, hi[g]);
  }
  uint16x4_t dh = vld1_dup_u16(&blk[0]->d);
  dh = vld1_lane_u16(&blk[1]->d, dh, 1);
  dh = vld1_lane_u16(&blk[2]->d, dh, 2);
  dh = vld1_lane_u16(&blk[3]->d, dh, 3);
  vst1q_f32(wdst, vcvt_f32_f16(vreinterpret_f16_u16(dh)));
}

template <bool kQ4>
void pack_legacy(uint8_t* u, float* wd, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K, uint8_t flip) {
  using Block = std::conditional_t<kQ4, quant::block_q4_0, quant::block_q8_0>;
  constexpr int64_t NC = kI8PanelCols, sb = sizeof(Block);
  static constexpr Block kZero{};  // stands in for the rows past `rows`
  const int64_t nb = K / 32, full = rows / 4 * 4;
  if (rows < NC) {
    std::memset(u, 0, static_cast<size_t>(K * NC));
    std::fill(wd, wd + nb * NC, 0.0f);
  }
  auto* u32 = reinterpret_cast<uint32_t*>(u);
  for (int64_t s = 0; s < nb; ++s) {
    const Block* blk[4];
    int64_t j0 = 0;
    for (; j0 < full; j0 += 4) {
      for (int r = 0; r < 4; ++r) {
        const uint8_t* p = w + (j0 + r) * wrb + s * sb;
        blk[r] = reinterpret_cast<const Block*>(p);
        // As the scalar packer: rows read side by side defeat the hardware prefetcher. Untested against the row's
        // end: prfm never faults.
        __builtin_prefetch(p + 2 * sb);
      }
      pack_legacy4<kQ4>(blk, 4, flip, u32 + s * 8 * NC + j0, wd + s * NC + j0);
    }
    if (j0 < rows) {
      for (int r = 0; r < 4; ++r)
        blk[r] = j0 + r < rows ? reinterpret_cast<const Block*>(w + (j0 + r) * wrb + s * sb) : &kZero;
      pack_legacy4<kQ4>(blk, static_cast<int>(rows - j0), flip, u32 + s * 8 * NC + j0, wd + s * NC + j0);
    }
  }
}

inline void i8_panel_pack_q4_0_neon(uint8_t* u, float* wd, float*, const uint8_t* w, int64_t wrb, int64_t rows,
                                    int64_t K, bool) {
  pack_legacy<true>(u, wd, w, wrb, rows, K, 0);
}
inline void i8_panel_pack_q8_0_neon(uint8_t* u, float* wd, float*, const uint8_t* w, int64_t wrb, int64_t rows,
                                    int64_t K, bool signed_codes) {
  pack_legacy<false>(u, wd, w, wrb, rows, K, signed_codes ? 0 : 0x80);
}

}  // namespace
}  // namespace edgellm::armq
