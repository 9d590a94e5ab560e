// Scalar references of the GGUF block formats: quantize a row, dequantize a row, and the
// integer dot product of a weight row with 8-bit activation rows. Not tuned: SIMD twins live in arch/.
#pragma once

#include <cstdint>

namespace edgellm::ref {

// n is a multiple of the type's block (32 or 256). x (n) floats; y packed blocks.
#define EDGELLM_QUANT_TYPES(X) X(q4_0) X(q4_1) X(q5_0) X(q5_1) X(q8_0) X(q8_1) X(q2_k) X(q3_k) X(q4_k) X(q5_k) X(q6_k) X(q8_k)
#define EDGELLM_DECLARE_QUANT(t)                                  \
  void quantize_row_##t##_ref(void* y, const float* x, int64_t n); \
  void dequantize_row_##t(float* y, const void* x, int64_t n);
EDGELLM_QUANT_TYPES(EDGELLM_DECLARE_QUANT)
#undef EDGELLM_DECLARE_QUANT

// s[j * s_stride] = dot(w, x_j) for j < nx: w one weight row of K elements, x_j the row at x + j*x_stride bytes
// holding the activation blocks (Q8_0 / Q8_1 / Q8_K). Integer products, float per-block scaling.
#define EDGELLM_VEC_DOT_PAIRS(X) \
  X(q4_0, q8_0) X(q4_1, q8_1) X(q5_0, q8_0) X(q5_1, q8_1) X(q8_0, q8_0) X(q2_k, q8_k) X(q3_k, q8_k) X(q4_k, q8_k) X(q5_k, q8_k) X(q6_k, q8_k)
#define EDGELLM_DECLARE_VEC_DOT(W, A) \
  void vec_dot_##W##_##A##_ref(float* s, int64_t s_stride, const void* w, const void* x, int64_t x_stride, int64_t nx, int64_t K);
EDGELLM_VEC_DOT_PAIRS(EDGELLM_DECLARE_VEC_DOT)
#undef EDGELLM_DECLARE_VEC_DOT

}  // namespace edgellm::ref

namespace edgellm::ref {
// GINT fused dot: s[r*s_stride] = dot(dequantized GINT row w (K), x + r*x_stride (floats)), r < nx.
void gint_dot_ref(float* s, int64_t s_stride, const uint8_t* w, const float* x, int64_t x_stride, int64_t nx,
                  int64_t K, int bits, int group);
// LUT GEMV scalar twin (kernels/ref/lut.cpp; layout in kernels/lut_gemv.h).
void lut_gemv_ref(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables, const float* xd,
                  const float* xg, int64_t tiles, int64_t nb, int bits, int gb);
// The same on Q2_K / Q3_K weights (kernel_table.h's lut_gemv_kquant_fn).
void lut_gemv_kquant_ref(float* y, const uint8_t* codes, const uint8_t* sub, const uint16_t* d,
                         const uint8_t* tables, const float* xd, const int16_t* bsums, int64_t tiles, int64_t nsb,
                         int bits);
}  // namespace edgellm::ref
