// The many-rows path for Q4_0, Q8_0, Q4_K, Q5_K and Q6_K weights: y = x · Wᵀ with x quantized to 8 bits per
// 32-element block (as the GEMV path and llama.cpp do) and the weight unpacked, 32 output features at a time, into
// byte panels for the table's i8_panel_ukernel (VNNI vpdpbusd on AVX-512, maddubs on AVX2, sdot on ARM). Prompt
// processing of a quantized model is this, instead of dequantizing W to f32 tiles for the f32 GEMM.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"
#include "runtime/dtype.h"

namespace edgellm {

// True when `t` has an integer panel kernel (not the scalar definition) and `w` is Q4_0, Q8_0, Q4_K, Q5_K or Q6_K.
bool i8_panel_supported(DType w, const KernelTable& t = kernels());

// y (M, N) = x (M, K) · Wᵀ; W: N rows of K elements of one of those types, rows back to back. K must be a multiple of
// the type's block, else Error. Runs on any table (the scalar one too: tests compare the two); parallel over 32-row
// strips of W.
void matmul_i8_panel(float* y, const float* x, const void* w, DType wtype, int64_t M, int64_t N, int64_t K,
                     const KernelTable& t = kernels());

}  // namespace edgellm
