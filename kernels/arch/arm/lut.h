// NEON bodies of the LUT GEMVs (layout in kernels/lut_gemv.h), group-int and Q2_K / Q3_K, in intrinsics because
// xsimd 8.1 has no tbl; the neon build instantiates them. Not the packing or the tables (kernels/lut_gemv.cpp).
//
// Planes 0 and 1, per 16-byte load: 8 slots × 2 planes × 8 codes. Each nibble half indexes a quad's low-byte and
// high-byte tables (vqtbl1q_u8); vpadal adds a slot's two plane bytes into 16 bits and vsra adds plane 1 once more,
// which weighs the planes 1 and 2. Plane 2 (3-bit codes) zips a lookup's low and high bytes into int16 entries in
// slot order, ×4 at the end (Q3_K: −4, its plane 2 being the −4 flag).
// The K-quant body keeps a block's two 16-element sub-blocks apart and weighs them with their integer scales
// (vmlal) before any float.
#pragma once

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>

#include "kernels/lut_gemv.h"

namespace edgellm::arm {

// The lookups both bodies share. Templates, so each arch build keeps its own copy.
template <int kUnused = 0>
struct LutLookups {
  // int32 sums lo + 256·hi of the 4 int16 lanes of (lo, hi) from `half` (0: lanes 0-3, 1: lanes 4-7).
  static int32x4_t widen(int16x8_t lo, int16x8_t hi, int half) {
    const int16x4_t l = half ? vget_high_s16(lo) : vget_low_s16(lo), h = half ? vget_high_s16(hi) : vget_low_s16(hi);
    return vaddw_s16(vshlq_n_s32(vmovl_s16(h), 8), l);
  }

  // Planes 0, 1 of one quad pair: c its 32 code bytes, tq the pair's tables (lut_pair_tables). Adds each slot's
  // low bytes (unsigned) and high bytes (signed) of its sum, planes weighed 1 and 2, per half (slots 0-7, 8-15).
  static void planes01(const uint8_t* c, const uint8_t* tq, uint16x8_t lo[2], int16x8_t hi[2]) {
    const uint8x16_t nib = vdupq_n_u8(0x0F);
    const uint8x16_t tl0 = vld1q_u8(tq), th0 = vld1q_u8(tq + 32), tl1 = vld1q_u8(tq + 64), th1 = vld1q_u8(tq + 96);
    for (int h = 0; h < 2; ++h) {
      const uint8x16_t v = vld1q_u8(c + 16 * h);
      const uint8x16_t n0 = vandq_u8(v, nib), n1 = vshrq_n_u8(v, 4);
      const uint8x16_t l0 = vqtbl1q_u8(tl0, n0), l1 = vqtbl1q_u8(tl1, n1);
      const int8x16_t h0 = vreinterpretq_s8_u8(vqtbl1q_u8(th0, n0)), h1 = vreinterpretq_s8_u8(vqtbl1q_u8(th1, n1));
      // A slot's two bytes are planes 0 and 1: vpadal adds both, vsra adds plane 1 once more.
      uint16x8_t a = vpadalq_u8(vpadalq_u8(lo[h], l0), l1);
      a = vsraq_n_u16(a, vreinterpretq_u16_u8(l0), 8);
      lo[h] = vsraq_n_u16(a, vreinterpretq_u16_u8(l1), 8);
      int16x8_t e = vpadalq_s8(vpadalq_s8(hi[h], h0), h1);
      e = vsraq_n_s16(e, vreinterpretq_s16_s8(h0), 8);
      hi[h] = vsraq_n_s16(e, vreinterpretq_s16_s8(h1), 8);
    }
  }

