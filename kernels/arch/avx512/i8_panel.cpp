// AVX-512 VNNI 8-bit panel micro-kernel (kernel_table.h: i8_panel_ukernel): MR = 6 activation rows x 32 weight
// columns (two zmm of 16), vpdpbusd of 4 unsigned weight bytes x 4 signed activation bytes per lane. Per block of
// kb = 4·G elements: G x 12 vpdpbusd, then each of the 12 integer sums is converted, scaled by dw[j]·dx[i] and added to
// its float accumulator (12 int + 12 float accumulators in registers). G = 8 (32-element blocks) or 4 (Q6_K's 16).
#include "kernels/ref/i8_panel.h"

#include <immintrin.h>

#include "kernels/kernel_table.h"

namespace edgellm::detail {
namespace {

constexpr int kMR = 6;

template <int M, bool kMin, int G>
void tile(int64_t nb, const int8_t* x, int64_t ldx, const float* dx, const int32_t* corr, const float* dsx, int64_t ldd,
          const uint8_t* u, const float* wd, const float* wm, float* c, int64_t ldc, int64_t n) {
  __m512 acc[M][2];
  for (int i = 0; i < M; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m512i s[M][2];
    for (int i = 0; i < M; ++i) s[i][0] = s[i][1] = _mm512_set1_epi32(corr[i * ldd + b]);
    const uint8_t* ub = u + b * G * kI8PanelCols * 4;
    const int8_t* xb = x + b * G * 4;
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      const __m512i w0 = _mm512_loadu_si512(ub + g * 128), w1 = _mm512_loadu_si512(ub + g * 128 + 64);
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        int32_t q;
        __builtin_memcpy(&q, xb + i * ldx + g * 4, 4);
        const __m512i xv = _mm512_set1_epi32(q);
        s[i][0] = _mm512_dpbusd_epi32(s[i][0], w0, xv);
        s[i][1] = _mm512_dpbusd_epi32(s[i][1], w1, xv);
      }
    }
    const __m512 d0 = _mm512_loadu_ps(wd + b * kI8PanelCols), d1 = _mm512_loadu_ps(wd + b * kI8PanelCols + 16);
    for (int i = 0; i < M; ++i) {
      const __m512 di = _mm512_set1_ps(dx[i * ldd + b]);
      acc[i][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[i][0]), _mm512_mul_ps(d0, di), acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[i][1]), _mm512_mul_ps(d1, di), acc[i][1]);
    }
    if constexpr (kMin) {
      const __m512 m0 = _mm512_loadu_ps(wm + b * kI8PanelCols), m1 = _mm512_loadu_ps(wm + b * kI8PanelCols + 16);
      for (int i = 0; i < M; ++i) {
        const __m512 si = _mm512_set1_ps(dsx[i * ldd + b]);
        acc[i][0] = _mm512_fmadd_ps(m0, si, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(m1, si, acc[i][1]);
      }
    }
  }
  if (n == kI8PanelCols) {
    for (int i = 0; i < M; ++i) {
      _mm512_storeu_ps(c + i * ldc, acc[i][0]);
      _mm512_storeu_ps(c + i * ldc + 16, acc[i][1]);
    }
    return;
  }
  const __mmask16 m0 = n >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << n) - 1);
  const __mmask16 m1 = n <= 16 ? 0 : static_cast<__mmask16>((1u << (n - 16)) - 1);
  for (int i = 0; i < M; ++i) {
    _mm512_mask_storeu_ps(c + i * ldc, m0, acc[i][0]);
    _mm512_mask_storeu_ps(c + i * ldc + 16, m1, acc[i][1]);
  }
}

template <bool kMin, int G>
void rows(int64_t nb, const int8_t* x, int64_t ldx, const float* dx, const int32_t* corr, const float* dsx, int64_t ldd,
          const uint8_t* u, const float* wd, const float* wm, float* c, int64_t ldc, int64_t m, int64_t n) {
  switch (m) {
    case 6:
      return tile<6, kMin, G>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, n);
    case 5:
      return tile<5, kMin, G>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, n);
    case 4:
      return tile<4, kMin, G>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, n);
    case 3:
      return tile<3, kMin, G>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, n);
    case 2:
      return tile<2, kMin, G>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, n);
    default:
      return tile<1, kMin, G>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, n);
  }
}

void ukernel(int64_t nb, int64_t kb, int /*code_bits*/, const int8_t* x, int64_t ldx, const float* dx,
             const int32_t* corr, const float* dsx, int64_t ldd, const uint8_t* u, const float* wd, const float* wm,
             float* c, int64_t ldc, int64_t m, int64_t n) {
  if (kb == 16) {
    if (wm) return rows<true, 4>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
    return rows<false, 4>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
  }
  if (wm) return rows<true, 8>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
  rows<false, 8>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
}

}  // namespace

void fill_avx512_i8_panel(KernelTable& t) {
  EDGELLM_SET_KERNEL(t, i8_panel_ukernel, ukernel, "avx512vnni");
  t.i8_panel_mr = kMR;
  t.i8_panel_signed_codes = false;  // vpdpbusd reads the codes unsigned (the AVX2 entries it replaces read them signed)
}

}  // namespace edgellm::detail
