// AVX2+FMA build of the basic ops, plus F16C conversions. Compiled with -mavx2 -mfma -mf16c only.
#include <immintrin.h>

#include "kernels/simd/fill_basic.h"
#include "runtime/dtype.h"

namespace edgellm::detail {
namespace {

void f16_to_f32_f16c(float* y, const uint16_t* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  for (; i < n; ++i) y[i] = _cvtsh_ss(x[i]);
}
void f32_to_f16_f16c(uint16_t* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

void bf16_to_f32_avx2(float* y, const uint16_t* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    _mm256_storeu_ps(y + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
  }
  for (; i < n; ++i) y[i] = bf16_to_f32(x[i]);
}
// Round-to-nearest-even on the low 16 bits; NaNs are kept quiet, as the scalar reference does.
void f32_to_bf16_avx2(uint16_t* y, const float* x, int64_t n) {
  int64_t i = 0;
  const __m256i lsb_mask = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff);
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  const __m256i quiet = _mm256_set1_epi32(0x400000);
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_castps_si256(_mm256_loadu_ps(x + i));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(v, 16), lsb_mask);
    __m256i r = _mm256_add_epi32(v, _mm256_add_epi32(bias, lsb));
    const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(v, abs_mask), inf);
    r = _mm256_blendv_epi8(r, _mm256_or_si256(v, quiet), is_nan);
    r = _mm256_srli_epi32(r, 16);
    const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), packed);
  }
  for (; i < n; ++i) y[i] = f32_to_bf16(x[i]);
}

}  // namespace

void fill_avx2(KernelTable& t) {
  simd::fill_basic_ops<xsimd::fma3<xsimd::avx2>>(t, "avx2");
  EDGELLM_SET_KERNEL(t, f16_to_f32, f16_to_f32_f16c, "avx2");
  EDGELLM_SET_KERNEL(t, f32_to_f16, f32_to_f16_f16c, "avx2");
  EDGELLM_SET_KERNEL(t, bf16_to_f32, bf16_to_f32_avx2, "avx2");
  EDGELLM_SET_KERNEL(t, f32_to_bf16, f32_to_bf16_avx2, "avx2");
}

}  // namespace edgellm::detail
