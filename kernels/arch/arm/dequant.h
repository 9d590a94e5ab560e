// NEON dequantizers of Q4_0, Q8_0, Q4_K and Q6_K rows to f32 (linear_forward's dequantized tiles for
// M >= 32) and the Q8_0 / Q8_K activation quantizers. Included ONLY from arch/neon (neon_dotprod inherits the
// entries). Other formats stay scalar.
#pragma once

#include <arm_neon.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/quant/blocks.h"
#include "kernels/ref/quant.h"
#include "runtime/dtype.h"

namespace edgellm::armq {
namespace {
using namespace edgellm::quant;

// 16 int8 codes -> 16 floats at y times d.
inline void store16_i8(float* y, int8x16_t q, float d) {
  const int16x8_t a = vmovl_s8(vget_low_s8(q)), b = vmovl_high_s8(q);
  vst1q_f32(y, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(a))), d));
  vst1q_f32(y + 4, vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(a)), d));
  vst1q_f32(y + 8, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(b))), d));
  vst1q_f32(y + 12, vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(b)), d));
}
// 16 unsigned codes -> 16 floats at y: ds * q - dm.
inline void store16_affine_u8(float* y, uint8x16_t q, float ds, float dm) {
  const uint16x8_t a = vmovl_u8(vget_low_u8(q)), b = vmovl_high_u8(q);
  const float32x4_t vm = vdupq_n_f32(dm);
  vst1q_f32(y, vsubq_f32(vmulq_n_f32(vcvtq_f32_u32(vmovl_u16(vget_low_u16(a))), ds), vm));
  vst1q_f32(y + 4, vsubq_f32(vmulq_n_f32(vcvtq_f32_u32(vmovl_high_u16(a)), ds), vm));
  vst1q_f32(y + 8, vsubq_f32(vmulq_n_f32(vcvtq_f32_u32(vmovl_u16(vget_low_u16(b))), ds), vm));
  vst1q_f32(y + 12, vsubq_f32(vmulq_n_f32(vcvtq_f32_u32(vmovl_high_u16(b)), ds), vm));
}

void dequant_q4_0_neon(float* y, const void* vx, int64_t n) {
  if (n % QK != 0) return ref::dequantize_row_q4_0(y, vx, n);  // throws, naming the row
  const auto* b = static_cast<const block_q4_0*>(vx);
  for (int64_t i = 0; i < n / QK; ++i, y += QK) {
    const uint8x16_t v = vld1q_u8(b[i].qs);
    const float d = f16_to_f32(b[i].d);
    store16_i8(y, vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F))), vdupq_n_s8(8)), d);
    store16_i8(y + 16, vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), vdupq_n_s8(8)), d);
  }
}

void dequant_q8_0_neon(float* y, const void* vx, int64_t n) {
  if (n % QK != 0) return ref::dequantize_row_q8_0(y, vx, n);  // throws, naming the row
  const auto* b = static_cast<const block_q8_0*>(vx);
  for (int64_t i = 0; i < n / QK; ++i, y += QK) {
    const float d = f16_to_f32(b[i].d);
    store16_i8(y, vld1q_s8(b[i].qs), d);
    store16_i8(y + 16, vld1q_s8(b[i].qs + 16), d);
  }
}

void dequant_q4_k_neon(float* y, const void* vx, int64_t n) {
  if (n % QK_K != 0) return ref::dequantize_row_q4_k(y, vx, n);  // throws, naming the row
  const auto* b = static_cast<const block_q4_K*>(vx);
  for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int g = 0; g < 4; ++g) {
      const uint8x16_t r0 = vld1q_u8(b[i].qs + 32 * g), r1 = vld1q_u8(b[i].qs + 32 * g + 16);
      for (int h = 0; h < 2; ++h) {
        uint8_t sc, m;
        get_scale_min_k4(2 * g + h, b[i].scales, &sc, &m);
        const float ds = d * static_cast<float>(sc), dm = dmin * static_cast<float>(m);
        const uint8x16_t q0 = h ? vshrq_n_u8(r0, 4) : vandq_u8(r0, vdupq_n_u8(0x0F));
        const uint8x16_t q1 = h ? vshrq_n_u8(r1, 4) : vandq_u8(r1, vdupq_n_u8(0x0F));
        store16_affine_u8(y + 64 * g + 32 * h, q0, ds, dm);
        store16_affine_u8(y + 64 * g + 32 * h + 16, q1, ds, dm);
      }
    }
  }
}

