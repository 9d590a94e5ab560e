// x86 integer dot kernels of the GGUF formats against 8-bit activations, shared by arch/avx2 (maddubs +
// madd) and arch/avx512 (VNNI: vpdpbusd for the legacy blocks, vpdpwssd for the K-quant scales); included
// ONLY from those two folders' .cpp files. Anonymous namespace: each ISA build keeps its own copy (no ODR mixing).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/quant/blocks.h"

namespace edgellm::x86q {
namespace {
using namespace edgellm::quant;

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 8 int32 lanes, each the sum of 4 adjacent u8*s8 products.
template <bool kVnni>
inline __m256i dot_us(__m256i u, __m256i s) {
  if constexpr (kVnni) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
  } else {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
  }
}
// Signed x signed through the sign trick: |a| * (b * sign(a)).
template <bool kVnni>
inline __m256i dot_ss(__m256i a, __m256i b) {
  return dot_us<kVnni>(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

// 16 packed bytes -> 32 nibbles: low nibbles in bytes 0..15, high nibbles in 16..31.
inline __m256i nibbles(const uint8_t* p) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
  return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}
// 32 bits -> 32 bytes of 0xFF (bit set) or 0x00.
inline __m256i bits_to_bytes(uint32_t bits) {
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuf);
  const __m256i m = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(v, m), m);
}

// Software-prefetch distance of the GEMV kernels in whole weight rows (about 9 KiB ahead). Measured on the
// cold 4096x4096 GEMV (1 thread, CPU time): Q4_0 1.24 -> 0.90-0.98 ms against 1 KiB ahead within the row.
inline int64_t gemv_prefetch_rows(int64_t row_bytes) { return row_bytes >= 9216 ? 1 : 9216 / row_bytes; }

// ---- legacy formats: one weight block unpacked to 32 codes, then R activation rows ----------------
// kSigned: codes are signed (dot_ss); else unsigned (dot_us) with m * s_x added from Q8_1.
struct Q4_0W {
  using W = block_q4_0;
  using A = block_q8_0;
  static constexpr bool kSigned = true;
  static __m256i codes(const W& b) { return _mm256_sub_epi8(nibbles(b.qs), _mm256_set1_epi8(8)); }
};
struct Q8_0W {
  using W = block_q8_0;
  using A = block_q8_0;
  static constexpr bool kSigned = true;
  static __m256i codes(const W& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)); }
};
struct Q5_0W {
  using W = block_q5_0;
  using A = block_q8_0;
  static constexpr bool kSigned = true;
  // nibble + 16*h - 16: where h is clear, OR in 0xF0 (= nibble - 16 as int8).
  static __m256i codes(const W& b) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    const __m256i hi = _mm256_andnot_si256(bits_to_bytes(qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
    return _mm256_or_si256(nibbles(b.qs), hi);
  }
};
struct Q4_1W {
  using W = block_q4_1;
  using A = block_q8_1;
  static constexpr bool kSigned = false;
  static __m256i codes(const W& b) { return nibbles(b.qs); }
};
struct Q5_1W {
  using W = block_q5_1;
  using A = block_q8_1;
  static constexpr bool kSigned = false;
  static __m256i codes(const W& b) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    return _mm256_or_si256(nibbles(b.qs), _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
  }
};

// Two accumulators per row (even / odd blocks) so one row's FMA chain does not bound the loop.
template <class T, bool kVnni, int R>
void legacy_rows(float* s, int64_t ss, const typename T::W* w, const uint8_t* x, int64_t xs, int64_t nb) {
  __m256 acc[R][2];
  float msum[R];
  for (int r = 0; r < R; ++r) {
    acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    msum[r] = 0.0f;
  }
  auto block = [&](int64_t i, int par) {
    const __m256i q = T::codes(w[i]);
    const float dw = h2f(w[i].d);
    // For signed codes the |q| half of the sign trick is shared by all rows.
    const __m256i uq = T::kSigned ? _mm256_sign_epi8(q, q) : q;
    for (int r = 0; r < R; ++r) {
      const auto& a = reinterpret_cast<const typename T::A*>(x + r * xs)[i];
      __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
      if constexpr (T::kSigned) qx = _mm256_sign_epi8(qx, q);
      const __m256i p = dot_us<kVnni>(uq, qx);
      acc[r][par] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * h2f(a.d)), acc[r][par]);
      if constexpr (!T::kSigned) msum[r] += h2f(w[i].m) * h2f(a.s);
    }
  };
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    block(i, 0);
    block(i + 1, 1);
  }
  if (i < nb) block(i, 0);
  for (int r = 0; r < R; ++r) s[r * ss] = hsum(_mm256_add_ps(acc[r][0], acc[r][1])) + msum[r];
}

