// Round-to-nearest quantization and dequantization of whole rows by dtype: the by-name entry
// to the GGUF reference quantizers. Not GPTQ/AWQ (quant/): those choose the values, this packs them.
#pragma once

#include <cstdint>

#include "runtime/dtype.h"

namespace edgellm {

// dst receives dtype_row_bytes(t, n) bytes; n must be a multiple of t's block. Throws Error otherwise
// or for a type with no quantizer.
void quantize_row_to(DType t, void* dst, const float* x, int64_t n);
void dequantize_row_from(DType t, float* y, const void* src, int64_t n);

}  // namespace edgellm
