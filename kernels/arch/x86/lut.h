// x86 bodies of the LUT GEMVs (layout in kernels/lut_gemv.h), group-int and Q2_K / Q3_K, in AVX2 intrinsics because
// xsimd 8.1 has no byte shuffle or maddubs; the avx2 and avx512 builds instantiate them. Not the packing or the
// tables (kernels/lut_gemv.cpp).
//
// Planes 0 and 1, per 32-byte load: 16 rows × 2 planes × 8 codes. Each nibble half indexes a quad's low-byte and
// high-byte tables (vpshufb, the table broadcast to both 128-bit lanes); maddubs weighs a row's two planes 1 and 2
// and sums them into int16: a block of 32 codes of 16 rows costs 4 loads, 16 shuffles and 16 maddubs. Plane 2
// (3-bit codes) adds 2 loads, 8 shuffles, 8 unpacks and 2 lane swaps (it had 16 maddubs and 16 lane folds before
// its layout put the bytes in slot order). The K-quant body keeps the two 16-element sub-blocks of a block apart
// and weighs them with their integer scales (madd) before any float; for Q3_K it runs two tiles per pass, so each
// table is loaded once for 32 rows and two streams of codes are in flight.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/lut_gemv.h"

namespace edgellm::x86 {

// The lookups both bodies share. Templates, so each arch build keeps its own copy.
template <int kUnused = 0>
struct LutLookups {
  static __m256i bcast(const uint8_t* p) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static __m256i load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256 f16x8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  // Decode reads each code once per token from DRAM, and with the hardware prefetcher alone one core streamed the
  // codes at about half its plain-read rate (bench/RESULTS-quant.md, "software prefetch"): ask kAhead bytes ahead,
  // kLines lines of 64 bytes (a block's codes). Past a tile's end it touches the next tile's, never a fault.
  static constexpr int64_t kAhead = 2048;
  template <int kLines>
  static void prefetch(const uint8_t* p) {
    for (int l = 0; l < kLines; ++l) _mm_prefetch(reinterpret_cast<const char*>(p + kAhead + 64 * l), _MM_HINT_T0);
  }

  // Planes 0, 1 of one quad pair: c its 32 code bytes, tq the pair's tables (lut_pair_tables). Adds each slot's
  // low bytes (unsigned) and high bytes (signed) of its int16 sum, planes weighed 1 and 2.
  static void planes01(const uint8_t* c, const uint8_t* tq, __m256i& lo, __m256i& hi) {
    planes01(c, bcast(tq), bcast(tq + 32), bcast(tq + 64), bcast(tq + 96), lo, hi);
  }
  // The same with the pair's tables loaded: low and high bytes of its first (l0, h0) and second (l1, h1) quad.
  static void planes01(const uint8_t* c, __m256i l0, __m256i h0, __m256i l1, __m256i h1, __m256i& lo, __m256i& hi) {
    const __m256i nib = _mm256_set1_epi8(0x0F);
    const __m256i wp = _mm256_set1_epi16(0x0201);  // planes 0, 1 of a row: weights 1, 2
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c));
    const __m256i n0 = _mm256_and_si256(v, nib), n1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
    lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(_mm256_shuffle_epi8(l0, n0), wp));
    lo = _mm256_add_epi16(lo, _mm256_maddubs_epi16(_mm256_shuffle_epi8(l1, n1), wp));
    hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(wp, _mm256_shuffle_epi8(h0, n0)));
    hi = _mm256_add_epi16(hi, _mm256_maddubs_epi16(wp, _mm256_shuffle_epi8(h1, n1)));
  }

  // Plane 2 of two quad pairs, one per 128-bit lane, each lane with its own tables (tq: the pairs' tables, side
  // by side as lanes, lut_pair_tables of the even pair); lane 0's bytes in slot order, lane 1's with the slot
  // halves swapped. Returns the two pairs' int16 sums per slot (|sum| <= 4·508), not yet weighed: unpacking a
  // lookup's low bytes with its high bytes gives its int16 entries (no maddubs), unpacklo the lane's first 8 bytes;
  // one lane swap then adds the pairs' halves.
  static __m256i plane2(const uint8_t* c, const uint8_t* tq) {
    return plane2(c, load(tq), load(tq + 32), load(tq + 64), load(tq + 96));
  }
  // The same with the tables loaded (l0, h0: the first quads' low and high bytes; l1, h1: the second quads').
  static __m256i plane2(const uint8_t* c, __m256i tl0, __m256i th0, __m256i tl1, __m256i th1) {
    const __m256i nib = _mm256_set1_epi8(0x0F);
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c));
    const __m256i n0 = _mm256_and_si256(v, nib), n1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), nib);
    const __m256i l0 = _mm256_shuffle_epi8(tl0, n0), h0 = _mm256_shuffle_epi8(th0, n0);
    const __m256i l1 = _mm256_shuffle_epi8(tl1, n1), h1 = _mm256_shuffle_epi8(th1, n1);
    // a: lane 0 slots 0-7 of pair A, lane 1 slots 8-15 of pair B; b: slots 8-15 of A, slots 0-7 of B.
    const __m256i a = _mm256_add_epi16(_mm256_unpacklo_epi8(l0, h0), _mm256_unpacklo_epi8(l1, h1));
    const __m256i b = _mm256_add_epi16(_mm256_unpackhi_epi8(l0, h0), _mm256_unpackhi_epi8(l1, h1));
    return _mm256_add_epi16(a, _mm256_permute4x64_epi64(b, 0x4E));
  }
  // Exact int16 sums in slot order (rows 0-3, 8-11 | 4-7, 12-15) -> int32 rows 0-7 (r0) and 8-15 (r1).
  static void rows32(__m256i p, __m256i& r0, __m256i& r1) {
    const __m256i q = _mm256_permute4x64_epi64(p, 0xD8);  // rows 0-3, 4-7 | 8-11, 12-15
    r0 = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(q));
    r1 = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(q, 1));
  }
};