// GEMV (one activation row) over CW weight rows (stride ws bytes) at a time: each activation block is loaded once
// for the CW rows, and the same blocks one row group further on are prefetched (the rows are contiguous, so that
// is the next group's stream; see gemv_prefetch_rows). One weight row at a time, unprefetched, left the AVX2 Q4_0
// GEMV at a quarter of the VNNI one's speed.
template <class T, bool kVnni, int CW>
void legacy_gemv_rows(float* s, int64_t sst, const uint8_t* w, int64_t rs, int64_t ws, const typename T::A* a,
                      int64_t nb) {
  const int64_t dist = gemv_prefetch_rows(ws) * ws;
  __m256 acc[CW];
  for (int c = 0; c < CW; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs));
    const float dx = h2f(a[i].d);
    for (int c = 0; c < CW; ++c) {
      const auto& b = reinterpret_cast<const typename T::W*>(w + c * rs)[i];
      if ((i & 1) == 0) _mm_prefetch(reinterpret_cast<const char*>(&b) + dist, _MM_HINT_T0);
      const __m256i q = T::codes(b);
      const __m256i p = dot_us<kVnni>(_mm256_sign_epi8(q, q), _mm256_sign_epi8(xv, q));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(h2f(b.d) * dx), acc[c]);
    }
  }
  for (int c = 0; c < CW; ++c) s[c * sst] = hsum(acc[c]);
}

// The GEMV row order: rows in fours taken a quarter of the rows apart; the CW-row kernel is called as gemv(s,
// sst, w, rs) with rows rs bytes apart and results sst floats apart. Four adjacent rows (2304 bytes each for Q4_0
// at K = 4096) interleave inside the same 4 KiB pages, where the hardware stream prefetcher follows them less
// well (Q4_0 4096x4096: 760-994 us per GEMV with adjacent rows, 700-715 us with quarters; bench/RESULTS-quant.md).
template <class F4, class F1>
void gemv_quarters(float* s, const uint8_t* w, int64_t ws, int64_t nw, F4&& gemv4, F1&& gemv1) {
  const int64_t q = nw / 4;
  for (int64_t c = 0; c < q; ++c) gemv4(s + c, q, w + c * ws, q * ws);
  for (int64_t c = 4 * q; c < nw; ++c) gemv1(s + c, int64_t{1}, w + c * ws, ws);
}

template <class T, bool kVnni>
void legacy_dot(float* s, int64_t ss, const void* w, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* wb = static_cast<const typename T::W*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const int64_t nb = K / QK;
  int64_t r = 0;
  for (; r + 4 <= nx; r += 4) legacy_rows<T, kVnni, 4>(s + r * ss, ss, wb, xb + r * xs, xs, nb);
  for (; r < nx; ++r) legacy_rows<T, kVnni, 1>(s + r * ss, ss, wb, xb + r * xs, xs, nb);
}

// vec_dot entry for the signed legacy formats (Q4_0, Q8_0): fewer than 4 activation rows take the GEMV above,
// 4 weight rows at a time; more go weight row by weight row through legacy_dot.
template <class T, bool kVnni>
void legacy_gemv_or_dot(float* s, int64_t ss, const void* w, int64_t ws, int64_t nw, const void* x, int64_t xs,
                        int64_t nx, int64_t K) {
  static_assert(T::kSigned, "the GEMV body has no Q8_1 minimum term");
  const auto* wb = static_cast<const uint8_t*>(w);
  if (nx >= 4) {
    for (int64_t c = 0; c < nw; ++c) legacy_dot<T, kVnni>(s + c, ss, wb + c * ws, x, xs, nx, K);
    return;
  }
  const int64_t nb = K / QK;
  for (int64_t r = 0; r < nx; ++r) {
    const auto* a = reinterpret_cast<const typename T::A*>(static_cast<const uint8_t*>(x) + r * xs);
    gemv_quarters(
        s + r * ss, wb, ws, nw,
        [&](float* o, int64_t sst, const uint8_t* rw, int64_t rs) {
          legacy_gemv_rows<T, kVnni, 4>(o, sst, rw, rs, ws, a, nb);
        },
        [&](float* o, int64_t sst, const uint8_t* rw, int64_t rs) {
          legacy_gemv_rows<T, kVnni, 1>(o, sst, rw, rs, ws, a, nb);
        });
  }
}

