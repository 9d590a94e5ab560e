// AVX-512 VNNI integer dots of the legacy GGUF formats: Q4_0 and Q8_0 two blocks per zmm (vpdpbusd with
// x biased to unsigned), Q4_1/Q5_0/Q5_1 one block per ymm. Installed only when the CPU has avx512_vnni;
// the K-quants use the shared maddubs body with vpdpwssd for the scale multiply-accumulate.
#include "kernels/arch/x86/quant_dot.h"
#include "kernels/cpu_features.h"
#include "kernels/kernel_table.h"
#include "kernels/quant/rows.h"

#include <vector>

namespace edgellm::detail {
namespace {
using namespace x86q;

// Two f16 scales -> zmm [a x 8 | b x 8].
inline __m512 pair_scale(uint16_t a, uint16_t b) {
  const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(a | (static_cast<uint32_t>(b) << 16))));
  const __m512i idx = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(f));
}

// Signed codes of blocks i, i+1 in one zmm: [block i (32) | block i+1 (32)].
inline __m512i pair_codes(const block_q8_0* w, int64_t i) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[i].qs));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[i + 1].qs));
  return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}
inline __m512i pair_codes(const block_q4_0* w, int64_t i) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i].qs));
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i + 1].qs));
  const __m256i ab = _mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1);
  // [a | a | b | b] in 128-bit lanes; low nibbles in lanes 0 and 2, high nibbles in lanes 1 and 3.
  const __m512i u2 = _mm512_shuffle_i64x2(_mm512_castsi256_si512(ab), _mm512_castsi256_si512(ab), 0x50);
  const __m512i m = _mm512_set1_epi8(0x0F);
  const __m512i lo = _mm512_and_si512(u2, m), hi = _mm512_and_si512(_mm512_srli_epi16(u2, 4), m);
  const __m512i q = _mm512_mask_blend_epi64(0xCC, lo, hi);
  return _mm512_sub_epi8(q, _mm512_set1_epi8(8));
}

// sum_k w_k x_k = vpdpbusd(x ^ 0x80, w) - 128 * sum_k w_k: the bias term depends on W only, so it is
// computed once per block pair and seeds every row's accumulator. A CW x R tile (weight rows x
// activation rows) reuses each activation load CW times and each weight decode R times.
template <class WB, int CW, int R>
void pair_tile(float* s, int64_t ss, const uint8_t* w, int64_t ws, const uint8_t* x, int64_t xs, int64_t nb) {
  __m512 acc[CW][R];
  for (int c = 0; c < CW; ++c)
    for (int r = 0; r < R; ++r) acc[c][r] = _mm512_setzero_ps();
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    __m512i q[CW], seed[CW];
    __m512 dw[CW];
    for (int c = 0; c < CW; ++c) {
      const auto* wb = reinterpret_cast<const WB*>(w + c * ws);
      // ~1 KiB ahead on the weight stream: GEMV is bound by how early the lines arrive.
      _mm_prefetch(reinterpret_cast<const char*>(wb + i) + 1024, _MM_HINT_T0);
      q[c] = pair_codes(wb, i);
      seed[c] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, q[c]));
      dw[c] = pair_scale(wb[i].d, wb[i + 1].d);
    }
    for (int r = 0; r < R; ++r) {
      const auto* a = reinterpret_cast<const block_q8_0*>(x + r * xs) + i;
      const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[0].qs));
      const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[1].qs));
      const __m512i xu = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(x0), x1, 1), bias);
      const __m512 dx = pair_scale(a[0].d, a[1].d);
      for (int c = 0; c < CW; ++c) {
        const __m512i p = _mm512_dpbusd_epi32(seed[c], xu, q[c]);
        acc[c][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw[c], dx), acc[c][r]);
      }
    }
  }
  for (int c = 0; c < CW; ++c)
    for (int r = 0; r < R; ++r) {
      float tail = 0.0f;
      if (i < nb) {  // odd block count: the last block through the 256-bit body
        using T = std::conditional_t<std::is_same_v<WB, block_q8_0>, Q8_0W, Q4_0W>;
        legacy_rows<T, true, 1>(&tail, 1, reinterpret_cast<const WB*>(w + c * ws) + i,
                                x + r * xs + i * static_cast<int64_t>(sizeof(block_q8_0)), xs, 1);
      }
      s[r * ss + c] = _mm512_reduce_add_ps(acc[c][r]) + tail;
    }
}

// ---- GEMV (fewer than 4 activation rows) -------------------------------------------------------
// The activation row is laid out once per call to match the cheapest weight unpack, and the weight's
// zero point / sign bias moves to the activation side: sum w*x = vpdpbusd(seed, u, x) with u the unsigned
// weight codes and seed = -bias * (x summed per lane), precomputed. Per weight block pair: unpack (3-4 ops),
// one vpdpbusd, cvt + fma, and a quarter of the scale work (4 f16 scales at once, times the 4 dx).
struct XPrep {
  std::vector<__m512i> x, seed;  // per block pair
  std::vector<float> dx;         // per block
};

