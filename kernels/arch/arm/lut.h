// NEON body of the LUT GEMV (layout in kernels/lut_gemv.h), in intrinsics because xsimd 8.1 has no tbl; the neon
// build instantiates it. Not the packing or the tables (kernels/lut_gemv.cpp).
//
// Planes 0 and 1, per 16-byte load: 8 slots × 2 planes × 8 codes. Each nibble half indexes a quad's low-byte and
// high-byte tables (vqtbl1q_u8); vpadal adds a slot's two plane bytes into 16 bits and vsra adds plane 1 once more,
// which weighs the planes 1 and 2. Plane 2 (3-bit codes) splits even and odd bytes (rows 0-7, 8-15), ×4 at the end.
#pragma once

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>

namespace edgellm::arm {

template <int kBits>
struct LutGemvBody {
  // int32 sums lo + 256·hi of the 4 int16 lanes of (lo, hi) from `half` (0: lanes 0-3, 1: lanes 4-7).
  static int32x4_t widen(int16x8_t lo, int16x8_t hi, int half) {
    const int16x4_t l = half ? vget_high_s16(lo) : vget_low_s16(lo), h = half ? vget_high_s16(hi) : vget_low_s16(hi);
    return vaddw_s16(vshlq_n_s32(vmovl_s16(h), 8), l);
  }

  static void run(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables, const float* xd,
                  const float* xg, int64_t tiles, int64_t nb, int gb) {
    const int64_t ng = (nb + gb - 1) / gb;
    const uint8x16_t nib = vdupq_n_u8(0x0F);
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
          for (int j = 0; j < 4; ++j) {
            const uint8_t* tq = tables + (8 * b + 2 * j) * 32;
            const uint8x16_t tl0 = vld1q_u8(tq), th0 = vld1q_u8(tq + 16), tl1 = vld1q_u8(tq + 32),
                             th1 = vld1q_u8(tq + 48);
            for (int h = 0; h < 2; ++h) {
              const uint8x16_t v = vld1q_u8(c + 32 * j + 16 * h);
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
          // Slots 0-3, 4-7, 8-11, 12-15 hold rows 0-3, 8-11, 4-7, 12-15 (lut_slot_of_row).
          int32x4_t S[4];  // rows 4i..4i+3
          S[0] = widen(vreinterpretq_s16_u16(lo[0]), hi[0], 0);
          S[2] = widen(vreinterpretq_s16_u16(lo[0]), hi[0], 1);
          S[1] = widen(vreinterpretq_s16_u16(lo[1]), hi[1], 0);
          S[3] = widen(vreinterpretq_s16_u16(lo[1]), hi[1], 1);
          if constexpr (kBits == 3) {
            // Plane 2: 16 bytes per quad pair j, byte 2i row i, byte 2i+1 row 8+i.
            uint16x8_t elo = vdupq_n_u16(0), olo = elo;
            int16x8_t ehi = vdupq_n_s16(0), ohi = ehi;
            for (int j = 0; j < 4; ++j) {
              const uint8_t* tq = tables + (8 * b + 2 * j) * 32;
              const uint8x16_t v = vld1q_u8(c + 128 + 16 * j);
              const uint8x16_t n0 = vandq_u8(v, nib), n1 = vshrq_n_u8(v, 4);
              const uint16x8_t l0 = vreinterpretq_u16_u8(vqtbl1q_u8(vld1q_u8(tq), n0));
              const uint16x8_t l1 = vreinterpretq_u16_u8(vqtbl1q_u8(vld1q_u8(tq + 32), n1));
              const int16x8_t h0 = vreinterpretq_s16_u8(vqtbl1q_u8(vld1q_u8(tq + 16), n0));
              const int16x8_t h1 = vreinterpretq_s16_u8(vqtbl1q_u8(vld1q_u8(tq + 48), n1));
              const uint16x8_t low = vdupq_n_u16(0xFF);
              elo = vaddq_u16(elo, vaddq_u16(vandq_u16(l0, low), vandq_u16(l1, low)));
              olo = vsraq_n_u16(vsraq_n_u16(olo, l0, 8), l1, 8);
              ehi = vsraq_n_s16(vsraq_n_s16(ehi, vshlq_n_s16(h0, 8), 8), vshlq_n_s16(h1, 8), 8);
              ohi = vsraq_n_s16(vsraq_n_s16(ohi, h0, 8), h1, 8);
            }
            S[0] = vaddq_s32(S[0], vshlq_n_s32(widen(vreinterpretq_s16_u16(elo), ehi, 0), 2));
            S[1] = vaddq_s32(S[1], vshlq_n_s32(widen(vreinterpretq_s16_u16(elo), ehi, 1), 2));
            S[2] = vaddq_s32(S[2], vshlq_n_s32(widen(vreinterpretq_s16_u16(olo), ohi, 0), 2));
            S[3] = vaddq_s32(S[3], vshlq_n_s32(widen(vreinterpretq_s16_u16(olo), ohi, 1), 2));
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

template <int kUnused = 0>
void lut_gemv_neon(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables, const float* xd,
                   const float* xg, int64_t tiles, int64_t nb, int bits, int gb) {
  if (bits == 2) return LutGemvBody<2>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
  return LutGemvBody<3>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
}

}  // namespace edgellm::arm