// ---- K-quants against Q8_K --------------------------------------------------------------------
// Sum over one 32-element sub-block of u8 codes * s8 activations, weighted per 16-lane half by the
// int16 scales in `sc` (low half scale for elements 0..15, high half for 16..31): 8 int32 lanes.
// acc + that sum; with VNNI the int16 x scale products accumulate in one vpdpwssd.
template <bool kVnni>
inline __m256i scaled_dot_acc(__m256i acc, __m256i q, __m256i x, __m256i sc) {
  if constexpr (kVnni) {
    return _mm256_dpwssd_epi32(acc, _mm256_maddubs_epi16(q, x), sc);
  } else {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q, x), sc));
  }
}
inline __m256i scale_pair(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<short>(hi)), _mm_set1_epi16(static_cast<short>(lo)));
}

// One K-quant super-block decoded for the integer dot: 8 vectors of 32 unsigned codes (sub-block j =
// elements 32j..32j+31), the int16 scale vector of each, and what the bsums correction needs.
struct KDecoded {
  __m256i q[8], sc[8];
  __m256i mn;  // 16 x int16, per 16-group: the min (Q4_K/Q5_K) or 32 * scale (Q6_K), dotted with bsums
  float d, dmin;
};

// Q4_K / Q5_K's eight 6-bit (scale, min) pairs of the 12 scale bytes, four at a time in 32-bit words (the
// get_scale_min_k4 layout): sc_all = the 8 int16 scales in each 128-bit lane (sub-block j's scale vector is
// shuffle(sc_all, k45_scale_index(j))), mn = m0 m0 m1 m1 ... m7 m7 as int16 (dotted with bsums).
inline void k45_scales(const uint8_t* scales, __m256i& sc_all, __m256i& mn) {
  uint32_t u[3];
  std::memcpy(u, scales, 12);
  const uint32_t sc_lo = u[0] & 0x3f3f3f3f, m_lo = u[1] & 0x3f3f3f3f;
  const uint32_t sc_hi = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
  const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
  const __m128i sc8 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(sc_lo | (uint64_t{sc_hi} << 32))));
  sc_all = _mm256_broadcastsi128_si256(sc8);
  const __m128i m8 = _mm_cvtsi64_si128(static_cast<int64_t>(m_lo | (uint64_t{m_hi} << 32)));
  mn = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
}
inline __m256i k45_scale_index(int j) { return _mm256_set1_epi16(static_cast<short>(0x0100 + 0x0202 * j)); }

// Q4_K / Q5_K: 8 sub-blocks of 32, element 64g + 32h + l = nibble h of qs[32g + l] (+ qh bit 2g+h).
template <bool kQ5>
inline void decode_k45(const void* wv, int64_t i, KDecoded& k) {
  const uint8_t *qs, *scales, *qh = nullptr;
  uint16_t d16, dmin16;
  if constexpr (kQ5) {
    const auto& b = static_cast<const block_q5_K*>(wv)[i];
    qs = b.qs, scales = b.scales, qh = b.qh, d16 = b.d, dmin16 = b.dmin;
  } else {
    const auto& b = static_cast<const block_q4_K*>(wv)[i];
    qs = b.qs, scales = b.scales, d16 = b.d, dmin16 = b.dmin;
  }
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256i hbits = kQ5 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh)) : _mm256_setzero_si256();
  for (int g = 0; g < 4; ++g) {
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * g));
    k.q[2 * g] = _mm256_and_si256(raw, low4);
    k.q[2 * g + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
    if constexpr (kQ5) {
      // bit 2g of qh[l] -> 16 for the low sub-block, bit 2g+1 for the high one.
      const __m256i one = _mm256_set1_epi8(1);
      k.q[2 * g] = _mm256_or_si256(k.q[2 * g], _mm256_slli_epi16(_mm256_and_si256(hbits, one), 4));
      k.q[2 * g + 1] =
          _mm256_or_si256(k.q[2 * g + 1], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 1), one), 4));
      hbits = _mm256_srli_epi16(hbits, 2);
    }
  }
  // Scales spread by byte shuffles: no per-sub-block scalar decode or broadcast.
  __m256i sc_all;
  k45_scales(scales, sc_all, k.mn);
  for (int j = 0; j < 8; ++j) k.sc[j] = _mm256_shuffle_epi8(sc_all, k45_scale_index(j));
  k.d = h2f(d16);
  k.dmin = h2f(dmin16);
}

