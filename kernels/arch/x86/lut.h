// x86 body of the LUT GEMV (layout in kernels/lut_gemv.h), in AVX2 intrinsics because xsimd 8.1 has no byte
// shuffle or maddubs; the avx2 and avx512 builds instantiate it. Not the packing or the tables (kernels/lut_gemv.cpp).
//
// Per 32-byte load: 16 rows × 2 bit planes × 8 codes. Each nibble half indexes a quad's low-byte and high-byte
// tables (vpshufb, the table broadcast to both 128-bit lanes); maddubs weighs a row's two planes 2^p and sums
// them into int16, so a block of 32 codes costs 4·pairs loads, 8·pairs shuffles and 8·pairs maddubs per 16 rows.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace edgellm::x86 {

// Templated on the plane-pair count so the inner loop unrolls; a template so each arch build keeps its own copy.
template <int kPairs>
struct LutGemvBody {
  static void run(float* y, const uint8_t* codes, const float* scales, const uint8_t* tables, const float* xd,
                  const float* xg, int64_t tiles, int64_t nb, int gb) {
    const int64_t ng = (nb + gb - 1) / gb;
    const __m256i nib = _mm256_set1_epi8(0x0F);
    // Plane weights 2^p for the byte pairs (plane 2pp, plane 2pp+1) of a row.
    const __m256i wp0 = _mm256_set1_epi16(0x0201), wp1 = _mm256_set1_epi16(0x0804);
    const __m256i lohi = _mm256_set1_epi32((256 << 16) | 1);  // int16 pairs (lo, hi) -> lo + 256·hi
    for (int64_t t = 0; t < tiles; ++t) {
      const uint8_t* c = codes + t * nb * 4 * kPairs * 32;
      const float* sc = scales + t * ng * 32;
      __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  // rows 0-7, 8-15
      for (int64_t g = 0; g < ng; ++g) {
        __m256 g0 = _mm256_setzero_ps(), g1 = _mm256_setzero_ps();
        const int64_t b1 = std::min(nb, (g + 1) * gb);
        for (int64_t b = g * gb; b < b1; ++b) {
          // Low bytes (unsigned) and high bytes (signed) of the int16 sums, per slot: bounded by 8 quads ×
          // 255·(1+2+4+8) = 30600 and 8 × 2·15, so int16 holds a whole block.
          __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
          for (int j = 0; j < 4; ++j) {
            const uint8_t* tq = tables + (8 * b + 2 * j) * 32;
            const __m256i tl0 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tq)));
            const __m256i th0 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tq + 16)));
            const __m256i tl1 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tq + 32)));
            const __m256i th1 = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tq + 48)));
            for (int pp = 0; pp < kPairs; ++pp) {
              const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c));
              c += 32;
              const __m256i n0 = _mm256_and_si256(v, nib), n1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
              const __m256i w = pp == 0 ? wp0 : wp1;
              lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(_mm256_shuffle_epi8(tl0, n0), w));
              lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(_mm256_shuffle_epi8(tl1, n1), w));
              hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(w, _mm256_shuffle_epi8(th0, n0)));
              hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(w, _mm256_shuffle_epi8(th1, n1)));
            }
          }
          // unpacklo takes slots 0-3 and 8-11 (rows 0-7), unpackhi slots 4-7 and 12-15 (rows 8-15).
          const __m256i s0 = _mm256_madd_epi16(_mm256_unpacklo_epi16(lo, hi), lohi);
          const __m256i s1 = _mm256_madd_epi16(_mm256_unpackhi_epi16(lo, hi), lohi);
          const __m256 d = _mm256_set1_ps(xd[b]);
          g0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s0), d, g0);
          g1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1), d, g1);
        }
        const float* s = sc + g * 32;
        const __m256 xs = _mm256_set1_ps(xg[g]);
        acc0 = _mm256_fnmadd_ps(_mm256_loadu_ps(s + 16), xs, _mm256_fmadd_ps(_mm256_loadu_ps(s), g0, acc0));
        acc1 = _mm256_fnmadd_ps(_mm256_loadu_ps(s + 24), xs, _mm256_fmadd_ps(_mm256_loadu_ps(s + 8), g1, acc1));
      }
      _mm256_storeu_ps(y + t * 16, acc0);
      _mm256_storeu_ps(y + t * 16 + 8, acc1);
    }
  }
};

template <int kUnused = 0>
void lut_gemv_avx2(float* y, const uint8_t* codes, const float* scales, const uint8_t* tables, const float* xd,
                   const float* xg, int64_t tiles, int64_t nb, int pairs, int gb) {
  if (pairs == 1) return LutGemvBody<1>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
  return LutGemvBody<2>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
}

}  // namespace edgellm::x86