// Q4_0: zmm lanes (128-bit) [lo(a) | lo(b) | hi(a) | hi(b)], i.e. elements a0..15, b0..15, a16..31, b16..31.
struct GemvQ4_0 {
  using WB = block_q4_0;
  static constexpr int8_t kBias = 8;  // u = q + 8
  static __m512i x_pair(const block_q8_0* a) {
    const __m256i xa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[0].qs));
    const __m256i xb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[1].qs));
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_permute2x128_si256(xa, xb, 0x20)),
                              _mm256_permute2x128_si256(xa, xb, 0x31), 1);
  }
  static __m512i codes(const WB* b) {
    const __m256i ab = _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(b[1].qs),
                                           reinterpret_cast<const __m128i*>(b[0].qs));
    const __m512i abab = _mm512_inserti64x4(_mm512_castsi256_si512(ab), ab, 1);
    return _mm512_and_si512(_mm512_mask_srli_epi16(abab, 0xFFFF0000u, abab, 4), _mm512_set1_epi8(0x0F));
  }
  static __m512i idx(int pair) {  // dword lanes: a a a a b b b b a a a a b b b b
    const int a = 2 * pair, b = a + 1;
    return _mm512_set_epi32(b, b, b, b, a, a, a, a, b, b, b, b, a, a, a, a);
  }
  static constexpr int kPrefetchLines = 2;  // 4 blocks = 72 bytes
};
// Q8_0: [a (32) | b (32)]; u = q ^ 0x80 = q + 128.
struct GemvQ8_0 {
  using WB = block_q8_0;
  static constexpr int8_t kBias = static_cast<int8_t>(-128);  // as unsigned: 128
  static __m512i x_pair(const block_q8_0* a) {
    const __m256i xa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[0].qs));
    const __m256i xb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[1].qs));
    return _mm512_inserti64x4(_mm512_castsi256_si512(xa), xb, 1);
  }
  static __m512i codes(const WB* b) {
    const __m256i wa = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[0].qs));
    const __m256i wb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[1].qs));
    return _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(wa), wb, 1),
                            _mm512_set1_epi8(static_cast<char>(0x80)));
  }
  static __m512i idx(int pair) {
    const int a = 2 * pair, b = a + 1;
    return _mm512_set_epi32(b, b, b, b, b, b, b, b, a, a, a, a, a, a, a, a);
  }
  static constexpr int kPrefetchLines = 3;  // 4 blocks = 136 bytes
};

template <class G>
void gemv_prepare(XPrep& p, const block_q8_0* x, int64_t nb) {
  const int64_t np = nb / 2;
  p.x.resize(static_cast<size_t>(np));
  p.seed.resize(static_cast<size_t>(np));
  p.dx.resize(static_cast<size_t>(nb));
  const __m512i bias = _mm512_set1_epi8(G::kBias);
  for (int64_t i = 0; i < np; ++i) {
    const __m512i xz = G::x_pair(x + 2 * i);
    p.x[static_cast<size_t>(i)] = xz;
    p.seed[static_cast<size_t>(i)] =
        _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, xz));
  }
  for (int64_t i = 0; i < nb; ++i) p.dx[static_cast<size_t>(i)] = h2f(x[i].d);
}

// CW weight rows rs bytes apart (rows of ws bytes) against the prepared row x, results s[c * sst]; blocks past the
// last multiple of 4 through legacy_rows.
template <class G, int CW>
void gemv_rows(float* s, int64_t sst, const uint8_t* w, int64_t rs, int64_t ws, const XPrep& p, const block_q8_0* x,
               int64_t nb) {
  using WB = typename G::WB;
  // Prefetch the same blocks of each row's stream about 9 KiB further on: 1 KiB ahead within a row ran into the
  // row's end and the next row's hardware stream.
  const int64_t dist = gemv_prefetch_rows(ws) * ws;
  __m512 acc[CW];
  for (int c = 0; c < CW; ++c) acc[c] = _mm512_setzero_ps();
  const __m512i idx0 = G::idx(0), idx1 = G::idx(1);
  const int64_t nq = nb / 4;
  for (int64_t q = 0; q < nq; ++q) {
    const __m128 dx4 = _mm_loadu_ps(p.dx.data() + 4 * q);
    const __m512i x0 = p.x[static_cast<size_t>(2 * q)], x1 = p.x[static_cast<size_t>(2 * q + 1)];
    for (int c = 0; c < CW; ++c) {
      const WB* b = reinterpret_cast<const WB*>(w + c * rs) + 4 * q;
      for (int l = 0; l < G::kPrefetchLines; ++l)
        _mm_prefetch(reinterpret_cast<const char*>(b) + dist + 64 * l, _MM_HINT_T0);
      const uint64_t d4 = b[0].d | (uint64_t{b[1].d} << 16) | (uint64_t{b[2].d} << 32) | (uint64_t{b[3].d} << 48);
      const __m512 s4 = _mm512_castps128_ps512(_mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<int64_t>(d4))), dx4));
      const __m512i p0 = _mm512_dpbusd_epi32(p.seed[static_cast<size_t>(2 * q)], G::codes(b), x0);
      const __m512i p1 = _mm512_dpbusd_epi32(p.seed[static_cast<size_t>(2 * q + 1)], G::codes(b + 2), x1);
      acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p0), _mm512_permutexvar_ps(idx0, s4), acc[c]);
      acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p1), _mm512_permutexvar_ps(idx1, s4), acc[c]);
    }
  }
  using T = std::conditional_t<std::is_same_v<WB, block_q8_0>, Q8_0W, Q4_0W>;
  for (int c = 0; c < CW; ++c) {
    float tail = 0.0f;
    if (4 * nq < nb)
      legacy_rows<T, true, 1>(&tail, 1, reinterpret_cast<const WB*>(w + c * rs) + 4 * nq,
                              reinterpret_cast<const uint8_t*>(x + 4 * nq), 0, nb - 4 * nq);
    s[c * sst] = _mm512_reduce_add_ps(acc[c]) + tail;
  }
}

