// NEON body of the LUT GEMV (layout in kernels/lut_gemv.h), in intrinsics because xsimd 8.1 has no tbl; the neon
// build instantiates it. Not the packing or the tables (kernels/lut_gemv.cpp).
//
// Per 16-byte load: 8 slots × 2 bit planes × 8 codes. Each nibble half indexes a quad's low-byte and high-byte
// tables (vqtbl1q_u8); vpadal adds a slot's two plane bytes into 16 bits and vsra adds the odd (higher) plane once
// more, which weighs the planes 1 and 2. The second plane pair (3-bit codes) has its own accumulator, ×4 at the end.
#pragma once

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>

namespace edgellm::arm {

template <int kPairs>
struct LutGemvBody {
  static void run(float* y, const uint8_t* codes, const float* scales, const uint8_t* tables, const float* xd,
                  const float* xg, int64_t tiles, int64_t nb, int gb) {
    const int64_t ng = (nb + gb - 1) / gb;
    const uint8x16_t nib = vdupq_n_u8(0x0F);
    for (int64_t t = 0; t < tiles; ++t) {
      const uint8_t* c = codes + t * nb * 4 * kPairs * 32;
      const float* sc = scales + t * ng * 32;
      float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};  // rows 4i..4i+3
      for (int64_t g = 0; g < ng; ++g) {
        float32x4_t ga[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};  // slots 4i..4i+3
        const int64_t b1 = std::min(nb, (g + 1) * gb);
        for (int64_t b = g * gb; b < b1; ++b) {
          // [pp][half]: low bytes (unsigned) and high bytes (signed) of the slot sums of 8 slots.
          uint16x8_t lo[kPairs][2];
          int16x8_t hi[kPairs][2];
          for (int pp = 0; pp < kPairs; ++pp)
            for (int h = 0; h < 2; ++h) lo[pp][h] = vdupq_n_u16(0), hi[pp][h] = vdupq_n_s16(0);
          for (int j = 0; j < 4; ++j) {
            const uint8_t* tq = tables + (8 * b + 2 * j) * 32;
            const uint8x16_t tl0 = vld1q_u8(tq), th0 = vld1q_u8(tq + 16), tl1 = vld1q_u8(tq + 32),
                             th1 = vld1q_u8(tq + 48);
            for (int pp = 0; pp < kPairs; ++pp) {
              for (int h = 0; h < 2; ++h) {
                const uint8x16_t v = vld1q_u8(c + 16 * h);
                const uint8x16_t n0 = vandq_u8(v, nib), n1 = vshrq_n_u8(v, 4);
                const uint8x16_t l0 = vqtbl1q_u8(tl0, n0), l1 = vqtbl1q_u8(tl1, n1);
                const int8x16_t h0 = vreinterpretq_s8_u8(vqtbl1q_u8(th0, n0)),
                                h1 = vreinterpretq_s8_u8(vqtbl1q_u8(th1, n1));
                uint16x8_t a = vpadalq_u8(vpadalq_u8(lo[pp][h], l0), l1);
                a = vsraq_n_u16(a, vreinterpretq_u16_u8(l0), 8);
                lo[pp][h] = vsraq_n_u16(a, vreinterpretq_u16_u8(l1), 8);
                int16x8_t e = vpadalq_s8(vpadalq_s8(hi[pp][h], h0), h1);
                e = vsraq_n_s16(e, vreinterpretq_s16_s8(h0), 8);
                hi[pp][h] = vsraq_n_s16(e, vreinterpretq_s16_s8(h1), 8);
              }
              c += 32;
            }
          }
          const float32x4_t d = vdupq_n_f32(xd[b]);
          for (int h = 0; h < 2; ++h) {
            // S = lo + 256·hi, plane pair 1 weighing 4× pair 0; lo stays below 2^15 (8 quads × 255·3).
            int16x8_t l = vreinterpretq_s16_u16(lo[0][h]), e = hi[0][h];
            int32x4_t s_lo = vshlq_n_s32(vmovl_s16(vget_low_s16(e)), 8);
            int32x4_t s_hi = vshlq_n_s32(vmovl_s16(vget_high_s16(e)), 8);
            s_lo = vaddw_s16(s_lo, vget_low_s16(l));
            s_hi = vaddw_s16(s_hi, vget_high_s16(l));
            if constexpr (kPairs == 2) {
              const int16x8_t l2 = vreinterpretq_s16_u16(lo[1][h]), e2 = hi[1][h];
              int32x4_t t_lo = vshlq_n_s32(vmovl_s16(vget_low_s16(e2)), 8);
              int32x4_t t_hi = vshlq_n_s32(vmovl_s16(vget_high_s16(e2)), 8);
              t_lo = vaddw_s16(t_lo, vget_low_s16(l2));
              t_hi = vaddw_s16(t_hi, vget_high_s16(l2));
              s_lo = vaddq_s32(s_lo, vshlq_n_s32(t_lo, 2));
              s_hi = vaddq_s32(s_hi, vshlq_n_s32(t_hi, 2));
            }
            ga[2 * h] = vfmaq_f32(ga[2 * h], vcvtq_f32_s32(s_lo), d);
            ga[2 * h + 1] = vfmaq_f32(ga[2 * h + 1], vcvtq_f32_s32(s_hi), d);
          }
        }
        // Slots 0-3, 4-7, 8-11, 12-15 hold rows 0-3, 8-11, 4-7, 12-15 (lut_slot_of_row).
        const float* s = sc + g * 32;
        const float32x4_t xs = vdupq_n_f32(xg[g]);
        constexpr int kRowOfSlotQuad[4] = {0, 2, 1, 3};
        for (int i = 0; i < 4; ++i) {
          const int rq = kRowOfSlotQuad[i];
          acc[rq] = vfmaq_f32(acc[rq], vld1q_f32(s + 4 * rq), ga[i]);
          acc[rq] = vfmsq_f32(acc[rq], vld1q_f32(s + 16 + 4 * rq), xs);
        }
      }
      for (int i = 0; i < 4; ++i) vst1q_f32(y + t * 16 + 4 * i, acc[i]);
    }
  }
};

template <int kUnused = 0>
void lut_gemv_neon(float* y, const uint8_t* codes, const float* scales, const uint8_t* tables, const float* xd,
                   const float* xg, int64_t tiles, int64_t nb, int pairs, int gb) {
  if (pairs == 1) return LutGemvBody<1>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
  return LutGemvBody<2>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
}

}  // namespace edgellm::arm
