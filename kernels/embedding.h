// Driver of the embedding lookup and its scatter-add backward: id checks and threads.
// Not quantized tables: f32 rows only (a quantized table would dequantize its rows through the quant kernels).
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace edgellm {

// out (T, C) = table (vocab, C) [ids (T)]. Throws Error if an id is outside [0, vocab).
void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t T, int64_t C, int64_t vocab,
                       const KernelTable& kt = kernels());

// dtable (vocab, C) [ids[t]] += dout (T, C) [t]; repeated ids accumulate. Threads split columns, not
// rows, so two tokens with the same id never race.
void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t T, int64_t C, int64_t vocab,
                        const KernelTable& kt = kernels());

}  // namespace edgellm
