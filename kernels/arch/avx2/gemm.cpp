// AVX2+FMA build of the GEMM family: a 6x16 sgemm micro-kernel (12 ymm accumulators) and the row
// GEMVs with F16C/shift widening of 16-bit weights. Compiled with -mavx2 -mfma -mf16c only.
#include <immintrin.h>

#include "kernels/arch/avx2/pack_x86.h"
#include "kernels/simd/gemm_microkernel.h"
#include "runtime/dtype.h"

namespace edgellm::detail {
namespace {

using A256 = xsimd::fma3<xsimd::avx2>;

struct LoadF16x8 {
  using Wt = uint16_t;
  static xsimd::batch<float, A256> load(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float scalar(uint16_t w) { return f16_to_f32(w); }
};
struct LoadBF16x8 {
  using Wt = uint16_t;
  static xsimd::batch<float, A256> load(const uint16_t* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static float scalar(uint16_t w) { return bf16_to_f32(w); }
};

}  // namespace

void fill_avx2_gemm(KernelTable& t) {
  simd::fill_gemm<A256, 6, 2, LoadF16x8, LoadBF16x8>(t, "avx2", pack_bt_avx<16, A256>, pack_an_avx<6, A256>,
                                                     256, 120, 1024);
}

}  // namespace edgellm::detail
