// NEON (aarch64) build of the GEMM family: an 8x12 sgemm micro-kernel (24 q-register accumulators)
// and the row GEMVs widening f16 (vcvt) and bf16 (shift) weights. Not tuned on hardware yet.
#include <arm_neon.h>

#include "kernels/simd/gemm_microkernel.h"
#include "runtime/dtype.h"

namespace edgellm::detail {
namespace {

using ANeon = xsimd::neon64;

struct LoadF16x4 {
  using Wt = uint16_t;
  static xsimd::batch<float, ANeon> load(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
  static float scalar(uint16_t w) { return f16_to_f32(w); }
};
struct LoadBF16x4 {
  using Wt = uint16_t;
  static xsimd::batch<float, ANeon> load(const uint16_t* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
  }
  static float scalar(uint16_t w) { return bf16_to_f32(w); }
};

}  // namespace

void fill_neon_gemm(KernelTable& t) {
  simd::fill_gemm<ANeon, 8, 3, LoadF16x4, LoadBF16x4>(t, "neon", ref::sgemm_pack_bt<12, ANeon>,
                                                      ref::sgemm_pack_an<8, ANeon>, 256, 128, 1024);
}

}  // namespace edgellm::detail