// Group-int weights; kBits (2, 3) unrolls the plane loop.
template <int kBits>
struct LutGemvBody {
  using L = LutLookups<>;
  static void run(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables, const float* xd,
                  const float* xg, int64_t tiles, int64_t nb, int gb) {
    const int64_t ng = (nb + gb - 1) / gb;
    for (int64_t t = 0; t < tiles; ++t) {
      const uint8_t* c = codes + t * nb * (64 * kBits);
      const uint16_t* sc = scales + t * ng * 32;
      __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  // rows 0-7, 8-15
      for (int64_t g = 0; g < ng; ++g) {
        __m256 g0 = _mm256_setzero_ps(), g1 = _mm256_setzero_ps();
        const int64_t b1 = std::min(nb, (g + 1) * gb);
        for (int64_t b = g * gb; b < b1; ++b, c += 64 * kBits) {
          L::template prefetch<kBits>(c);
          // Planes 0, 1 (and 2): the block's sum is at most 7·127·32 in size, so lo + 256·hi (+ 4·plane 2) in
          // int16 wraps on the way but ends exact.
          __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
          for (int j = 0; j < 4; ++j) L::planes01(c + 32 * j, tables + lut_pair_tables(b, j), lo, hi);
          __m256i p = _mm256_add_epi16(lo, _mm256_slli_epi16(hi, 8));
          if constexpr (kBits == 3) {  // lane 0: quad pair 2h, lane 1: 2h + 1
            const __m256i p2 = _mm256_add_epi16(L::plane2(c + 128, tables + lut_pair_tables(b, 0)),
                                                L::plane2(c + 160, tables + lut_pair_tables(b, 2)));
            p = _mm256_add_epi16(p, _mm256_slli_epi16(p2, 2));
          }
          __m256i s0, s1;
          L::rows32(p, s0, s1);
          const __m256 d = _mm256_set1_ps(xd[b]);
          g0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s0), d, g0);
          g1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1), d, g1);
        }
        // acc += s·g − s·z·xg, rows 0-7 then 8-15.
        const uint16_t* s = sc + g * 32;
        const __m256 xs = _mm256_set1_ps(xg[g]);
        const __m256 sa = L::f16x8(s), sb = L::f16x8(s + 8);
        acc0 = _mm256_fmadd_ps(sa, g0, acc0);
        acc1 = _mm256_fmadd_ps(sb, g1, acc1);
        acc0 = _mm256_fnmadd_ps(_mm256_mul_ps(sa, L::f16x8(s + 16)), xs, acc0);
        acc1 = _mm256_fnmadd_ps(_mm256_mul_ps(sb, L::f16x8(s + 24)), xs, acc1);
      }
      _mm256_storeu_ps(y + t * 16, acc0);
      _mm256_storeu_ps(y + t * 16 + 8, acc1);
    }
  }
};

