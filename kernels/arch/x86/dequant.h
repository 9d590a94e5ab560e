// AVX2 dequantizers of Q4_0, Q8_0, Q4_K and Q6_K rows to f32 (the M >= 32 path of linear_forward
// dequantizes weight tiles for the f32 GEMM), and the Q8_0 activation quantizer (every GEMV call runs it).
// Included ONLY from arch/avx2; AVX-512 inherits them. Not here: the other formats (scalar reference).
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/quant/blocks.h"
#include "kernels/ref/quant.h"

namespace edgellm::x86q {
namespace {
using namespace edgellm::quant;

// 32 int8 codes -> 32 floats at y, each times the broadcast scale d (lo: elements 0..15, hi: 16..31).
inline void store_scaled_i8(float* y, __m256i q, __m256 dlo, __m256 dhi) {
  const __m128i a = _mm256_castsi256_si128(q), b = _mm256_extracti128_si256(q, 1);
  _mm256_storeu_ps(y, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(a)), dlo));
  _mm256_storeu_ps(y + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(a, 8))), dlo));
  _mm256_storeu_ps(y + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b)), dhi));
  _mm256_storeu_ps(y + 24, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8))), dhi));
}

void dequant_q4_0_avx2(float* y, const void* vx, int64_t n) {
  if (n % QK != 0) return ref::dequantize_row_q4_0(y, vx, n);  // throws, naming the row
  const auto* b = static_cast<const block_q4_0*>(vx);
  const __m256i low4 = _mm256_set1_epi8(0x0F), eight = _mm256_set1_epi8(8);
  for (int64_t i = 0; i < n / QK; ++i, y += QK) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].qs));
    const __m256i q = _mm256_sub_epi8(_mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), low4), eight);
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(b[i].d));
    store_scaled_i8(y, q, d, d);
  }
}

void dequant_q8_0_avx2(float* y, const void* vx, int64_t n) {
  if (n % QK != 0) return ref::dequantize_row_q8_0(y, vx, n);  // throws, naming the row
  const auto* b = static_cast<const block_q8_0*>(vx);
  for (int64_t i = 0; i < n / QK; ++i, y += QK) {
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(b[i].d));
    store_scaled_i8(y, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs)), d, d);
  }
}

// y = ds * q - dm for 32 unsigned codes (0..15).
inline void store_affine_u4(float* y, __m256i q, __m256 ds, __m256 dm) {
  const __m128i a = _mm256_castsi256_si128(q), b = _mm256_extracti128_si256(q, 1);
  const __m128i parts[4] = {a, _mm_srli_si128(a, 8), b, _mm_srli_si128(b, 8)};
  for (int k = 0; k < 4; ++k) {
    const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(parts[k]));
    _mm256_storeu_ps(y + 8 * k, _mm256_sub_ps(_mm256_mul_ps(ds, f), dm));
  }
}

void dequant_q4_k_avx2(float* y, const void* vx, int64_t n) {
  if (n % QK_K != 0) return ref::dequantize_row_q4_k(y, vx, n);  // throws, naming the row
  const auto* b = static_cast<const block_q4_K*>(vx);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = _cvtsh_ss(b[i].d), dmin = _cvtsh_ss(b[i].dmin);
    for (int g = 0; g < 4; ++g) {  // sub-blocks 2g (low nibbles) and 2g+1 (high nibbles) of qs[32g..]
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs + 32 * g));
      for (int h = 0; h < 2; ++h) {
        uint8_t sc, m;
        get_scale_min_k4(2 * g + h, b[i].scales, &sc, &m);
        const __m256i q = _mm256_and_si256(h ? _mm256_srli_epi16(raw, 4) : raw, low4);
        store_affine_u4(y + 64 * g + 32 * h, q, _mm256_set1_ps(d * static_cast<float>(sc)),
                        _mm256_set1_ps(dmin * static_cast<float>(m)));
      }
    }
  }
}

