// Dispatch by dtype to the scalar GGUF reference quantizers (kernels/ref/quant.h).
#include "kernels/quant_convert.h"

#include "kernels/ref/quant.h"
#include "runtime/error.h"

namespace edgellm {

void quantize_row_to(DType t, void* dst, const float* x, int64_t n) {
  (void)dtype_row_bytes(t, n);  // validates the block multiple
  switch (t) {
#define EDGELLM_QUANT_CASE(name, DT) \
  case DType::DT:                    \
    return ref::quantize_row_##name##_ref(dst, x, n);
    EDGELLM_QUANT_CASE(q4_0, Q4_0)
    EDGELLM_QUANT_CASE(q4_1, Q4_1)
    EDGELLM_QUANT_CASE(q5_0, Q5_0)
    EDGELLM_QUANT_CASE(q5_1, Q5_1)
    EDGELLM_QUANT_CASE(q8_0, Q8_0)
    EDGELLM_QUANT_CASE(q8_1, Q8_1)
    EDGELLM_QUANT_CASE(q2_k, Q2_K)
    EDGELLM_QUANT_CASE(q3_k, Q3_K)
    EDGELLM_QUANT_CASE(q4_k, Q4_K)
    EDGELLM_QUANT_CASE(q5_k, Q5_K)
    EDGELLM_QUANT_CASE(q6_k, Q6_K)
    EDGELLM_QUANT_CASE(q8_k, Q8_K)
#undef EDGELLM_QUANT_CASE
    default:
      fail("no quantizer for type {}", dtype_name(t));
  }
}

void dequantize_row_from(DType t, float* y, const void* src, int64_t n) {
  (void)dtype_row_bytes(t, n);
  switch (t) {
#define EDGELLM_DEQUANT_CASE(name, DT) \
  case DType::DT:                      \
    return ref::dequantize_row_##name(y, src, n);
    EDGELLM_DEQUANT_CASE(q4_0, Q4_0)
    EDGELLM_DEQUANT_CASE(q4_1, Q4_1)
    EDGELLM_DEQUANT_CASE(q5_0, Q5_0)
    EDGELLM_DEQUANT_CASE(q5_1, Q5_1)
    EDGELLM_DEQUANT_CASE(q8_0, Q8_0)
    EDGELLM_DEQUANT_CASE(q8_1, Q8_1)
    EDGELLM_DEQUANT_CASE(q2_k, Q2_K)
    EDGELLM_DEQUANT_CASE(q3_k, Q3_K)
    EDGELLM_DEQUANT_CASE(q4_k, Q4_K)
    EDGELLM_DEQUANT_CASE(q5_k, Q5_K)
    EDGELLM_DEQUANT_CASE(q6_k, Q6_K)
    EDGELLM_DEQUANT_CASE(q8_k, Q8_K)
#undef EDGELLM_DEQUANT_CASE
    default:
      fail("no dequantizer for type {}", dtype_name(t));
  }
}

}  // namespace edgellm
