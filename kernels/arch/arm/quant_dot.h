// AArch64 integer dots of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K against 8-bit activations, shared by
// arch/neon_dotprod (sdot) and arch/neon (vmull + pairwise add); included ONLY from those folders.
// Anonymous namespace: each ISA build keeps its own copy. Q2_K/Q3_K stay scalar on ARM.
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/quant/blocks.h"
#include "runtime/dtype.h"

namespace edgellm::armq {
namespace {
using namespace edgellm::quant;

// IEEE half -> float by the FPU (fcvt is base AArch64, no +fp16 needed): runtime/dtype.h's portable f16_to_f32 is
// about 14 instructions with branches, and at two per 32-element block it was a third of the Q4_0 GEMV's
// instructions under qemu's count (bench/RESULTS.md, instructions per token).
inline float h2f(uint16_t h) {
  __fp16 v;
  std::memcpy(&v, &h, 2);
  return static_cast<float>(v);
}

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
// kFrac: the codes come scaled by 2^kFrac, undone for free in the int -> float convert (to_f32).
// Q4_0's codes are 16·(q − 8): q ^ 8 is q − 8 in 4-bit two's complement, so that nibble at the top of a byte reads
// as (q − 8)·16 in int8; one eor, then shl / and, in place of and, ushr and two subtracts. Sums stay exact.
// The GEMV (legacy_gemv_rows) reads codes through gemv_codes, with kZero subtracted once per block for all its rows:
// Q4_0's unsigned nibbles there (and, ushr), the −8·Σx coming from two dots of x shared by every row.
struct Q4_0A {
  using W = block_q4_0;
  using A = block_q8_0;
  static constexpr bool kMin = false;
  static constexpr int kFrac = 4, kZero = 8;
  static void codes(const W& b, int8x16_t* lo, int8x16_t* hi) {
    const uint8x16_t v = veorq_u8(vld1q_u8(b.qs), vdupq_n_u8(0x88));
    *lo = vreinterpretq_s8_u8(vshlq_n_u8(v, 4));
    *hi = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0xF0)));
  }
  static void gemv_codes(const W& b, int8x16_t* lo, int8x16_t* hi) {
    const uint8x16_t v = vld1q_u8(b.qs);
    *lo = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F)));
    *hi = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
  }
};
struct Q4_1A {
  static constexpr int kFrac = 0;
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
  static constexpr int kFrac = 0, kZero = 0;
  using W = block_q8_0;
  using A = block_q8_0;
  static constexpr bool kMin = false;
  static void codes(const W& b, int8x16_t* lo, int8x16_t* hi) {
    *lo = vld1q_s8(b.qs);
    *hi = vld1q_s8(b.qs + 16);
  }
  static void gemv_codes(const W& b, int8x16_t* lo, int8x16_t* hi) { codes(b, lo, hi); }
};

// 16 bits of qh (from bit `first`) -> 16 bytes of 0x10 (bit set) or 0.
inline uint8x16_t high_bits16(uint32_t qh, int first) {
  const uint32_t b = qh >> first;
  const uint8x16_t v = vcombine_u8(vdup_n_u8(static_cast<uint8_t>(b & 0xFF)), vdup_n_u8(static_cast<uint8_t>((b >> 8) & 0xFF)));
  static const uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  return vandq_u8(vtstq_u8(v, vld1q_u8(kBit)), vdupq_n_u8(0x10));
}
struct Q5_0A {
  static constexpr int kFrac = 0;
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
  static constexpr int kFrac = 0;
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

template <int F>
inline float32x4_t to_f32(int32x4_t p) {
  if constexpr (F > 0) return vcvtq_n_f32_s32(p, F);
  return vcvtq_f32_s32(p);
}

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
      acc = vmlaq_n_f32(acc, to_f32<T::kFrac>(p), h2f(wb[i].d) * h2f(xb[i].d));
      if constexpr (T::kMin) msum += h2f(wb[i].m) * h2f(xb[i].s);
    }
    s[r * ss] = vaddvq_f32(acc) + msum;
  }
}