  // Plane 2 of one quad pair: c its 16 bytes (slot order, halves swapped when `odd`), tq the pair's tables. Adds
  // its int16 sums to T (slots 0-7, 8-15), not yet weighed: zipping a lookup's low bytes with its high bytes gives
  // its int16 entries.
  static void plane2(const uint8_t* c, const uint8_t* tq, int16x8_t T[2], bool odd) {
    const uint8x16_t nib = vdupq_n_u8(0x0F);
    const uint8x16_t v = vld1q_u8(c);
    const uint8x16_t n0 = vandq_u8(v, nib), n1 = vshrq_n_u8(v, 4);
    const uint8x16_t l0 = vqtbl1q_u8(vld1q_u8(tq), n0), h0 = vqtbl1q_u8(vld1q_u8(tq + 32), n0);
    const uint8x16_t l1 = vqtbl1q_u8(vld1q_u8(tq + 64), n1), h1 = vqtbl1q_u8(vld1q_u8(tq + 96), n1);
    const int16x8_t a = vaddq_s16(vreinterpretq_s16_u8(vzip1q_u8(l0, h0)), vreinterpretq_s16_u8(vzip1q_u8(l1, h1)));
    const int16x8_t b = vaddq_s16(vreinterpretq_s16_u8(vzip2q_u8(l0, h0)), vreinterpretq_s16_u8(vzip2q_u8(l1, h1)));
    T[odd ? 1 : 0] = vaddq_s16(T[odd ? 1 : 0], a);
    T[odd ? 0 : 1] = vaddq_s16(T[odd ? 0 : 1], b);
  }
};

// Group-int weights; kBits (2, 3) unrolls the plane loop.
template <int kBits>
struct LutGemvBody {
  using L = LutLookups<>;
  static void run(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables, const float* xd,
                  const float* xg, int64_t tiles, int64_t nb, int gb) {
    const int64_t ng = (nb + gb - 1) / gb;
    for (int64_t t = 0; t < tiles; ++t) {
      const uint8_t* c = codes + t * nb * (64 * kBits);
      const uint16_t* sc = scales + t * ng * 32;
      float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};  // rows 4i..4i+3
      for (int64_t g = 0; g < ng; ++g) {
        float32x4_t ga[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};  // rows 4i..4i+3
        const int64_t b1 = std::min(nb, (g + 1) * gb);
        for (int64_t b = g * gb; b < b1; ++b, c += 64 * kBits) {
          // Planes 0, 1 per half (slots 0-7, 8-15): low bytes (unsigned) and high bytes (signed) of the sums.
          uint16x8_t lo[2] = {vdupq_n_u16(0), vdupq_n_u16(0)};
          int16x8_t hi[2] = {vdupq_n_s16(0), vdupq_n_s16(0)};
          for (int j = 0; j < 4; ++j) L::planes01(c + 32 * j, tables + lut_pair_tables(b, j), lo, hi);
          // Slots 0-3, 4-7, 8-11, 12-15 hold rows 0-3, 8-11, 4-7, 12-15 (lut_slot_of_row).
          int32x4_t S[4];  // rows 4i..4i+3
          S[0] = L::widen(vreinterpretq_s16_u16(lo[0]), hi[0], 0);
          S[2] = L::widen(vreinterpretq_s16_u16(lo[0]), hi[0], 1);
          S[1] = L::widen(vreinterpretq_s16_u16(lo[1]), hi[1], 0);
          S[3] = L::widen(vreinterpretq_s16_u16(lo[1]), hi[1], 1);
          if constexpr (kBits == 3) {  // + 4·plane 2; slots 0-3, 4-7, 8-11, 12-15 hold rows 0-3, 8-11, 4-7, 12-15
            int16x8_t T[2] = {vdupq_n_s16(0), vdupq_n_s16(0)};
            for (int j = 0; j < 4; ++j) L::plane2(c + 128 + 16 * j, tables + lut_pair_tables(b, j), T, j & 1);
            S[0] = vaddq_s32(S[0], vshll_n_s16(vget_low_s16(T[0]), 2));
            S[2] = vaddq_s32(S[2], vshll_n_s16(vget_high_s16(T[0]), 2));
            S[1] = vaddq_s32(S[1], vshll_n_s16(vget_low_s16(T[1]), 2));
            S[3] = vaddq_s32(S[3], vshll_n_s16(vget_high_s16(T[1]), 2));
          }
          const float32x4_t d = vdupq_n_f32(xd[b]);
          for (int i = 0; i < 4; ++i) ga[i] = vfmaq_f32(ga[i], vcvtq_f32_s32(S[i]), d);
        }
        // acc += s·g − s·z·xg.
        const uint16_t* s = sc + g * 32;
        const float32x4_t xs = vdupq_n_f32(xg[g]);
        for (int i = 0; i < 4; ++i) {
          const float32x4_t si = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(s + 4 * i)));
          const float32x4_t zi = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(s + 16 + 4 * i)));
          acc[i] = vfmaq_f32(acc[i], si, ga[i]);
          acc[i] = vfmsq_f32(acc[i], vmulq_f32(si, zi), xs);
        }
      }
      for (int i = 0; i < 4; ++i) vst1q_f32(y + t * 16 + 4 * i, acc[i]);
    }
  }
};