void dequant_q6_k_avx2(float* y, const void* vx, int64_t n) {
  if (n % QK_K != 0) return ref::dequantize_row_q6_k(y, vx, n);  // throws, naming the row
  const auto* b = static_cast<const block_q6_K*>(vx);
  const __m256i low4 = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3), off = _mm256_set1_epi8(32);
  for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = _cvtsh_ss(b[i].d);
    for (int h = 0; h < 2; ++h) {
      const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].ql + 64 * h));
      const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].ql + 64 * h + 32));
      const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qh + 32 * h));
      const __m256i lo[4] = {_mm256_and_si256(l0, low4), _mm256_and_si256(l1, low4),
                             _mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                             _mm256_and_si256(_mm256_srli_epi16(l1, 4), low4)};
      for (int c = 0; c < 4; ++c) {
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * c), three);
        const __m256i q = _mm256_sub_epi8(_mm256_or_si256(lo[c], _mm256_slli_epi16(hi, 4)), off);
        const int s = 8 * h + 2 * c;  // scale of elements 0..15 of this quarter; s + 1 for 16..31
        store_scaled_i8(y + 128 * h + 32 * c, q, _mm256_set1_ps(d * static_cast<float>(b[i].scales[s])),
                        _mm256_set1_ps(d * static_cast<float>(b[i].scales[s + 1])));
      }
    }
  }
}

// Q8_0 activation blocks, byte-identical to ref::quantize_row_q8_0_ref: d = amax / 127 rounded to f16,
// q = roundf(x / d) (half away from zero: truncate, then step by the sign where |fraction| >= 0.5).
void quantize_q8_0_avx2(void* vy, const float* x, int64_t n) {
  if (n % QK != 0) return ref::quantize_row_q8_0_ref(vy, x, n);  // throws, naming the row
  auto* y = static_cast<block_q8_0*>(vy);
  const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  for (int64_t i = 0; i < n / QK; ++i, x += QK) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + 8 * k);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float d = _mm_cvtss_f32(m4) / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = static_cast<uint16_t>(_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(d), _MM_FROUND_TO_NEAREST_INT), 0));
    __m256i q32[4];
    for (int k = 0; k < 4; ++k) {
      const __m256 s = _mm256_mul_ps(v[k], _mm256_set1_ps(id));
      const __m256 t = _mm256_round_ps(s, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m256 away = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(s, t)), half, _CMP_GE_OQ);
      const __m256 step = _mm256_and_ps(away, _mm256_or_ps(one, _mm256_and_ps(sign, s)));  // +-1 where rounding away
      q32[k] = _mm256_cvttps_epi32(_mm256_add_ps(t, step));
    }
    // int32 -> int8 with the lane order restored (packs work per 128-bit lane).
    const __m256i p16a = _mm256_packs_epi32(q32[0], q32[1]), p16b = _mm256_packs_epi32(q32[2], q32[3]);
    const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    const __m256i ord = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs), ord);
  }
}

// Q8_K (the K-quants' activations), byte-equal to quantize_row_q8_k_ref: the scale is -127 / (the signed value
// of largest magnitude, first one wins), codes rounded half to even (lrintf's mode) and capped at 127, bsums per
// 16. The scalar reference's lrintf per element was ~1% of a Q4_K decode step, run while the other thread waits.
void quantize_q8_k_avx2(void* vy, const float* x, int64_t n) {
  if (n % QK_K != 0) return ref::quantize_row_q8_k_ref(vy, x, n);  // throws, naming the row
  auto* y = static_cast<block_q8_K*>(vy);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < QK_K / 8; ++k) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float a = _mm_cvtss_f32(m4);
    std::memset(&y[i], 0, sizeof(block_q8_K));
    if (a == 0.0f) continue;
    float max = 0.0f;  // the first element of that magnitude, with its sign (the reference's strict >)
    for (int j = 0; j < QK_K; ++j)
      if (std::fabs(x[j]) == a) {
        max = x[j];
        break;
      }
    const float iscale = -127.0f / max;
    const __m256 vs = _mm256_set1_ps(iscale), cap = _mm256_set1_ps(127.0f);
    for (int k = 0; k < QK_K / 32; ++k) {
      __m256i q32[4];
      for (int m = 0; m < 4; ++m) {
        const __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * k + 8 * m), vs),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        q32[m] = _mm256_cvtps_epi32(_mm256_min_ps(r, cap));
      }
      const __m256i p8 = _mm256_packs_epi16(_mm256_packs_epi32(q32[0], q32[1]), _mm256_packs_epi32(q32[2], q32[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + 32 * k),
                          _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += y[i].qs[16 * g + l];
      y[i].bsums[g] = static_cast<int16_t>(s);
    }
    y[i].d = 1.0f / iscale;
  }
}

}  // namespace
}  // namespace edgellm::x86q
