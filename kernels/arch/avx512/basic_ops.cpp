// AVX-512 (F/BW/DQ/VL) build of the basic ops. Compiled with the avx512 folder's flags only.
#include <immintrin.h>

#include "kernels/simd/fill_basic.h"

namespace edgellm::detail {
namespace {

void f16_to_f32_avx512(float* y, const uint16_t* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)));
  }
}
void f32_to_f16_avx512(uint16_t* y, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm256_mask_storeu_epi16(y + i, m,
                             _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
}

}  // namespace

void fill_avx512(KernelTable& t) {
  simd::fill_basic_ops<xsimd::avx512bw>(t, "avx512");
  EDGELLM_SET_KERNEL(t, f16_to_f32, f16_to_f32_avx512, "avx512");
  EDGELLM_SET_KERNEL(t, f32_to_f16, f32_to_f16_avx512, "avx512");
}

}  // namespace edgellm::detail
