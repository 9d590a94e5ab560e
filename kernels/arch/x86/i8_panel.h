// AVX2 entries of the 8-bit panel GEMM (kernel_table.h: i8_panel_pack_*, i8_panel_ukernel): packers that decode 32
// codes of one weight row into a ymm and turn 8 rows into panel order with an 8x8 transpose of 32-bit words, and a
// maddubs micro-kernel for CPUs without VNNI. Included ONLY from arch/avx2 (AVX-512 keeps the packers and replaces the
// micro-kernel with its VNNI one, arch/avx512/i8_panel.cpp). Not here: the driver (kernels/quant_gemm_i8.cpp).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/kernel_table.h"
#include "kernels/quant/blocks.h"

namespace edgellm::x86q {
namespace {
namespace panel {

constexpr int64_t NC = kI8PanelCols;

// r[i] word k -> r[k] word i (8 rows of 8 32-bit words).
inline void transpose8x8(__m256i r[8]) {
  __m256i t[8], v[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);      // words 0,1 | 4,5 of rows i, i+1 interleaved
    t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);  // words 2,3 | 6,7
  }
  for (int i = 0; i < 8; i += 4)
    for (int h = 0; h < 2; ++h) {
      v[i + 2 * h] = _mm256_unpacklo_epi64(t[i + h], t[i + 2 + h]);      // word 2h of rows i..i+3 | word 2h + 4
      v[i + 2 * h + 1] = _mm256_unpackhi_epi64(t[i + h], t[i + 2 + h]);  // word 2h + 1 | 2h + 5
    }
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm256_permute2x128_si256(v[k], v[k + 4], 0x20);
    r[k + 4] = _mm256_permute2x128_si256(v[k], v[k + 4], 0x31);
  }
}

inline __m256i load256(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m256i shr16(__m256i v, int n) { return _mm256_srl_epi16(v, _mm_cvtsi32_si128(n)); }
inline const uint8_t* bytes(const void* p) { return static_cast<const uint8_t*>(p); }

// One format each: Block, elements per stored block (kElems) and per panel block (kKb), whether blocks carry a
// minimum; chunk(p, c) = the 32 codes of elements 32c.. of the block at p in element order (as the scalar packer
// writes them: kernels/ref/i8_panel_pack.cpp), scales(p, d, m) = its kElems / kKb scales (and offsets).
struct Q4_0 {
  using Block = quant::block_q4_0;
  static constexpr int64_t kElems = 32, kKb = 32;
  static constexpr bool kMin = false;
  static __m256i chunk(const Block& b, int, __m256i) {
    const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(t, 4), t), _mm256_set1_epi8(0x0F));
  }
  static void scales(const Block& b, float* d, float*) { d[0] = _cvtsh_ss(b.d); }
};

struct Q8_0 {
  using Block = quant::block_q8_0;
  static constexpr int64_t kElems = 32, kKb = 32;
  static constexpr bool kMin = false;
  static __m256i chunk(const Block& b, int, __m256i flip) { return _mm256_xor_si256(load256(bytes(b.qs)), flip); }
  static void scales(const Block& b, float* d, float*) { d[0] = _cvtsh_ss(b.d); }
};

// Q4_K / Q5_K: sub-block c is the low (c even) or high nibbles of qs[32·(c/2)..], Q5_K's fifth bit is bit c of qh[l].
template <bool kFive>
struct Q45_K {
  using Block = std::conditional_t<kFive, quant::block_q5_K, quant::block_q4_K>;
  static constexpr int64_t kElems = 256, kKb = 32;
  static constexpr bool kMin = true;
  static __m256i chunk(const Block& b, int c, __m256i) {
    __m256i q = _mm256_and_si256(shr16(load256(b.qs + 32 * (c / 2)), 4 * (c % 2)), _mm256_set1_epi8(0x0F));
    if constexpr (kFive)
      q = _mm256_or_si256(q, _mm256_slli_epi16(_mm256_and_si256(shr16(load256(b.qh), c), _mm256_set1_epi8(1)), 4));
    return q;
  }
  // The 12-byte field unpacked four at a time (llama.cpp's kmask trick): bytes 0..7 the scales, 8..15 the minimums.
  static void scales(const Block& b, float* d, float* m) {
    uint32_t v[4];
    std::memcpy(v, b.scales, 12);
    constexpr uint32_t k1 = 0x3f3f3f3f, k2 = 0x0f0f0f0f, k3 = 0x03030303;
    v[3] = ((v[2] >> 4) & k2) | (((v[1] >> 6) & k3) << 4);
    const uint32_t min_lo = v[1] & k1;
    v[1] = (v[2] & k2) | (((v[0] >> 6) & k3) << 4);
    v[2] = min_lo;
    v[0] &= k1;
    const __m128i sm = _mm_loadu_si128(reinterpret_cast<const __m128i*>(v));
    const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sm));
    const __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8)));
    _mm256_storeu_ps(d, _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(b.d)), sc));
    _mm256_storeu_ps(m, _mm256_mul_ps(_mm256_set1_ps(-_cvtsh_ss(b.dmin)), mn));
  }
};