// Q6_K: per 128-half h and quarter c, 32 elements 128h + 32c + l; codes 0..63, the -32 comes from bsums.
inline void decode_k6(const void* wv, int64_t i, KDecoded& k) {
  const block_q6_K& b = static_cast<const block_q6_K*>(wv)[i];
  const __m256i low4 = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
  for (int h = 0; h < 2; ++h) {
    const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h));
    const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h + 32));
    const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
    const __m256i lo[4] = {_mm256_and_si256(l0, low4), _mm256_and_si256(l1, low4),
                           _mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                           _mm256_and_si256(_mm256_srli_epi16(l1, 4), low4)};
    for (int c = 0; c < 4; ++c) {
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * c), three);
      k.q[4 * h + c] = _mm256_or_si256(lo[c], _mm256_slli_epi16(hi, 4));
      k.sc[4 * h + c] = scale_pair(b.scales[8 * h + 2 * c], b.scales[8 * h + 2 * c + 1]);
    }
  }
  // 32 * scale as int16: sign-extend the 16 int8 scales, shift by 5.
  k.mn = _mm256_slli_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales))), 5);
  k.d = h2f(b.d);
  k.dmin = 1.0f;  // Q6_K: the correction is sumi - sum mn*bsums, folded below with the same d
}

// Q2_K: element 128n + 32j + l is bits 2j of qs[32n + l]; sub-block j' = 4n + j; scale/min per 16-group.
inline void decode_k2(const void* wv, int64_t i, KDecoded& k) {
  const block_q2_K& b = static_cast<const block_q2_K*>(wv)[i];
  const __m256i three = _mm256_set1_epi8(3);
  for (int n = 0; n < 2; ++n) {
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * n));
    for (int j = 0; j < 4; ++j) {
      k.q[4 * n + j] = _mm256_and_si256(_mm256_srli_epi16(raw, 2 * j), three);
      const int sj = 4 * n + j;
      k.sc[sj] = scale_pair(b.scales[2 * sj] & 0xF, b.scales[2 * sj + 1] & 0xF);
    }
  }
  alignas(32) int16_t mn[16];
  for (int g = 0; g < 16; ++g) mn[g] = static_cast<int16_t>(b.scales[g] >> 4);
  k.mn = _mm256_load_si256(reinterpret_cast<const __m256i*>(mn));
  k.d = h2f(b.d);
  k.dmin = h2f(b.dmin);
}

// Q3_K: code q = lo2 - 4 * !h in [-4, 3]; the kernel uses u = lo2 + 4h in [0, 7] and subtracts
// 4 * sum_g sc_g bsum_g (mn = 4 * sc, with d as the correction's scale, as for Q6_K).
inline void decode_k3(const void* wv, int64_t i, KDecoded& k) {
  const block_q3_K& b = static_cast<const block_q3_K*>(wv)[i];
  const __m256i three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
  const __m256i hm = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.hmask));
  int8_t sc[16];
  unpack_q3_k_scales(b.scales, sc);
  for (int n = 0; n < 2; ++n) {
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * n));
    for (int j = 0; j < 4; ++j) {
      const int sj = 4 * n + j;
      const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(raw, 2 * j), three);
      const __m256i h = _mm256_and_si256(_mm256_srli_epi16(hm, sj), one);
      k.q[sj] = _mm256_or_si256(lo, _mm256_slli_epi16(h, 2));
      k.sc[sj] = scale_pair(sc[2 * sj] - 32, sc[2 * sj + 1] - 32);
    }
  }
  alignas(32) int16_t mn[16];
  for (int g = 0; g < 16; ++g) mn[g] = static_cast<int16_t>(4 * (sc[g] - 32));
  k.mn = _mm256_load_si256(reinterpret_cast<const __m256i*>(mn));
  k.d = h2f(b.d);
  k.dmin = 1.0f;
}

