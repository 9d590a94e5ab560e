// AVX-512 build of the GEMM family: a 14x32 sgemm micro-kernel (28 zmm accumulators) and the row
// GEMVs with F16C/shift widening of 16-bit weights. Compiled with the avx512 folder's flags only.
#include <immintrin.h>

#include "kernels/arch/avx2/pack_x86.h"
#include "kernels/simd/gemm_microkernel.h"
#include "runtime/dtype.h"

namespace edgellm::detail {
namespace {

using A512 = xsimd::avx512bw;

struct LoadF16x16 {
  using Wt = uint16_t;
  static xsimd::batch<float, A512> load(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static float scalar(uint16_t w) { return f16_to_f32(w); }
};
struct LoadBF16x16 {
  using Wt = uint16_t;
  static xsimd::batch<float, A512> load(const uint16_t* p) {
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
  }
  static float scalar(uint16_t w) { return bf16_to_f32(w); }
};

}  // namespace

void fill_avx512_gemm(KernelTable& t) {
  // Blocking measured on Sapphire Rapids (48 KiB L1d, 2 MiB L2): kc 256, mc 84, nc 1024 (bench/RESULTS.md).
  simd::fill_gemm<A512, 14, 2, LoadF16x16, LoadBF16x16>(t, "avx512", pack_bt_avx<32, A512>,
                                                         pack_an_avx<14, A512>, 256, 84, 1024);
}

}  // namespace edgellm::detail