// Q6_K: chunk c = 4h + q holds low nibbles ql[64h + 32(q&1) + l] >> 4(q>>1) and high bits qh[32h + l] >> 2q.
struct Q6_K {
  using Block = quant::block_q6_K;
  static constexpr int64_t kElems = 256, kKb = 16;
  static constexpr bool kMin = false;
  static __m256i chunk(const Block& b, int c, __m256i) {
    const int h = c / 4, q = c % 4;
    const __m256i lo = _mm256_and_si256(shr16(load256(b.ql + 64 * h + 32 * (q & 1)), 4 * (q >> 1)),
                                        _mm256_set1_epi8(0x0F));
    const __m256i hi = _mm256_and_si256(shr16(load256(b.qh + 32 * h), 2 * q), _mm256_set1_epi8(3));
    return _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
  }
  static void scales(const Block& b, float* d, float*) {
    const __m256 dd = _mm256_set1_ps(_cvtsh_ss(b.d));
    const __m128i s = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
    _mm256_storeu_ps(d, _mm256_mul_ps(dd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(s))));
    _mm256_storeu_ps(d + 8, _mm256_mul_ps(dd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(s, 8)))));
  }
};

// 8 rows x per floats (row r at t + r·per) into dst[k·NC + r] for k < per (per a multiple of 8).
inline void transpose_scales(float* dst, const float* t, int64_t per) {
  for (int64_t k0 = 0; k0 < per; k0 += 8) {
    __m256i r[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_castps_si256(_mm256_loadu_ps(t + i * per + k0));
    transpose8x8(r);
    for (int k = 0; k < 8; ++k) _mm256_storeu_ps(dst + (k0 + k) * NC, _mm256_castsi256_ps(r[k]));
  }
}

// Stored block s of 8 rows at a time (block-major, like the scalar packer, so the words written stay within a few
// KiB); rows past `rows` get zero codes, and zero scales from an all-zero block. Each row's block two steps ahead is
// prefetched (32 rows read side by side defeat the hardware prefetcher; perf's share of the packing in a Q4_K M = 64
// product rises from 14% to 21% without it, although the driver fetches the whole strip into L2 beforehand).
template <class F>
void pack(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K, bool signed_codes) {
  using Block = typename F::Block;
  constexpr int64_t per = F::kElems / F::kKb, chunks = F::kElems / 32, sbytes = sizeof(Block);
  static constexpr Block kZero{};
  const int64_t nb = K / F::kKb, nsb = K / F::kElems;
  if (rows < NC) {
    std::memset(u, 0, static_cast<size_t>(K * NC));
    std::fill(wd, wd + nb * NC, 0.0f);
    if (F::kMin) std::fill(wm, wm + nb * NC, 0.0f);
  }
  const __m256i flip = _mm256_set1_epi8(signed_codes ? 0 : static_cast<char>(0x80));
  auto* u32 = reinterpret_cast<uint32_t*>(u);
  alignas(32) float td[8 * per], tm[8 * per];
  for (int64_t s = 0; s < nsb; ++s)
    for (int64_t j0 = 0; j0 < rows; j0 += 8) {
      const Block* blk[8];
      for (int64_t r = 0; r < 8; ++r) {
        if (j0 + r >= rows) {
          blk[r] = &kZero;
          continue;
        }
        const uint8_t* p = w + (j0 + r) * wrb + s * sbytes;
        blk[r] = reinterpret_cast<const Block*>(p);
        if (s + 2 < nsb)
          for (int64_t off = 0; off < sbytes; off += 64)
            _mm_prefetch(reinterpret_cast<const char*>(p + 2 * sbytes + off), _MM_HINT_T0);
      }
      uint32_t* dst = u32 + s * (F::kElems / 4) * NC + j0;
#pragma GCC unroll 8
      for (int c = 0; c < chunks; ++c) {
        __m256i v[8];
        for (int r = 0; r < 8; ++r) v[r] = j0 + r < rows ? F::chunk(*blk[r], c, flip) : _mm256_setzero_si256();
        transpose8x8(v);
        for (int k = 0; k < 8; ++k) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + (8 * c + k) * NC), v[k]);
      }
      for (int r = 0; r < 8; ++r) F::scales(*blk[r], td + r * per, tm + r * per);
      if constexpr (per == 1) {
        _mm256_storeu_ps(wd + s * NC + j0, _mm256_loadu_ps(td));
      } else {
        transpose_scales(wd + s * per * NC + j0, td, per);
        if constexpr (F::kMin) transpose_scales(wm + s * per * NC + j0, tm, per);
      }
    }
}