// CW weight rows x R activation rows per pass: each Q8_K row block is loaded once for CW weight rows.
// Per super-block and pair: d_x * (d * sum_j sc_j q_j.x_j - dmin * sum_g mn_g bsum_g); for Q6_K the
// second term is d * sum_g 32 sc_g bsum_g.
template <int kType, int CW, int R, bool kVnni>
void k_tile(float* s, int64_t ss, const uint8_t* w, int64_t ws, const uint8_t* x, int64_t xs, int64_t nb) {
  __m256 acc[CW][R];
  for (int c = 0; c < CW; ++c)
    for (int r = 0; r < R; ++r) acc[c][r] = _mm256_setzero_ps();
  KDecoded k[CW];
  constexpr int64_t kBlockBytes = kType == 2   ? sizeof(block_q2_K)
                                  : kType == 3 ? sizeof(block_q3_K)
                                  : kType == 4 ? sizeof(block_q4_K)
                                  : kType == 5 ? sizeof(block_q5_K)
                                               : sizeof(block_q6_K);
  const int64_t pf_dist = gemv_prefetch_rows(ws) * ws;  // the same block, rows further on
  for (int64_t i = 0; i < nb; ++i) {
    for (int c = 0; c < CW; ++c) {
      for (int64_t l = 0; l < (kBlockBytes + 63) / 64; ++l)  // weight stream: every line of the block
        _mm_prefetch(reinterpret_cast<const char*>(w + c * ws + i * kBlockBytes) + pf_dist + 64 * l, _MM_HINT_T0);
      if constexpr (kType == 6)
        decode_k6(w + c * ws, i, k[c]);
      else if constexpr (kType == 3)
        decode_k3(w + c * ws, i, k[c]);
      else if constexpr (kType == 2)
        decode_k2(w + c * ws, i, k[c]);
      else
        decode_k45<kType == 5>(w + c * ws, i, k[c]);
    }
    for (int r = 0; r < R; ++r) {
      const auto& a = reinterpret_cast<const block_q8_K*>(x + r * xs)[i];
      __m256i sumi[CW];
      for (int c = 0; c < CW; ++c) sumi[c] = _mm256_setzero_si256();
      for (int j = 0; j < 8; ++j) {
        const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs + 32 * j));
        for (int c = 0; c < CW; ++c) sumi[c] = scaled_dot_acc<kVnni>(sumi[c], k[c].q[j], qx, k[c].sc[j]);
      }
      const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums));
      for (int c = 0; c < CW; ++c) {
        const __m256i summ = _mm256_madd_epi16(bsums, k[c].mn);  // 8 lanes of pairs of groups
        acc[c][r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[c]), _mm256_set1_ps(a.d * k[c].d), acc[c][r]);
        acc[c][r] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(summ), _mm256_set1_ps(a.d * (kType == 6 || kType == 3 ? k[c].d : k[c].dmin)), acc[c][r]);
      }
    }
  }
  for (int c = 0; c < CW; ++c)
    for (int r = 0; r < R; ++r) s[r * ss + c] = hsum(acc[c][r]);
}

