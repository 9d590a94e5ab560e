// y = x·Wᵀ (+ b) for a weight of any dtype: the one entry point models and training use,
// dispatching on W's dtype to the f32 GEMM, the f16/bf16-weight GEMM or the fused quantized matmul.
// Not a general GEMM (kernels/gemm.h is): W is always (N, K) row-major, as in PyTorch and GGUF.
#pragma once

#include <cstdint>

#include "runtime/tensor.h"

namespace edgellm {

// How a block-quantized W is multiplied. Fast (inference): 8-bit activations and integer dot products
// wherever a kernel has them, as llama.cpp does. Exact (training, calibration): W dequantized to f32
// tiles and the f32 GEMM, so the forward is exactly the function whose gradient backward computes.
enum class QuantMath { Fast, Exact };

// y (M, N) = x (M, K) · W (N, K)ᵀ + bias (N, may be null). Overwrites y. W.in_perm (a group-int column
// order) is honoured here, in linear_backward_input and in dequantize_row (which returns input order).
void linear_forward(float* y, const float* x, const Tensor& W, const float* bias, int64_t M,
                    QuantMath math = QuantMath::Fast);

// dx (M, K) += dy (M, N) · W (N, K): the input gradient, for any W dtype (a frozen quantized base too).
// accumulate = false writes dx = dy · W without reading dx (no zero-fill needed first).
void linear_backward_input(float* dx, const float* dy, const Tensor& W, int64_t M, bool accumulate = true);

// dW (N, K) += dy (M, N)ᵀ · x (M, K), for an f32 weight gradient.
void linear_backward_weight(float* dW, const float* dy, const float* x, int64_t M, int64_t N, int64_t K);

// Row r of W as f32 (K): embedding lookups from a table of any dtype.
void dequantize_row(float* out, const Tensor& W, int64_t r);
// W (N, K) of any dtype as f32 (input column order; W itself when already f32): GGUF export to another type,
// full fine-tuning of a quantized base.
Tensor dequantize(const Tensor& W);

}  // namespace edgellm
