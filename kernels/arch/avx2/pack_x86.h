// 8x8 AVX transposes for packing B micro-panels from rows of W (the x·Wᵀ case), shared by the
// avx2 and avx512 gemm files. Everything here is file-local (static) so that each arch keeps its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/ref/gemm.h"

namespace edgellm::detail {
namespace {

// dst[c * ldd + r] = src[r * ld + c] for an 8x8 block.
static inline void transpose8x8(const float* src, int64_t ld, float* dst, int64_t ldd) {
  const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld), r2 = _mm256_loadu_ps(src + 2 * ld),
               r3 = _mm256_loadu_ps(src + 3 * ld), r4 = _mm256_loadu_ps(src + 4 * ld),
               r5 = _mm256_loadu_ps(src + 5 * ld), r6 = _mm256_loadu_ps(src + 6 * ld),
               r7 = _mm256_loadu_ps(src + 7 * ld);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// sgemm_pack_bt for NR columns (a multiple of 8): 8 rows of W at a time, k in blocks of 8, so that
// only 8 read streams are live (rows of W are often 4 KiB apart and alias in L1).
// Tag is the arch (xsimd type) of the including file, so the scalar tail it instantiates is its own.
template <int NR, class Tag>
void pack_bt_avx(float* dst, const float* w, int64_t ldw, int64_t kc, int64_t nr) {
  if (nr != NR || kc < 8) {
    ref::sgemm_pack_bt<NR, Tag>(dst, w, ldw, kc, nr);
    return;
  }
  const int64_t k8 = kc / 8 * 8;
  for (int j = 0; j < NR; j += 8) {
    const float* src = w + j * ldw;
    for (int64_t k = 0; k < k8; k += 8) transpose8x8(src + k, ldw, dst + k * NR + j, NR);
    for (int r = 0; r < 8; ++r)
      for (int64_t k = k8; k < kc; ++k) dst[k * NR + j + r] = src[r * ldw + k];
  }
}

}  // namespace
}  // namespace edgellm::detail