// Q2_K (kBits 2) and Q3_K (kBits 3). Per 32-block the two sub-blocks' sums P (|P| <= 16·7·127, int16) are
// interleaved per row and madd'ed with the rows' (scale, scale) pairs: the vec_dot's integers, exactly, in int32
// per super-block; float only for d, dmin and the activation scale.
template <int kBits>
struct LutGemvKquantBody {
  using L = LutLookups<>;
  static constexpr int nd = kBits == 2 ? 2 : 1;  // f16 per row and super-block: d (and dmin)

  // kT (1 or 2) tiles side by side, each block's tables loaded once for all of them; cs, ss, dsz: a tile's bytes
  // of codes and sub-block scales and its count of d values.
  template <int kT>
  static void tiles(float* y, const uint8_t* c, const uint8_t* sb, const uint16_t* ds, const uint8_t* tables,
                    const float* xd, const int16_t* bsums, int64_t nsb, int64_t cs, int64_t ss, int64_t dsz) {
    const __m256i low4 = _mm256_set1_epi16(0x0F);
    __m256 acc0[kT], acc1[kT];  // rows 0-7, 8-15
    for (int k = 0; k < kT; ++k) acc0[k] = acc1[k] = _mm256_setzero_ps();
    for (int64_t s = 0; s < nsb; ++s, ds += nd * 16) {
      const int16_t* bs = bsums + 16 * s;
      __m256i si0[kT], si1[kT], sm0[kT], sm1[kT];  // Σ sc·P, Σ m·bsum; rows 0-7, 8-15
      for (int k = 0; k < kT; ++k) si0[k] = si1[k] = sm0[k] = sm1[k] = _mm256_setzero_si256();
      for (int i = 0; i < 8; ++i, c += 64 * kBits, sb += 32) {
        for (int k = 0; k < kT; ++k) {
          L::template prefetch<kBits>(c + k * cs);
          if (i & 1) L::template prefetch<1>(sb + k * ss);  // 32 bytes of sub-block scales a block
        }
        const uint8_t* tq = tables + lut_pair_tables(8 * s + i, 0);  // the block's 8 quad tables
        // p[k][h]: sub-block h (A: quad pairs 0, 1; B: 2, 3) of tile k. In int16 lo + 256·hi wraps, but the sum
        // it stands for fits.
        __m256i lo[kT][2], hi[kT][2], p[kT][2];
        for (int k = 0; k < kT; ++k) lo[k][0] = lo[k][1] = hi[k][0] = hi[k][1] = _mm256_setzero_si256();
        for (int j = 0; j < 4; ++j) {
          const uint8_t* tp = tq + lut_pair_tables(0, j);
          const __m256i l0 = L::bcast(tp), h0 = L::bcast(tp + 32), l1 = L::bcast(tp + 64), h1 = L::bcast(tp + 96);
          for (int k = 0; k < kT; ++k) L::planes01(c + k * cs + 32 * j, l0, h0, l1, h1, lo[k][j >> 1], hi[k][j >> 1]);
        }
        for (int k = 0; k < kT; ++k)
          for (int h = 0; h < 2; ++h) p[k][h] = _mm256_add_epi16(lo[k][h], _mm256_slli_epi16(hi[k][h], 8));
        if constexpr (kBits == 3) {  // − 4·plane 2 (the −4 flags): q = planes01 − 4·plane2
          for (int h = 0; h < 2; ++h) {
            const uint8_t* tp = tq + lut_pair_tables(0, 2 * h);
            const __m256i l0 = L::load(tp), h0 = L::load(tp + 32), l1 = L::load(tp + 64), h1 = L::load(tp + 96);
            for (int k = 0; k < kT; ++k)
              p[k][h] = _mm256_sub_epi16(
                  p[k][h], _mm256_slli_epi16(L::plane2(c + k * cs + 128 + 32 * h, l0, h0, l1, h1), 2));
          }
        }
        for (int k = 0; k < kT; ++k) {
          // (P_A, P_B) per row: rows 0-7 from the slots' low halves, 8-15 from the high (see LutGemvBody).
          const __m256i u0 = _mm256_unpacklo_epi16(p[k][0], p[k][1]), u1 = _mm256_unpackhi_epi16(p[k][0], p[k][1]);
          const __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + k * ss));  // rows 0-7, (A, B)
          const __m128i r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sb + k * ss + 16));
          if constexpr (kBits == 2) {
            const __m256i v0 = _mm256_cvtepu8_epi16(r0), v1 = _mm256_cvtepu8_epi16(r1);
            si0[k] = _mm256_add_epi32(si0[k], _mm256_madd_epi16(u0, _mm256_and_si256(v0, low4)));
            si1[k] = _mm256_add_epi32(si1[k], _mm256_madd_epi16(u1, _mm256_and_si256(v1, low4)));
            const __m256i bp = _mm256_set1_epi32(static_cast<int32_t>(  // (bsum_A, bsum_B) int16 pairs
                static_cast<uint16_t>(bs[2 * i]) | static_cast<uint32_t>(static_cast<uint16_t>(bs[2 * i + 1])) << 16));
            sm0[k] = _mm256_add_epi32(sm0[k], _mm256_madd_epi16(_mm256_srli_epi16(v0, 4), bp));
            sm1[k] = _mm256_add_epi32(sm1[k], _mm256_madd_epi16(_mm256_srli_epi16(v1, 4), bp));
          } else {
            si0[k] = _mm256_add_epi32(si0[k], _mm256_madd_epi16(u0, _mm256_cvtepi8_epi16(r0)));
            si1[k] = _mm256_add_epi32(si1[k], _mm256_madd_epi16(u1, _mm256_cvtepi8_epi16(r1)));
          }
        }
      }
      // acc += xd · (d · sumi − dmin · summ), as vec_dot_q2_k_q8_k.
      const __m256 x = _mm256_set1_ps(xd[s]);
      for (int k = 0; k < kT; ++k) {
        const uint16_t* d = ds + k * dsz;
        __m256 t0 = _mm256_mul_ps(L::f16x8(d), _mm256_cvtepi32_ps(si0[k]));
        __m256 t1 = _mm256_mul_ps(L::f16x8(d + 8), _mm256_cvtepi32_ps(si1[k]));
        if constexpr (kBits == 2) {
          t0 = _mm256_sub_ps(t0, _mm256_mul_ps(L::f16x8(d + 16), _mm256_cvtepi32_ps(sm0[k])));
          t1 = _mm256_sub_ps(t1, _mm256_mul_ps(L::f16x8(d + 24), _mm256_cvtepi32_ps(sm1[k])));
        }
        acc0[k] = _mm256_fmadd_ps(x, t0, acc0[k]);
        acc1[k] = _mm256_fmadd_ps(x, t1, acc1[k]);
      }
    }
    for (int k = 0; k < kT; ++k) {
      _mm256_storeu_ps(y + k * 16, acc0[k]);
      _mm256_storeu_ps(y + k * 16 + 8, acc1[k]);
    }
  }

  static void run(float* y, const uint8_t* codes, const uint8_t* sub, const uint16_t* dq, const uint8_t* tables,
                  const float* xd, const int16_t* bsums, int64_t tiles, int64_t nsb) {
    const int64_t cs = 8 * nsb * 64 * kBits, ss = 8 * nsb * 32, dsz = nsb * nd * 16;
    // Two tiles per pass for Q3_K (2048x2048: 93 -> 86 us); Q2_K decoded 3-8% slower that way on 2 threads.
    constexpr int kPair = kBits == 3 ? 2 : 1;
    int64_t t = 0;
    for (; kPair == 2 && t + 2 <= tiles; t += 2)
      LutGemvKquantBody::tiles<2>(y + 16 * t, codes + t * cs, sub + t * ss, dq + t * dsz, tables, xd, bsums, nsb,
                                  cs, ss, dsz);
    for (; t < tiles; ++t)
      LutGemvKquantBody::tiles<1>(y + 16 * t, codes + t * cs, sub + t * ss, dq + t * dsz, tables, xd, bsums, nsb,
                                  cs, ss, dsz);
  }
};

template <int kUnused = 0>
void lut_gemv_avx2(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables, const float* xd,
                   const float* xg, int64_t tiles, int64_t nb, int bits, int gb) {
  if (bits == 2) return LutGemvBody<2>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
  return LutGemvBody<3>::run(y, codes, scales, tables, xd, xg, tiles, nb, gb);
}

template <int kUnused = 0>
void lut_gemv_kquant_avx2(float* y, const uint8_t* codes, const uint8_t* sub, const uint16_t* d,
                          const uint8_t* tables, const float* xd, const int16_t* bsums, int64_t tiles, int64_t nsb,
                          int bits) {
  if (bits == 2) return LutGemvKquantBody<2>::run(y, codes, sub, d, tables, xd, bsums, tiles, nsb);
  return LutGemvKquantBody<3>::run(y, codes, sub, d, tables, xd, bsums, tiles, nsb);
}

}  // namespace edgellm::x86
