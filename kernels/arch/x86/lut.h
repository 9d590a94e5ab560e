// x86 body of the LUT GEMV (layout in kernels/lut_gemv.h), in AVX2 intrinsics because xsimd 8.1 has no byte
// shuffle or maddubs; the avx2 and avx512 builds instantiate it. Not the packing or the tables (kernels/lut_gemv.cpp).
//
// Planes 0 and 1, per 32-byte load: 16 rows × 2 planes × 8 codes. Each nibble half indexes a quad's low-byte and
// high-byte tables (vpshufb, the table broadcast to both 128-bit lanes); maddubs weighs a row's two planes 1 and 2
// and sums them into int16: a block of 32 codes of 16 rows costs 4 loads, 16 shuffles and 16 maddubs. Plane 2
// (3-bit codes) adds 2 loads, 8 shuffles and 16 maddubs.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace edgellm::x86 {

// A template so each arch build keeps its own copy; kBits (2, 3) unrolls the plane loop.
template <int kBits>
struct LutGemvBody {
  static __m256i bcast(const uint8_t* p) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static __m256i two(const uint8_t* lane0, const uint8_t* lane1) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lane0))),
                                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(lane1)), 1);
  }
  static __m256 f16x8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

  static void run(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables, const float* xd,
                  const float* xg, int64_t tiles, int64_t nb, int gb) {
    const int64_t ng = (nb + gb - 1) / gb;
    const __m256i nib = _mm256_set1_epi8(0x0F);
    const __m256i wp = _mm256_set1_epi16(0x0201);  // planes 0, 1 of a row: weights 1, 2
    const __m256i we = _mm256_set1_epi16(0x0004), wo = _mm256_set1_epi16(0x0400);  // plane 2: even / odd byte, 4
    const __m256i lohi = _mm256_set1_epi32((256 << 16) | 1);  // int16 pairs (lo, hi) -> lo + 256·hi
    for (int64_t t = 0; t < tiles; ++t) {
      const uint8_t* c = codes + t * nb * (64 * kBits);
      const uint16_t* sc = scales + t * ng * 32;
      __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  // rows 0-7, 8-15
      for (int64_t g = 0; g < ng; ++g) {
        __m256 g0 = _mm256_setzero_ps(), g1 = _mm256_setzero_ps();
        const int64_t b1 = std::min(nb, (g + 1) * gb);
        for (int64_t b = g * gb; b < b1; ++b, c += 64 * kBits) {
          // Planes 0, 1: low bytes (unsigned) and high bytes (signed) of the int16 sums, per slot; bounded by
          // 8 quads × 255·3 and 8 × 2·3, so int16 holds a whole block.
          __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
          for (int j = 0; j < 4; ++j) {
            const uint8_t* tq = tables + (8 * b + 2 * j) * 32;
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + 32 * j));
            const __m256i n0 = _mm256_and_si256(v, nib), n1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
            lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(_mm256_shuffle_epi8(bcast(tq), n0), wp));
            lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(_mm256_shuffle_epi8(bcast(tq + 32), n1), wp));
            hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(wp, _mm256_shuffle_epi8(bcast(tq + 16), n0)));
            hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(wp, _mm256_shuffle_epi8(bcast(tq + 48), n1)));
          }
          // unpacklo takes slots 0-3 and 8-11 (rows 0-7), unpackhi slots 4-7 and 12-15 (rows 8-15).
          __m256i s0 = _mm256_madd_epi16(_mm256_unpacklo_epi16(lo, hi), lohi);
          __m256i s1 = _mm256_madd_epi16(_mm256_unpackhi_epi16(lo, hi), lohi);
          if constexpr (kBits == 3) {
            // Plane 2: two quad pairs per load, one per 128-bit lane, each lane with its own tables; even bytes
            // are rows 0-7, odd bytes rows 8-15, split (and weighed 4) by maddubs against (4, 0) and (0, 4).
            __m256i elo = _mm256_setzero_si256(), olo = elo, ehi = elo, ohi = elo;
            for (int h = 0; h < 2; ++h) {
              const uint8_t* tq = tables + (8 * b + 4 * h) * 32;  // lane 0: quads 4h, 4h+1; lane 1: 4h+2, 4h+3
              const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + 128 + 32 * h));
              const __m256i n0 = _mm256_and_si256(v, nib), n1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
              const __m256i l0 = _mm256_shuffle_epi8(two(tq, tq + 64), n0);
              const __m256i l1 = _mm256_shuffle_epi8(two(tq + 32, tq + 96), n1);
              const __m256i h0 = _mm256_shuffle_epi8(two(tq + 16, tq + 80), n0);
              const __m256i h1 = _mm256_shuffle_epi8(two(tq + 48, tq + 112), n1);
              elo = _mm256_add_epi16(elo, _mm256_add_epi16(_mm256_maddubs_epi16(l0, we), _mm256_maddubs_epi16(l1, we)));
              olo = _mm256_add_epi16(olo, _mm256_add_epi16(_mm256_maddubs_epi16(l0, wo), _mm256_maddubs_epi16(l1, wo)));
              ehi = _mm256_add_epi16(ehi, _mm256_add_epi16(_mm256_maddubs_epi16(we, h0), _mm256_maddubs_epi16(we, h1)));
              ohi = _mm256_add_epi16(ohi, _mm256_add_epi16(_mm256_maddubs_epi16(wo, h0), _mm256_maddubs_epi16(wo, h1)));
            }
            auto fold = [](__m256i a) {  // the two lanes hold the same rows: add them, widen to int32
              return _mm256_cvtepi16_epi32(_mm_add_epi16(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1)));
            };
            s0 = _mm256_add_epi32(s0, _mm256_add_epi32(fold(elo), _mm256_slli_epi32(fold(ehi), 8)));
            s1 = _mm256_add_epi32(s1, _mm256_add_epi32(fold(olo), _mm256_slli_epi32(fold(ohi), 8)));
          }
          const __m256 d = _mm256_set1_ps(xd[b]);
          g0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s0), d, g0);
          g1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1), d, g1);
        }
        // acc += s·g − s·z·xg, rows 0-7 then 8-15.
        const uint16_t* s = sc + g * 32;
        const __m256 xs = _mm256_set1_ps(xg[g]);
        const __m256 sa = f16x8(s), sb = f16x8(s + 8);
        acc0 = _mm256_fmadd_ps(sa, g0, acc0);
        acc1 = _mm256_fmadd_ps(sb, g1, acc1);
        acc0 = _mm256_fnmadd_ps(_mm256_mul_ps(sa, f16x8(s + 16)), xs, acc0);
        acc1 = _mm256_fnmadd_ps(_mm256_mul_ps(sb, f16x8(s + 24)), xs, acc1);
      }
      _mm256_storeu_ps(y + t * 16, acc0);
      _mm256_storeu_ps(y + t * 16 + 8, acc1);
    }
  }
};

template <int kUnused = 0>
void lut_gemv_avx2(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables, const float* xd,
                   const float* xg, int64_t tiles, int64_t nb, int bits, int gb) {
  if (bits == 2) return LutGemvBody<2>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
  return LutGemvBody<3>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
}

}  // namespace edgellm::x86