template <class G>
void gemv(float* s, int64_t ss, const uint8_t* w, int64_t ws, int64_t nw, const uint8_t* x, int64_t xs, int64_t nx,
          int64_t nb) {
  thread_local XPrep prep;
  for (int64_t r = 0; r < nx; ++r) {
    const auto* xr = reinterpret_cast<const block_q8_0*>(x + r * xs);
    gemv_prepare<G>(prep, xr, nb);
    gemv_quarters(
        s + r * ss, w, ws, nw,
        [&](float* o, int64_t sst, const uint8_t* rw, int64_t rs) { gemv_rows<G, 4>(o, sst, rw, rs, ws, prep, xr, nb); },
        [&](float* o, int64_t sst, const uint8_t* rw, int64_t rs) { gemv_rows<G, 1>(o, sst, rw, rs, ws, prep, xr, nb); });
  }
}

template <class WB>
void pair_dot(float* s, int64_t ss, const void* w, int64_t ws, int64_t nw, const void* x, int64_t xs, int64_t nx,
              int64_t K) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* xb = static_cast<const uint8_t*>(x);
  const int64_t nb = K / QK;
  if (nx < 4) {  // GEMV-like
    using G = std::conditional_t<std::is_same_v<WB, block_q8_0>, GemvQ8_0, GemvQ4_0>;
    return gemv<G>(s, ss, wb, ws, nw, xb, xs, nx, nb);
  }
  int64_t c = 0;
  for (; c + 2 <= nw; c += 2) {
    int64_t r = 0;
    for (; r + 4 <= nx; r += 4) pair_tile<WB, 2, 4>(s + r * ss + c, ss, wb + c * ws, ws, xb + r * xs, xs, nb);
    for (; r < nx; ++r) pair_tile<WB, 2, 1>(s + r * ss + c, ss, wb + c * ws, ws, xb + r * xs, xs, nb);
  }
  for (; c < nw; ++c) {
    int64_t r = 0;
    for (; r + 4 <= nx; r += 4) pair_tile<WB, 1, 4>(s + r * ss + c, ss, wb + c * ws, ws, xb + r * xs, xs, nb);
    for (; r < nx; ++r) pair_tile<WB, 1, 1>(s + r * ss + c, ss, wb + c * ws, ws, xb + r * xs, xs, nb);
  }
}

}  // namespace

void fill_avx512_quant(KernelTable& t) {
  fill_avx512_gint(t);
  if (!cpu_features().avx512vnni) return;  // without VNNI the AVX2 entries stay
  const char* s = "avx512vnni";
  fill_avx512_i8_panel(t);
  // K-quants: maddubs, then vpdpwssd folds the sub-block scale multiply and the accumulate.
  // (kquant_dot<T, 2, true>, 2 weight rows per tile, measured ~15% slower here: the decoded blocks spill.)
  EDGELLM_SET_KERNEL(t, vec_dot_q2_k_q8_k, (kquant_dot<2, 1, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q3_k_q8_k, (kquant_dot<3, 1, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q4_k_q8_k, q4_k_gemv_or_dot<true>, s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_k_q8_k, (kquant_dot<5, 1, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q6_k_q8_k, (kquant_dot<6, 1, true>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q4_0_q8_0, pair_dot<block_q4_0>, s);
  EDGELLM_SET_KERNEL(t, vec_dot_q8_0_q8_0, pair_dot<block_q8_0>, s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_0_q8_0, (quant::dot_tile_by_rows<legacy_dot<Q5_0W, true>>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q4_1_q8_1, (quant::dot_tile_by_rows<legacy_dot<Q4_1W, true>>), s);
  EDGELLM_SET_KERNEL(t, vec_dot_q5_1_q8_1, (quant::dot_tile_by_rows<legacy_dot<Q5_1W, true>>), s);
}

}  // namespace edgellm::detail