// GEMV (one activation row a) over R = 4, 8 or 16 adjacent weight rows, ws bytes apart, into s[0..R): each activation
// block is loaded (and Q4_0's −8·Σx formed) once for the R rows; each four rows' integer dots are reduced to one
// vector (lane c = row c) so one convert and one multiply-add by the four rows' scales serve them. Row by row, the
// per-block convert, scale and accumulate were as many instructions as the dot itself. 16 rows keep every pointer in
// a register (one spill) with GCC 12; the 1.1B Q4_0 decode counted 376 M instructions per token with 8, 361 M with 16.
template <class T, bool kDot, int R>
void legacy_gemv_rows(float* s, const uint8_t* w, int64_t ws, const typename T::A* a, int64_t nb) {
  static_assert(!T::kMin && R % 4 == 0, "no Q8_1 minimum term; whole groups of four rows");
  using W = typename T::W;
  // Each row's own pointer, advanced one block per step by the scale's lane load itself (post-index by a register:
  // GCC 12 forms no post-indexed lane loads from intrinsics, and spent an address add per row and block on them,
  // 0.75 of the 10.4 instructions per row and block); the codes are read at a fixed offset before it moves.
  const int64_t step = sizeof(W);
  const uint8_t* wr[R];
  for (int c = 0; c < R; ++c) wr[c] = w + c * ws;
  float32x4_t acc[R / 4];
  for (auto& v : acc) v = vdupq_n_f32(0.0f);
  for (int64_t i = 0; i < nb; ++i) {
    const int8x16_t x0 = vld1q_s8(a[i].qs), x1 = vld1q_s8(a[i].qs + 16);
    int32x4_t init = vdupq_n_s32(0);  // every row's sum starts at −kZero·Σx (its lanes sum to that)
    if constexpr (T::kZero != 0) {
      const int8x16_t mz = vdupq_n_s8(static_cast<int8_t>(-T::kZero));
      init = dot16<kDot>(dot16<kDot>(init, x0, mz), x1, mz);
    }
    const float dx = h2f(a[i].d);
    auto dot = [&](const uint8_t* b) {
      int8x16_t lo, hi;
      T::gemv_codes(*reinterpret_cast<const W*>(b), &lo, &hi);
      return dot16<kDot>(dot16<kDot>(init, lo, x0), hi, x1);
    };
    for (int g = 0; g < R / 4; ++g) {
      const uint8_t** r = wr + 4 * g;
      const int32x4_t p = vpaddq_s32(vpaddq_s32(dot(r[0]), dot(r[1])), vpaddq_s32(dot(r[2]), dot(r[3])));
      uint16x4_t dh;  // the four rows' f16 scales (each block's first field)
      asm("ld1r {%0.4h}, [%1], %2" : "=w"(dh), "+r"(r[0]) : "r"(step));
      asm("ld1 {%0.h}[1], [%1], %2" : "+w"(dh), "+r"(r[1]) : "r"(step));
      asm("ld1 {%0.h}[2], [%1], %2" : "+w"(dh), "+r"(r[2]) : "r"(step));
      asm("ld1 {%0.h}[3], [%1], %2" : "+w"(dh), "+r"(r[3]) : "r"(step));
      acc[g] = vfmaq_f32(acc[g], vcvtq_f32_s32(p), vmulq_n_f32(vcvt_f32_f16(vreinterpret_f16_u16(dh)), dx));
    }
  }
  for (int g = 0; g < R / 4; ++g) vst1q_f32(s + 4 * g, acc[g]);
}

// vec_dot entry of the signed legacy formats (Q4_0, Q8_0): fewer than 4 activation rows take the GEMV above, 16, 8
// and then 4 weight rows at a time (the rest one by one); more go weight row by weight row through legacy_dot. The
// x86 twin is x86q::legacy_gemv_or_dot.
template <class T, bool kDot>
void legacy_gemv_or_dot(float* s, int64_t ss, const void* w, int64_t ws, int64_t nw, const void* x, int64_t xs,
                        int64_t nx, int64_t K) {
  const auto* wb = static_cast<const uint8_t*>(w);
  if (nx >= 4) {
    for (int64_t c = 0; c < nw; ++c) legacy_dot<T, kDot>(s + c, ss, wb + c * ws, x, xs, nx, K);
    return;
  }
  const int64_t nb = K / QK;
  for (int64_t r = 0; r < nx; ++r) {
    const auto* a = reinterpret_cast<const typename T::A*>(static_cast<const uint8_t*>(x) + r * xs);
    int64_t c = 0;
    for (; c + 16 <= nw; c += 16) legacy_gemv_rows<T, kDot, 16>(s + r * ss + c, wb + c * ws, ws, a, nb);
    for (; c + 8 <= nw; c += 8) legacy_gemv_rows<T, kDot, 8>(s + r * ss + c, wb + c * ws, ws, a, nb);
    for (; c + 4 <= nw; c += 4) legacy_gemv_rows<T, kDot, 4>(s + r * ss + c, wb + c * ws, ws, a, nb);
    for (; c < nw; ++c) legacy_dot<T, kDot>(s + r * ss + c, ss, wb + c * ws, a, xs, 1, K);
  }
}