// ---- micro-kernel ---------------------------------------------------------------------------------------------------
// maddubs multiplies unsigned codes by signed activations and adds pairs into int16, saturating. With codes below 2^b
// and |x| <= 127, CH groups of 4 fit one int16 sum while 2·CH·(2^b − 1)·127 < 2^15: CH = 8, 4, 2 for 4, 5, 6 bits.
// Q8_0's signed bytes take the sign trick, |w| · (x · sign w) <= 128·127 per product, one group at a time.
constexpr int kMR = 3;  // rows per tile (M = 64 on Zen 4: 2 rows were 15-20% slower, 4 rows mixed)

// Rows [0, M) of c, panel columns [j0, j0 + nj), nj <= 16.
template <int M, bool kMin, int G, int CH, bool kSigned>
inline void tile16(int64_t nb, const int8_t* x, int64_t ldx, const float* dx, const int32_t* corr, const float* dsx,
                   int64_t ldd, const uint8_t* u, const float* wd, const float* wm, float* c, int64_t ldc, int64_t j0,
                   int64_t nj) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[M][2];
  for (int i = 0; i < M; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m256i s[M][2];
    for (int i = 0; i < M; ++i) s[i][0] = s[i][1] = _mm256_set1_epi32(corr[i * ldd + b]);
    const uint8_t* ub = u + (b * G * NC + j0) * 4;
    const int8_t* xb = x + b * G * 4;
#pragma GCC unroll 8
    for (int g0 = 0; g0 < G; g0 += CH) {
      __m256i h[M][2];
#pragma GCC unroll 8
      for (int gg = 0; gg < CH; ++gg) {
        const int g = g0 + gg;
        const __m256i w0 = load256(ub + g * NC * 4), w1 = load256(ub + g * NC * 4 + 32);
        const __m256i a0 = kSigned ? _mm256_abs_epi8(w0) : w0, a1 = kSigned ? _mm256_abs_epi8(w1) : w1;
        for (int i = 0; i < M; ++i) {
          int32_t q;
          std::memcpy(&q, xb + i * ldx + g * 4, 4);
          const __m256i xv = _mm256_set1_epi32(q);
          const __m256i p0 = _mm256_maddubs_epi16(a0, kSigned ? _mm256_sign_epi8(xv, w0) : xv);
          const __m256i p1 = _mm256_maddubs_epi16(a1, kSigned ? _mm256_sign_epi8(xv, w1) : xv);
          h[i][0] = gg == 0 ? p0 : _mm256_add_epi16(h[i][0], p0);
          h[i][1] = gg == 0 ? p1 : _mm256_add_epi16(h[i][1], p1);
        }
      }
      for (int i = 0; i < M; ++i)
        for (int k = 0; k < 2; ++k) s[i][k] = _mm256_add_epi32(s[i][k], _mm256_madd_epi16(h[i][k], ones));
    }
    const __m256 d0 = _mm256_loadu_ps(wd + b * NC + j0), d1 = _mm256_loadu_ps(wd + b * NC + j0 + 8);
    for (int i = 0; i < M; ++i) {
      const __m256 di = _mm256_set1_ps(dx[i * ldd + b]);
      acc[i][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[i][0]), _mm256_mul_ps(d0, di), acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[i][1]), _mm256_mul_ps(d1, di), acc[i][1]);
    }
    if constexpr (kMin) {
      const __m256 m0 = _mm256_loadu_ps(wm + b * NC + j0), m1 = _mm256_loadu_ps(wm + b * NC + j0 + 8);
      for (int i = 0; i < M; ++i) {
        const __m256 si = _mm256_set1_ps(dsx[i * ldd + b]);
        acc[i][0] = _mm256_fmadd_ps(m0, si, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(m1, si, acc[i][1]);
      }
    }
  }
  for (int i = 0; i < M; ++i) {
    float* ci = c + i * ldc + j0;
    if (nj == 16) {
      _mm256_storeu_ps(ci, acc[i][0]);
      _mm256_storeu_ps(ci + 8, acc[i][1]);
    } else {
      alignas(32) float t[16];
      _mm256_store_ps(t, acc[i][0]);
      _mm256_store_ps(t + 8, acc[i][1]);
      std::copy(t, t + nj, ci);
    }
  }
}