void dequant_q6_k_neon(float* y, const void* vx, int64_t n) {
  if (n % QK_K != 0) return ref::dequantize_row_q6_k(y, vx, n);  // throws, naming the row
  const auto* b = static_cast<const block_q6_K*>(vx);
  const uint8x16_t low4 = vdupq_n_u8(0x0F), three = vdupq_n_u8(3);
  for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = f16_to_f32(b[i].d);
    for (int h = 0; h < 2; ++h)
      for (int half = 0; half < 2; ++half) {  // elements l = 16*half .. 16*half+15 of each quarter
        const uint8x16_t l0 = vld1q_u8(b[i].ql + 64 * h + 16 * half);
        const uint8x16_t l1 = vld1q_u8(b[i].ql + 64 * h + 32 + 16 * half);
        const uint8x16_t hb = vld1q_u8(b[i].qh + 32 * h + 16 * half);
        const uint8x16_t lo[4] = {vandq_u8(l0, low4), vandq_u8(l1, low4), vshrq_n_u8(l0, 4), vshrq_n_u8(l1, 4)};
        const uint8x16_t hi[4] = {vandq_u8(hb, three), vandq_u8(vshrq_n_u8(hb, 2), three),
                                  vandq_u8(vshrq_n_u8(hb, 4), three), vshrq_n_u8(hb, 6)};
        for (int c = 0; c < 4; ++c) {
          const int8x16_t q = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(lo[c], vshlq_n_u8(hi[c], 4))), vdupq_n_s8(32));
          const float ds = d * static_cast<float>(b[i].scales[8 * h + 2 * c + half]);
          store16_i8(y + 128 * h + 32 * c + 16 * half, q, ds);
        }
      }
  }
}

// ---- activation quantizers, byte-identical to the scalar references ---------------------------------------------
// (The ref's per-element roundf / lrintf calls were ~1.5% of a decode step's instructions under qemu's count.)

// 32 int32 lanes (8 vectors) -> 32 int8, saturating (the values are already within int8).
inline void store32_i8(int8_t* y, const int32x4_t* q) {
  for (int k = 0; k < 2; ++k) {
    const int16x8_t a = vcombine_s16(vqmovn_s32(q[4 * k]), vqmovn_s32(q[4 * k + 1]));
    const int16x8_t b = vcombine_s16(vqmovn_s32(q[4 * k + 2]), vqmovn_s32(q[4 * k + 3]));
    vst1q_s8(y + 16 * k, vcombine_s8(vqmovn_s16(a), vqmovn_s16(b)));
  }
}

// Q8_0 as ref::quantize_row_q8_0_ref: d = amax / 127 rounded to f16 (fcvt: nearest even, as f32_to_f16),
// q = roundf(x / d) (fcvtas: nearest, ties away from zero, as roundf).
void quantize_q8_0_neon(void* vy, const float* x, int64_t n) {
  if (n % QK != 0) return ref::quantize_row_q8_0_ref(vy, x, n);  // throws, naming the row
  auto* y = static_cast<block_q8_0*>(vy);
  for (int64_t i = 0; i < n / QK; ++i, x += QK) {
    float32x4_t v[8], amax = vdupq_n_f32(0.0f);
    for (int k = 0; k < 8; ++k) {
      v[k] = vld1q_f32(x + 4 * k);
      amax = vmaxnmq_f32(amax, vabsq_f32(v[k]));  // maxNum: NaNs are passed over, as std::max(amax, NaN) does
    }
    const float d = vmaxnmvq_f32(amax) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const __fp16 dh = static_cast<__fp16>(d);
    std::memcpy(&y[i].d, &dh, 2);
    int32x4_t q[8];
    for (int k = 0; k < 8; ++k) q[k] = vcvtaq_s32_f32(vmulq_n_f32(v[k], id));
    store32_i8(y[i].qs, q);
  }
}

// Q8_K as ref::quantize_row_q8_k_ref: scale −127 / (the signed value of largest magnitude, the first one wins),
// codes rounded half to even (fcvtns, lrintf's mode) and capped at 127, bsums per 16.
void quantize_q8_k_neon(void* vy, const float* x, int64_t n) {
  if (n % QK_K != 0) return ref::quantize_row_q8_k_ref(vy, x, n);  // throws, naming the row
  auto* y = static_cast<block_q8_K*>(vy);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float32x4_t amax = vdupq_n_f32(0.0f);
    for (int k = 0; k < QK_K / 4; ++k) amax = vmaxnmq_f32(amax, vabsq_f32(vld1q_f32(x + 4 * k)));
    const float a = vmaxnmvq_f32(amax);  // maxNum: NaNs are passed over, as the reference's strict > does
    std::memset(&y[i], 0, sizeof(block_q8_K));
    if (!(a > 0.0f)) continue;  // all zero (or all NaN): the reference's amax stays 0
    int j = 0;  // the first element of that magnitude, found four at a time
    while (vmaxvq_u32(vceqq_f32(vabsq_f32(vld1q_f32(x + j)), vdupq_n_f32(a))) == 0) j += 4;
    while (std::fabs(x[j]) != a) ++j;
    const float iscale = -127.0f / x[j];
    for (int k = 0; k < QK_K / 32; ++k) {
      int32x4_t q[8];
      for (int m = 0; m < 8; ++m)
        q[m] = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + 32 * k + 4 * m), iscale)), vdupq_n_s32(127));
      store32_i8(y[i].qs + 32 * k, q);
    }
    for (int g = 0; g < 16; ++g) y[i].bsums[g] = vaddlvq_s8(vld1q_s8(y[i].qs + 16 * g));
    y[i].d = 1.0f / iscale;
  }
}

}  // namespace
}  // namespace edgellm::armq
