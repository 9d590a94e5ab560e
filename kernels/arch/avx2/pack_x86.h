// 8x8 AVX transposes for packing B micro-panels from rows of W (the x·Wᵀ case), shared by the
// avx2 and avx512 gemm files. Everything here is file-local (static) so that each arch keeps its own copy.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/ref/gemm.h"

namespace edgellm::detail {
namespace {

// o[c][r] = rows[r][c] for an 8x8 block: the eight columns of eight rows.
static inline void transpose8x8(const float* const rows[8], __m256 o[8]) {
  const __m256 r0 = _mm256_loadu_ps(rows[0]), r1 = _mm256_loadu_ps(rows[1]), r2 = _mm256_loadu_ps(rows[2]),
               r3 = _mm256_loadu_ps(rows[3]), r4 = _mm256_loadu_ps(rows[4]), r5 = _mm256_loadu_ps(rows[5]),
               r6 = _mm256_loadu_ps(rows[6]), r7 = _mm256_loadu_ps(rows[7]);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  o[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  o[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  o[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  o[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  o[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  o[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  o[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  o[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// dst[c * ldd + r] = src[r * ld + c] for an 8x8 block.
static inline void transpose8x8(const float* src, int64_t ld, float* dst, int64_t ldd) {
  const float* rows[8] = {src, src + ld, src + 2 * ld, src + 3 * ld, src + 4 * ld, src + 5 * ld, src + 6 * ld,
                          src + 7 * ld};
  __m256 o[8];
  transpose8x8(rows, o);
  for (int c = 0; c < 8; ++c) _mm256_storeu_ps(dst + c * ldd, o[c]);
}

// sgemm_pack_an for MR rows: dst (kc, MR) k-major, dst[k*MR + i] = alpha * a[i*lda + k]. Rows go
// in blocks of 8 through the transpose; a short last block reloads its last row and stores masked.
template <int MR, class Tag>
void pack_an_avx(float* dst, const float* a, int64_t lda, int64_t kc, int64_t mr, float alpha) {
  if (mr != MR || kc < 8) {
    ref::sgemm_pack_an<MR, Tag>(dst, a, lda, kc, mr, alpha);
    return;
  }
  const int64_t k8 = kc / 8 * 8;
  const __m256 va = _mm256_set1_ps(alpha);
  for (int r0 = 0; r0 < MR; r0 += 8) {
    const int rows_here = MR - r0 < 8 ? MR - r0 : 8;
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(rows_here), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const float* rows[8];
    for (int r = 0; r < 8; ++r) rows[r] = a + (r0 + (r < rows_here ? r : rows_here - 1)) * lda;
    for (int64_t k = 0; k < k8; k += 8) {
      __m256 o[8];
      transpose8x8(rows, o);
      for (int r = 0; r < 8; ++r) rows[r] += 8;
      for (int c = 0; c < 8; ++c) {
        if (rows_here == 8)
          _mm256_storeu_ps(dst + (k + c) * MR + r0, _mm256_mul_ps(o[c], va));
        else
          _mm256_maskstore_ps(dst + (k + c) * MR + r0, mask, _mm256_mul_ps(o[c], va));
      }
    }
    for (int r = 0; r < rows_here; ++r)
      for (int64_t k = k8; k < kc; ++k) dst[k * MR + r0 + r] = alpha * a[(r0 + r) * lda + k];
  }
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
    for (int64_t k = 0; k < k8; k += 8) {
      // W comes from DRAM: fetch the same lines of the next micro-panel (the next NR rows) into L2
      // while this one is transposed and used, so its memory time overlaps the micro-kernel's.
      if ((k & 15) == 0)
        for (int r = 0; r < 8; ++r) _mm_prefetch(reinterpret_cast<const char*>(src + (NR + r) * ldw + k), _MM_HINT_T1);
      transpose8x8(src + k, ldw, dst + k * NR + j, NR);
    }
    for (int r = 0; r < 8; ++r)
      for (int64_t k = k8; k < kc; ++k) dst[k * NR + j + r] = src[r * ldw + k];
  }
}

}  // namespace
}  // namespace edgellm::detail