// ---- K-quants against Q8_K: integer sum per super-block, then one float multiply-add ------------
// The integer dot of each 16- or 32-element group stays an int32x4 of partial sums; a tree of pairwise adds turns
// the groups' vectors into vectors of group sums (lane g = group g), weighted by the scales in one vector multiply.
// Scalar scale decoding and a horizontal add per group were half the instructions (bench/RESULTS.md).

// Four int32x4 partial-sum vectors -> one vector of their four totals.
inline int32x4_t sum4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

// Q4_K / Q5_K's twelve scale bytes (get_scale_min_k4's packing), four at a time: the eight 6-bit scales as int32
// (sub-blocks 0-3 and 4-7) and the eight mins as int16.
inline void k45_scales(const uint8_t* scales, int32x4_t* sc03, int32x4_t* sc47, int16x8_t* mins) {
  uint32_t u[3];
  std::memcpy(u, scales, 12);
  const uint32_t sc_lo = u[0] & 0x3f3f3f3f, m_lo = u[1] & 0x3f3f3f3f;
  const uint32_t sc_hi = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
  const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
  const uint16x8_t sc = vmovl_u8(vcreate_u8(sc_lo | (uint64_t{sc_hi} << 32)));
  *sc03 = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(sc)));
  *sc47 = vreinterpretq_s32_u32(vmovl_high_u16(sc));
  *mins = vreinterpretq_s16_u16(vmovl_u8(vcreate_u8(m_lo | (uint64_t{m_hi} << 32))));
}

// Q4_K / Q5_K: sub-block j = 2g + h covers elements 64g + 32h + l, nibble h of qs[32g + l] (Q5_K: plus bit j of
// qh[l] as bit 4). The mins term is Σ_j m_j · (sum of x over sub-block j), from the activation's 16-element bsums.
// k45_block: one super-block of one weight row against xq (its 256 int8) and bs (the activation's sub-block sums):
// *vi's lanes sum to Σ_j sc_j · (codes · x over sub-block j), *vm's to Σ_j m_j · Σx_j.
template <bool kQ5, bool kDot>
inline void k45_block(const uint8_t* qs, const uint8_t* scales, const uint8_t* qh, const int8_t* xq, int16x8_t bs,
                      int32x4_t* vi, int32x4_t* vm) {
  const uint8x16_t m4 = vdupq_n_u8(0x0F);
  int32x4_t sc03, sc47;
  int16x8_t mins;
  k45_scales(scales, &sc03, &sc47, &mins);
  int32x4_t p[8];
  for (int g = 0; g < 4; ++g) {
    // Multi-register loads (ld1 of 2 and 4 vectors): one instruction each where separate loads were 2 and 4.
    const uint8x16x2_t qq = vld1q_u8_x2(qs + 32 * g);
    const int8x16x4_t xv = vld1q_s8_x4(xq + 64 * g);
    const uint8x16_t q0 = qq.val[0], q1 = qq.val[1];
    uint8x16_t lo0 = vandq_u8(q0, m4), lo1 = vandq_u8(q1, m4), hi0 = vshrq_n_u8(q0, 4), hi1 = vshrq_n_u8(q1, 4);
    if constexpr (kQ5) {  // bit j of qh[l] -> bit 4: shift left by 4 − j (right for j > 4)
      const uint8x16_t h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16), b4 = vdupq_n_u8(0x10);
      const int8x16_t s_lo = vdupq_n_s8(static_cast<int8_t>(4 - 2 * g));
      const int8x16_t s_hi = vdupq_n_s8(static_cast<int8_t>(3 - 2 * g));
      lo0 = vorrq_u8(lo0, vandq_u8(vshlq_u8(h0, s_lo), b4));
      lo1 = vorrq_u8(lo1, vandq_u8(vshlq_u8(h1, s_lo), b4));
      hi0 = vorrq_u8(hi0, vandq_u8(vshlq_u8(h0, s_hi), b4));
      hi1 = vorrq_u8(hi1, vandq_u8(vshlq_u8(h1, s_hi), b4));
    }
    p[2 * g] = dot16<kDot>(dot16<kDot>(vdupq_n_s32(0), vreinterpretq_s8_u8(lo0), xv.val[0]),
                           vreinterpretq_s8_u8(lo1), xv.val[1]);
    p[2 * g + 1] = dot16<kDot>(dot16<kDot>(vdupq_n_s32(0), vreinterpretq_s8_u8(hi0), xv.val[2]),
                               vreinterpretq_s8_u8(hi1), xv.val[3]);
  }
  *vi = vmlaq_s32(vmulq_s32(sum4(p[0], p[1], p[2], p[3]), sc03), sum4(p[4], p[5], p[6], p[7]), sc47);
  *vm = vmlal_high_s16(vmull_s16(vget_low_s16(bs), vget_low_s16(mins)), bs, mins);
}

