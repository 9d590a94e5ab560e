// AArch64 integer dots of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K against 8-bit activations, shared by
// arch/neon_dotprod (sdot) and arch/neon (vmull + pairwise add); included ONLY from those folders.
// Anonymous namespace: each ISA build keeps its own copy. Q2_K/Q3_K stay scalar on ARM.
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "kernels/quant/blocks.h"
#include "runtime/dtype.h"

namespace edgellm::armq {
namespace {
using namespace edgellm::quant;

// acc + 4 lanes of sums of 4 adjacent int8 products.
template <bool kDot>
inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
  if constexpr (kDot) {
    return vdotq_s32(acc, a, b);
  } else {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
  }
}

// ---- legacy 32-blocks: codes as two int8x16 (elements 0..15, 16..31) ----------------------------
struct Q4_0A {
  using W = block_q4_0;
  using A = block_q8_0;
  static constexpr bool kMin = false;
  static void codes(const W& b, int8x16_t* lo, int8x16_t* hi) {
    const uint8x16_t v = vld1q_u8(b.qs);
    *lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F))), vdupq_n_s8(8));
    *hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), vdupq_n_s8(8));
  }
};
struct Q4_1A {
  using W = block_q4_1;
  using A = block_q8_1;
  static constexpr bool kMin = true;
  static void codes(const W& b, int8x16_t* lo, int8x16_t* hi) {
    const uint8x16_t v = vld1q_u8(b.qs);
    *lo = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F)));
    *hi = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
  }
};
struct Q8_0A {
  using W = block_q8_0;
  using A = block_q8_0;
  static constexpr bool kMin = false;
  static void codes(const W& b, int8x16_t* lo, int8x16_t* hi) {
    *lo = vld1q_s8(b.qs);
    *hi = vld1q_s8(b.qs + 16);
  }
};

// 16 bits of qh (from bit `first`) -> 16 bytes of 0x10 (bit set) or 0.
inline uint8x16_t high_bits16(uint32_t qh, int first) {
  const uint32_t b = qh >> first;
  const uint8x16_t v = vcombine_u8(vdup_n_u8(static_cast<uint8_t>(b & 0xFF)), vdup_n_u8(static_cast<uint8_t>((b >> 8) & 0xFF)));
  static const uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  return vandq_u8(vtstq_u8(v, vld1q_u8(kBit)), vdupq_n_u8(0x10));
}
struct Q5_0A {
  using W = block_q5_0;
  using A = block_q8_0;
  static constexpr bool kMin = false;
  static void codes(const W& b, int8x16_t* lo, int8x16_t* hi) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    const uint8x16_t v = vld1q_u8(b.qs);
    *lo = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vandq_u8(v, vdupq_n_u8(0x0F)), high_bits16(qh, 0))), vdupq_n_s8(16));
    *hi = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(v, 4), high_bits16(qh, 16))), vdupq_n_s8(16));
  }
};
struct Q5_1A {
  using W = block_q5_1;
  using A = block_q8_1;
  static constexpr bool kMin = true;
  static void codes(const W& b, int8x16_t* lo, int8x16_t* hi) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    const uint8x16_t v = vld1q_u8(b.qs);
    *lo = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(v, vdupq_n_u8(0x0F)), high_bits16(qh, 0)));
    *hi = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(v, 4), high_bits16(qh, 16)));
  }
};

template <class T, bool kDot>
void legacy_dot(float* s, int64_t ss, const void* w, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* wb = static_cast<const typename T::W*>(w);
  const int64_t nb = K / QK;
  for (int64_t r = 0; r < nx; ++r) {
    const auto* xb = reinterpret_cast<const typename T::A*>(static_cast<const uint8_t*>(x) + r * xs);
    float32x4_t acc = vdupq_n_f32(0.0f);
    float msum = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
      int8x16_t lo, hi;
      T::codes(wb[i], &lo, &hi);
      int32x4_t p = dot16<kDot>(vdupq_n_s32(0), lo, vld1q_s8(xb[i].qs));
      p = dot16<kDot>(p, hi, vld1q_s8(xb[i].qs + 16));
      acc = vmlaq_n_f32(acc, vcvtq_f32_s32(p), f16_to_f32(wb[i].d) * f16_to_f32(xb[i].d));
      if constexpr (T::kMin) msum += f16_to_f32(wb[i].m) * f16_to_f32(xb[i].s);
    }
    s[r * ss] = vaddvq_f32(acc) + msum;
  }
}