// Q4_K GEMV (one activation row): CW weight rows share each activation sub-block load, and each row's codes and
// scales are decoded sub-block by sub-block where they are used (k_tile decodes a whole super-block per row
// first: 17 vectors per row, which spill beyond one row, so it streams one weight row at a time).
template <int CW, bool kVnni>
void q4_k_gemv_rows(float* s, int64_t sst, const uint8_t* w, int64_t rs, int64_t ws, const block_q8_K* a,
                    int64_t nb) {
  const int64_t dist = gemv_prefetch_rows(ws) * ws;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc[CW];
  for (int c = 0; c < CW; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const block_q4_K* b[CW];
    __m256i sc_all[CW], mn[CW], sumi[CW];
    for (int c = 0; c < CW; ++c) {
      b[c] = reinterpret_cast<const block_q4_K*>(w + c * rs) + i;
      for (int l = 0; l < 3; ++l) _mm_prefetch(reinterpret_cast<const char*>(b[c]) + dist + 64 * l, _MM_HINT_T0);
      k45_scales(b[c]->scales, sc_all[c], mn[c]);
      sumi[c] = _mm256_setzero_si256();
    }
    for (int g = 0; g < 4; ++g) {
      const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs + 64 * g));
      const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].qs + 64 * g + 32));
      for (int c = 0; c < CW; ++c) {
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[c]->qs + 32 * g));
        const __m256i s0 = _mm256_shuffle_epi8(sc_all[c], k45_scale_index(2 * g));
        const __m256i s1 = _mm256_shuffle_epi8(sc_all[c], k45_scale_index(2 * g + 1));
        sumi[c] = scaled_dot_acc<kVnni>(sumi[c], _mm256_and_si256(raw, low4), x0, s0);
        sumi[c] = scaled_dot_acc<kVnni>(sumi[c], _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4), x1, s1);
      }
    }
    const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[i].bsums));
    for (int c = 0; c < CW; ++c) {
      const __m256i summ = _mm256_madd_epi16(bsums, mn[c]);
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[c]), _mm256_set1_ps(a[i].d * h2f(b[c]->d)), acc[c]);
      acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(summ), _mm256_set1_ps(a[i].d * h2f(b[c]->dmin)), acc[c]);
    }
  }
  for (int c = 0; c < CW; ++c) s[c * sst] = hsum(acc[c]);
}

// The table entry: weight rows in pairs (kCW = 2) or singly, activation rows in fours.
template <int kType, int kCW, bool kVnni>  // kType 2..6: Q2_K .. Q6_K
void kquant_dot(float* s, int64_t ss, const void* w, int64_t ws, int64_t nw, const void* x, int64_t xs, int64_t nx,
                int64_t K) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const int64_t nb = K / QK_K;
  int64_t c = 0;
  auto rows = [&](auto cw) {
    constexpr int CW = decltype(cw)::value;
    int64_t r = 0;
    for (; r + 4 <= nx; r += 4) k_tile<kType, CW, 4, kVnni>(s + r * ss + c, ss, wb + c * ws, ws, xb + r * xs, xs, nb);
    for (; r < nx; ++r) k_tile<kType, CW, 1, kVnni>(s + r * ss + c, ss, wb + c * ws, ws, xb + r * xs, xs, nb);
  };
  if constexpr (kCW == 2)
    for (; c + 2 <= nw; c += 2) rows(std::integral_constant<int, 2>{});
  for (; c < nw; ++c) rows(std::integral_constant<int, 1>{});
}

// Q4_K's table entry: fewer than 4 activation rows take the GEMV above, 4 weight rows at a time; more go
// through k_tile.
template <bool kVnni>
void q4_k_gemv_or_dot(float* s, int64_t ss, const void* w, int64_t ws, int64_t nw, const void* x, int64_t xs,
                      int64_t nx, int64_t K) {
  if (nx >= 4) return kquant_dot<4, 1, kVnni>(s, ss, w, ws, nw, x, xs, nx, K);
  const auto* wb = static_cast<const uint8_t*>(w);
  const int64_t nb = K / QK_K;
  for (int64_t r = 0; r < nx; ++r) {
    const auto* a = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(x) + r * xs);
    gemv_quarters(
        s + r * ss, wb, ws, nw,
        [&](float* o, int64_t sst, const uint8_t* rw, int64_t rs) { q4_k_gemv_rows<4, kVnni>(o, sst, rw, rs, ws, a, nb); },
        [&](float* o, int64_t sst, const uint8_t* rw, int64_t rs) { q4_k_gemv_rows<1, kVnni>(o, sst, rw, rs, ws, a, nb); });
  }
}

}  // namespace
}  // namespace edgellm::x86q