// The activation's bsums as one sum per 32-element sub-block.
inline int16x8_t k45_bsums(const block_q8_K& a) {
  return vpaddq_s16(vld1q_s16(a.bsums), vld1q_s16(a.bsums + 8));
}

template <bool kQ5>
using k45_block_t = std::conditional_t<kQ5, block_q5_K, block_q4_K>;

template <bool kQ5, bool kDot>
void k45_dot(float* s, int64_t ss, const void* w, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const int64_t nb = K / QK_K;
  const auto* wb = static_cast<const k45_block_t<kQ5>*>(w);
  for (int64_t r = 0; r < nx; ++r) {
    const auto* xb = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(x) + r * xs);
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
      const auto& b = wb[i];
      const uint8_t* qh = nullptr;
      if constexpr (kQ5) qh = b.qh;
      int32x4_t vi, vm;
      k45_block<kQ5, kDot>(b.qs, b.scales, qh, xb[i].qs, k45_bsums(xb[i]), &vi, &vm);
      const float si = static_cast<float>(vaddvq_s32(vi)), sm = static_cast<float>(vaddvq_s32(vm));
      sum += xb[i].d * (h2f(b.d) * si - h2f(b.dmin) * sm);
    }
    s[r * ss] = sum;
  }
}

// GEMV (one activation row a) over four adjacent Q4_K / Q5_K weight rows, ws bytes apart, into s[0..3]: pairwise adds
// put the four rows' integer sums in the lanes of one vector (and their mins terms in another), so two converts and
// two multiply-adds by the four rows' d and dmin (one 32-bit load per row: d and dmin are adjacent) serve the
// super-block, and the activation's bsums and scale are read once for the four. Row by row, the horizontal adds and
// the scalar float tail were a tenth of the instructions. The sums are exact; only the float rounding order differs.
template <bool kQ5, bool kDot>
void k45_gemv4(float* s, const uint8_t* w, int64_t ws, const block_q8_K* a, int64_t nb) {
  using B = k45_block_t<kQ5>;
  const B* wr[4];
  for (int c = 0; c < 4; ++c) wr[c] = reinterpret_cast<const B*>(w + c * ws);
  float32x4_t acc = vdupq_n_f32(0.0f);
  for (int64_t i = 0; i < nb; ++i) {
    const int16x8_t bs = k45_bsums(a[i]);
    int32x4_t vi[4], vm[4];
    for (int c = 0; c < 4; ++c) {
      const B& b = wr[c][i];
      const uint8_t* qh = nullptr;
      if constexpr (kQ5) qh = b.qh;
      k45_block<kQ5, kDot>(b.qs, b.scales, qh, a[i].qs, bs, &vi[c], &vm[c]);
    }
    // Lane c: row c's d (low half) and dmin (high half). ld1 of one lane needs no alignment.
    auto dmin_d = [&](int c) { return reinterpret_cast<const uint32_t*>(&wr[c][i].d); };
    uint32x4_t dd = vld1q_dup_u32(dmin_d(0));
    dd = vld1q_lane_u32(dmin_d(1), dd, 1);
    dd = vld1q_lane_u32(dmin_d(2), dd, 2);
    dd = vld1q_lane_u32(dmin_d(3), dd, 3);
    const uint16x8_t h = vreinterpretq_u16_u32(dd);
    const float32x4_t d = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(vuzp1q_u16(h, h))));
    const float32x4_t dmin = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(vuzp2q_u16(h, h))));
    const float32x4_t fi = vcvtq_f32_s32(sum4(vi[0], vi[1], vi[2], vi[3]));
    const float32x4_t fm = vcvtq_f32_s32(sum4(vm[0], vm[1], vm[2], vm[3]));
    acc = vfmaq_n_f32(acc, vfmsq_f32(vmulq_f32(fi, d), fm, dmin), a[i].d);
  }
  vst1q_f32(s, acc);
}