// Q2_K (kBits 2) and Q3_K (kBits 3): per 32-block, each sub-block's sums P (|P| <= 16·7·127, int16, slot order)
// times the rows' integer scales, accumulated in int32 per super-block: the vec_dot's integers, exactly.
template <int kBits>
struct LutGemvKquantBody {
  using L = LutLookups<>;
  static void run(float* y, const uint8_t* codes, const uint8_t* sub, const uint16_t* dq, const uint8_t* tables,
                  const float* xd, const int16_t* bsums, int64_t tiles, int64_t nsb) {
    constexpr int nd = kBits == 2 ? 2 : 1;  // f16 per row and super-block: d (and dmin)
    const int64_t nb = 8 * nsb;
    for (int64_t t = 0; t < tiles; ++t) {
      const uint8_t* c = codes + t * nb * (64 * kBits);
      const uint8_t* sb = sub + t * nb * 32;
      const uint16_t* ds = dq + t * nsb * nd * 16;
      float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};  // rows 4i..4i+3
      for (int64_t s = 0; s < nsb; ++s, ds += nd * 16) {
        const int16_t* bs = bsums + 16 * s;
        int32x4_t si[4], sm[4];  // Σ sc·P and Σ m·bsum, rows 4i..4i+3
        for (int i = 0; i < 4; ++i) si[i] = sm[i] = vdupq_n_s32(0);
        for (int i = 0; i < 8; ++i, c += 64 * kBits, sb += 32) {
          const uint8_t* tq = tables + lut_pair_tables(8 * s + i, 0);  // the block's 8 quad tables
          // The rows' scale bytes: val[0] sub-block A (rows 0-15), val[1] sub-block B.
          const uint8x16x2_t v = vld2q_u8(sb);
          for (int h = 0; h < 2; ++h) {  // sub-block h: quad pairs 2h, 2h + 1
            uint16x8_t lo[2] = {vdupq_n_u16(0), vdupq_n_u16(0)};
            int16x8_t hi[2] = {vdupq_n_s16(0), vdupq_n_s16(0)};
            L::planes01(c + 64 * h, tq + 128 * h, lo, hi);
            L::planes01(c + 64 * h + 32, tq + 128 * h + 16, lo, hi);
            // P per slot half: lo + 256·hi in int16 wraps, but the sum it stands for fits.
            int16x8_t P[2];
            for (int k = 0; k < 2; ++k) P[k] = vaddq_s16(vreinterpretq_s16_u16(lo[k]), vshlq_n_s16(hi[k], 8));
            if constexpr (kBits == 3) {  // − 4·plane 2 (the −4 flags): q = planes01 − 4·plane2
              int16x8_t T[2] = {vdupq_n_s16(0), vdupq_n_s16(0)};
              L::plane2(c + 128 + 32 * h, tq + 128 * h, T, false);
              L::plane2(c + 144 + 32 * h, tq + 128 * h + 16, T, true);
              for (int k = 0; k < 2; ++k) P[k] = vsubq_s16(P[k], vshlq_n_s16(T[k], 2));
            }
            // Scales of rows 0-7 and 8-15; slots 0-3, 4-7, 8-11, 12-15 hold rows 0-3, 8-11, 4-7, 12-15.
            int16x8_t s0, s1;
            if constexpr (kBits == 2) {
              const uint8x16_t sc = vandq_u8(v.val[h], vdupq_n_u8(0x0F));
              s0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(sc)));
              s1 = vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(sc)));
              const uint8x16_t m = vshrq_n_u8(v.val[h], 4);
              const int16x8_t m0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(m)));
              const int16x8_t m1 = vreinterpretq_s16_u16(vmovl_u8(vget_high_u8(m)));
              const int16_t b = bs[2 * i + h];
              sm[0] = vmlal_n_s16(sm[0], vget_low_s16(m0), b);
              sm[1] = vmlal_n_s16(sm[1], vget_high_s16(m0), b);
              sm[2] = vmlal_n_s16(sm[2], vget_low_s16(m1), b);
              sm[3] = vmlal_n_s16(sm[3], vget_high_s16(m1), b);
            } else {
              const int8x16_t sc = vreinterpretq_s8_u8(v.val[h]);
              s0 = vmovl_s8(vget_low_s8(sc));
              s1 = vmovl_s8(vget_high_s8(sc));
            }
            si[0] = vmlal_s16(si[0], vget_low_s16(P[0]), vget_low_s16(s0));
            si[1] = vmlal_s16(si[1], vget_low_s16(P[1]), vget_high_s16(s0));
            si[2] = vmlal_s16(si[2], vget_high_s16(P[0]), vget_low_s16(s1));
            si[3] = vmlal_s16(si[3], vget_high_s16(P[1]), vget_high_s16(s1));
          }
        }
        // acc += xd · (d · sumi − dmin · summ), as vec_dot_q2_k_q8_k.
        const float32x4_t x = vdupq_n_f32(xd[s]);
        for (int i = 0; i < 4; ++i) {
          float32x4_t r = vmulq_f32(vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(ds + 4 * i))), vcvtq_f32_s32(si[i]));
          if constexpr (kBits == 2)
            r = vsubq_f32(r, vmulq_f32(vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(ds + 16 + 4 * i))),
                                       vcvtq_f32_s32(sm[i])));
          acc[i] = vfmaq_f32(acc[i], x, r);
        }
      }
      for (int i = 0; i < 4; ++i) vst1q_f32(y + t * 16 + 4 * i, acc[i]);
    }
  }
};

template <int kUnused = 0>
void lut_gemv_neon(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables, const float* xd,
                   const float* xg, int64_t tiles, int64_t nb, int bits, int gb) {
  if (bits == 2) return LutGemvBody<2>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
  return LutGemvBody<3>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
}

template <int kUnused = 0>
void lut_gemv_kquant_neon(float* y, const uint8_t* codes, const uint8_t* sub, const uint16_t* d,
                          const uint8_t* tables, const float* xd, const int16_t* bsums, int64_t tiles, int64_t nsb,
                          int bits) {
  if (bits == 2) return LutGemvKquantBody<2>::run(y, codes, sub, d, tables, xd, bsums, tiles, nsb);
  return LutGemvKquantBody<3>::run(y, codes, sub, d, tables, xd, bsums, tiles, nsb);
}

}  // namespace edgellm::arm
