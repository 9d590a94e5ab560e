// matmul_quant: y = x · Wᵀ for a GGUF-quantized weight W, through the kernel table's integer vec_dots.
// Activations are quantized once per call (Q8_0, Q8_1 or Q8_K by W's type); no f32 weight copy is made.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/kernel_table.h"
#include "runtime/dtype.h"

namespace edgellm {

// The pieces of the table that serve one weight type.
struct QuantOps {
  DType act;                  // activation block type the dot expects
  quant_row_fn* quantize_act; // f32 row -> act blocks
  dequant_row_fn* dequantize; // weight row -> f32
  quant_vec_dot_fn* vec_dot;  // weight row · act rows
  const char* vec_dot_isa;
};
// Throws Error if `w` is not one of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K.
QuantOps quant_ops(DType w, const KernelTable& t = kernels());
bool quant_matmul_supported(DType w);

// y (M, N) = x (M, K) · Wᵀ; W: N rows of K elements of type `wtype`, row-major, rows packed back to back.
// K must be a multiple of wtype's block (32 or 256), else Error. Parallel over N (runtime/parallel.h).
void matmul_quant(float* y, const float* x, const void* w, DType wtype, int64_t M, int64_t N, int64_t K,
                  const KernelTable& t = kernels());

// The activation half alone, for callers that reuse one quantized x against several weights:
// xq (M rows of dtype_row_bytes(act, K)) from x (M, K).
void quantize_activations(std::vector<uint8_t>& xq, const float* x, int64_t M, int64_t K, const QuantOps& ops);
// y (M, N) from an already quantized x.
void matmul_quant_prequantized(float* y, const uint8_t* xq, const void* w, DType wtype, int64_t M, int64_t N,
                               int64_t K, const QuantOps& ops);

}  // namespace edgellm

namespace edgellm {
// y (M, N) = x (M, K) · Wᵀ for a GINT weight (N rows of quant::gint_row_bytes each, kernels/quant/gint.h).
// Activations stay f32; each weight group is decoded once per call. Parallel over N.
void matmul_gint(float* y, const float* x, const uint8_t* w, int bits, int group, int64_t M, int64_t N, int64_t K,
                 const KernelTable& t = kernels());
}  // namespace edgellm