// vec_dot entry of Q4_K / Q5_K: fewer than 4 activation rows take the four-row GEMV above (the rest of the weight
// rows one by one); more go weight row by weight row through k45_dot.
template <bool kQ5, bool kDot>
void k45_gemv_or_dot(float* s, int64_t ss, const void* w, int64_t ws, int64_t nw, const void* x, int64_t xs,
                     int64_t nx, int64_t K) {
  const auto* wb = static_cast<const uint8_t*>(w);
  if (nx >= 4) {
    for (int64_t c = 0; c < nw; ++c) k45_dot<kQ5, kDot>(s + c, ss, wb + c * ws, x, xs, nx, K);
    return;
  }
  const int64_t nb = K / QK_K;
  for (int64_t r = 0; r < nx; ++r) {
    const auto* a = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(x) + r * xs);
    int64_t c = 0;
    for (; c + 4 <= nw; c += 4) k45_gemv4<kQ5, kDot>(s + r * ss + c, wb + c * ws, ws, a, nb);
    for (; c < nw; ++c) k45_dot<kQ5, kDot>(s + r * ss + c, ss, wb + c * ws, a, xs, 1, K);
  }
}

// Q6_K: half h, quarter c: elements 128h + 32c + l; low nibble from ql[64h + 32(c&1) + l] (shift 4 if
// c >= 2), 2 high bits from qh[32h + l] at 2c. The codes q stay unsigned (0..63); the − 32 comes once per
// super-block as 32 · Σ_g scale_g · (sum of x over group g), from the activation's bsums.
template <bool kDot>
void k6_dot(float* s, int64_t ss, const void* w, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const int64_t nb = K / QK_K;
  const auto* wb = static_cast<const block_q6_K*>(w);
  const uint8x16_t m4 = vdupq_n_u8(0x0F), m30 = vdupq_n_u8(0x30);
  for (int64_t r = 0; r < nx; ++r) {
    const auto* xb = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(x) + r * xs);
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; ++i) {
      const block_q6_K& b = wb[i];
      int32x4_t p[16];  // group g = e / 16 = 8h + 2c + half
      for (int h = 0; h < 2; ++h) {
        const uint8x16x2_t qh = vld1q_u8_x2(b.qh + 32 * h);
        const uint8x16x4_t ql = vld1q_u8_x4(b.ql + 64 * h);
        const int8x16x4_t xv[2] = {vld1q_s8_x4(xb[i].qs + 128 * h), vld1q_s8_x4(xb[i].qs + 128 * h + 64)};
        for (int c = 0; c < 4; ++c)
          for (int half = 0; half < 2; ++half) {  // 16 elements = one scale group
            const uint8x16_t l = ql.val[2 * (c & 1) + half];
            const uint8x16_t lo = c >= 2 ? vshrq_n_u8(l, 4) : vandq_u8(l, m4);
            const uint8x16_t hb = vandq_u8(vshlq_u8(qh.val[half], vdupq_n_s8(static_cast<int8_t>(4 - 2 * c))), m30);
            const int v = 2 * c + half;  // x vector 16·v within the half
            p[8 * h + v] = dot16<kDot>(vdupq_n_s32(0), vreinterpretq_s8_u8(vorrq_u8(lo, hb)), xv[v / 4].val[v % 4]);
          }
      }
      const int8x16_t sc8 = vld1q_s8(b.scales);
      const int16x8_t sc_lo = vmovl_s8(vget_low_s8(sc8)), sc_hi = vmovl_high_s8(sc8);
      int32x4_t acc = vmulq_s32(sum4(p[0], p[1], p[2], p[3]), vmovl_s16(vget_low_s16(sc_lo)));
      acc = vmlaq_s32(acc, sum4(p[4], p[5], p[6], p[7]), vmovl_high_s16(sc_lo));
      acc = vmlaq_s32(acc, sum4(p[8], p[9], p[10], p[11]), vmovl_s16(vget_low_s16(sc_hi)));
      acc = vmlaq_s32(acc, sum4(p[12], p[13], p[14], p[15]), vmovl_high_s16(sc_hi));
      const int16x8_t bs0 = vld1q_s16(xb[i].bsums), bs1 = vld1q_s16(xb[i].bsums + 8);
      int32x4_t corr = vmull_s16(vget_low_s16(bs0), vget_low_s16(sc_lo));
      corr = vmlal_high_s16(corr, bs0, sc_lo);
      corr = vmlal_s16(corr, vget_low_s16(bs1), vget_low_s16(sc_hi));
      corr = vmlal_high_s16(corr, bs1, sc_hi);
      const int32_t sumi = vaddvq_s32(vsubq_s32(acc, vshlq_n_s32(corr, 5)));
      sum += xb[i].d * h2f(b.d) * static_cast<float>(sumi);
    }
    s[r * ss] = sum;
  }
}

}  // namespace
}  // namespace edgellm::armq