// ---- K-quants against Q8_K: integer sum per super-block, then one float multiply-add ------------
// Q4_K / Q5_K: sub-block j = 2g + h covers elements 64g + 32h + l, nibble h of qs[32g + l].
template <bool kQ5, bool kDot>
void k45_dot(float* s, int64_t ss, const void* w, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const int64_t nb = K / QK_K;
  for (int64_t r = 0; r < nx; ++r) {
    const auto* xb = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(x) + r * xs);
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
      const uint8_t *qs, *scales, *qh = nullptr;
      uint16_t d16, dmin16;
      if constexpr (kQ5) {
        const auto& b = static_cast<const block_q5_K*>(w)[i];
        qs = b.qs, scales = b.scales, qh = b.qh, d16 = b.d, dmin16 = b.dmin;
      } else {
        const auto& b = static_cast<const block_q4_K*>(w)[i];
        qs = b.qs, scales = b.scales, d16 = b.d, dmin16 = b.dmin;
      }
      int sumi = 0, summ = 0;
      for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        get_scale_min_k4(j, scales, &sc, &m);
        const int g = j / 2, h = j % 2;
        uint8x16_t q0 = vld1q_u8(qs + 32 * g), q1 = vld1q_u8(qs + 32 * g + 16);
        if (h) {
          q0 = vshrq_n_u8(q0, 4);
          q1 = vshrq_n_u8(q1, 4);
        } else {
          q0 = vandq_u8(q0, vdupq_n_u8(0x0F));
          q1 = vandq_u8(q1, vdupq_n_u8(0x0F));
        }
        if constexpr (kQ5) {
          const int8x16_t sh = vdupq_n_s8(static_cast<int8_t>(-j));  // bit j of qh[l] -> bit 4
          const uint8x16_t one = vdupq_n_u8(1);
          q0 = vorrq_u8(q0, vshlq_n_u8(vandq_u8(vshlq_u8(vld1q_u8(qh), sh), one), 4));
          q1 = vorrq_u8(q1, vshlq_n_u8(vandq_u8(vshlq_u8(vld1q_u8(qh + 16), sh), one), 4));
        }
        int32x4_t p = dot16<kDot>(vdupq_n_s32(0), vreinterpretq_s8_u8(q0), vld1q_s8(xb[i].qs + 32 * j));
        p = dot16<kDot>(p, vreinterpretq_s8_u8(q1), vld1q_s8(xb[i].qs + 32 * j + 16));
        sumi += sc * vaddvq_s32(p);
        summ += m * (xb[i].bsums[2 * j] + xb[i].bsums[2 * j + 1]);
      }
      sum += xb[i].d * (f16_to_f32(d16) * static_cast<float>(sumi) - f16_to_f32(dmin16) * static_cast<float>(summ));
    }
    s[r * ss] = sum;
  }
}

// Q6_K: half h, quarter c: elements 128h + 32c + l; low nibble from ql[64h + 32(c&1) + l] (shift 4 if
// c >= 2), 2 high bits from qh[32h + l] at 2c; code - 32 is a signed int8 in [-32, 31].
template <bool kDot>
void k6_dot(float* s, int64_t ss, const void* w, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const int64_t nb = K / QK_K;
  const auto* wb = static_cast<const block_q6_K*>(w);
  for (int64_t r = 0; r < nx; ++r) {
    const auto* xb = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(x) + r * xs);
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
      const block_q6_K& b = wb[i];
      int sumi = 0;
      for (int h = 0; h < 2; ++h)
        for (int c = 0; c < 4; ++c)
          for (int half = 0; half < 2; ++half) {  // 16 elements = one scale group
            const int l0 = 16 * half;
            uint8x16_t lo = vld1q_u8(b.ql + 64 * h + 32 * (c & 1) + l0);
            lo = c >= 2 ? vshrq_n_u8(lo, 4) : vandq_u8(lo, vdupq_n_u8(0x0F));
            const uint8x16_t hb = vandq_u8(vshlq_u8(vld1q_u8(b.qh + 32 * h + l0), vdupq_n_s8(static_cast<int8_t>(-2 * c))), vdupq_n_u8(3));
            const int8x16_t q = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(lo, vshlq_n_u8(hb, 4))), vdupq_n_s8(32));
            const int e0 = 128 * h + 32 * c + l0;
            const int32x4_t p = dot16<kDot>(vdupq_n_s32(0), q, vld1q_s8(xb[i].qs + e0));
            sumi += b.scales[e0 / 16] * vaddvq_s32(p);
          }
      sum += xb[i].d * f16_to_f32(b.d) * static_cast<float>(sumi);
    }
    s[r * ss] = sum;
  }
}

}  // namespace
}  // namespace edgellm::armq
