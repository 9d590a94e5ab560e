// Fills the GEMM family with the scalar references: a 4x4 micro-kernel and the row GEMVs.
// Not tuned: it is the portable base that every ISA overlays and the tests' second opinion.
#include "kernels/kernel_table.h"
#include "kernels/ref/gemm.h"

namespace edgellm::detail {

void fill_scalar_gemm(KernelTable& t) {
  const char* s = "scalar";
  EDGELLM_SET_KERNEL(t, sgemm_ukernel, (ref::sgemm_ukernel<4, 4>), s);
  EDGELLM_SET_KERNEL(t, sgemm_pack_bt, (ref::sgemm_pack_bt<4>), s);
  EDGELLM_SET_KERNEL(t, sgemm_pack_an, (ref::sgemm_pack_an<4>), s);
  EDGELLM_SET_KERNEL(t, sgemv_rows, (ref::sgemv_rows<float, ref::WidenF32>), s);
  EDGELLM_SET_KERNEL(t, sgemv_rows_f16, (ref::sgemv_rows<uint16_t, ref::WidenF16>), s);
  EDGELLM_SET_KERNEL(t, sgemv_rows_bf16, (ref::sgemv_rows<uint16_t, ref::WidenBF16>), s);
  t.sgemm_block = GemmBlocking{4, 4, 256, 64, 1024};
}

}  // namespace edgellm::detail