template <bool kMin, int G, int CH, bool kSigned>
void tile_rows(int64_t nb, const int8_t* x, int64_t ldx, const float* dx, const int32_t* corr, const float* dsx,
               int64_t ldd, const uint8_t* u, const float* wd, const float* wm, float* c, int64_t ldc, int64_t m,
               int64_t n) {
  for (int64_t j0 = 0; j0 < n; j0 += 16) {
    const int64_t nj = std::min<int64_t>(16, n - j0);
    switch (m) {
      case 3: tile16<3, kMin, G, CH, kSigned>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, j0, nj); break;
      case 2: tile16<2, kMin, G, CH, kSigned>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, j0, nj); break;
      default: tile16<1, kMin, G, CH, kSigned>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, j0, nj); break;
    }
  }
}

template <bool kMin, int G>
void tile_bits(int code_bits, int64_t nb, const int8_t* x, int64_t ldx, const float* dx, const int32_t* corr,
               const float* dsx, int64_t ldd, const uint8_t* u, const float* wd, const float* wm, float* c,
               int64_t ldc, int64_t m, int64_t n) {
  switch (code_bits) {
    case 4: return tile_rows<kMin, G, G, false>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
    case 5: return tile_rows<kMin, G, 4, false>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
    case 6: return tile_rows<kMin, G, 2, false>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
    default: return tile_rows<kMin, G, 1, true>(nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
  }
}

// Reads Q8_0's codes (code_bits 8) as signed bytes: the AVX2 table sets i8_panel_signed_codes.
void ukernel_avx2(int64_t nb, int64_t kb, int code_bits, const int8_t* x, int64_t ldx, const float* dx,
                  const int32_t* corr, const float* dsx, int64_t ldd, const uint8_t* u, const float* wd,
                  const float* wm, float* c, int64_t ldc, int64_t m, int64_t n) {
  if (kb == 16) {
    if (wm) return tile_bits<true, 4>(code_bits, nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
    return tile_bits<false, 4>(code_bits, nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
  }
  if (wm) return tile_bits<true, 8>(code_bits, nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
  tile_bits<false, 8>(code_bits, nb, x, ldx, dx, corr, dsx, ldd, u, wd, wm, c, ldc, m, n);
}

}  // namespace panel

// The table entries (kernel_table.h: i8_panel_pack_fn).
void i8_panel_pack_q4_0_avx2(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                             bool sc) {
  panel::pack<panel::Q4_0>(u, wd, wm, w, wrb, rows, K, sc);
}
void i8_panel_pack_q8_0_avx2(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                             bool sc) {
  panel::pack<panel::Q8_0>(u, wd, wm, w, wrb, rows, K, sc);
}
void i8_panel_pack_q4_k_avx2(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                             bool sc) {
  panel::pack<panel::Q45_K<false>>(u, wd, wm, w, wrb, rows, K, sc);
}
void i8_panel_pack_q5_k_avx2(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                             bool sc) {
  panel::pack<panel::Q45_K<true>>(u, wd, wm, w, wrb, rows, K, sc);
}
void i8_panel_pack_q6_k_avx2(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                             bool sc) {
  panel::pack<panel::Q6_K>(u, wd, wm, w, wrb, rows, K, sc);
}

}  // namespace
}  // namespace edgellm::x86q
