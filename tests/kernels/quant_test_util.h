// Shared helpers of the quantization tests: the per-type reference functions and random data.
// Test-only; the library's own type dispatch is kernels/quant_matmul.h's quant_ops().
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/ref/quant.h"
#include "runtime/dtype.h"

namespace edgellm::test {

struct QType {
  DType t;
  void (*quantize)(void*, const float*, int64_t);
  void (*dequantize)(float*, const void*, int64_t);
};

inline const std::vector<QType>& all_qtypes() {
  static const std::vector<QType> v = {
      {DType::Q4_0, ref::quantize_row_q4_0_ref, ref::dequantize_row_q4_0},
      {DType::Q4_1, ref::quantize_row_q4_1_ref, ref::dequantize_row_q4_1},
      {DType::Q5_0, ref::quantize_row_q5_0_ref, ref::dequantize_row_q5_0},
      {DType::Q5_1, ref::quantize_row_q5_1_ref, ref::dequantize_row_q5_1},
      {DType::Q8_0, ref::quantize_row_q8_0_ref, ref::dequantize_row_q8_0},
      {DType::Q8_1, ref::quantize_row_q8_1_ref, ref::dequantize_row_q8_1},
      {DType::Q2_K, ref::quantize_row_q2_k_ref, ref::dequantize_row_q2_k},
      {DType::Q3_K, ref::quantize_row_q3_k_ref, ref::dequantize_row_q3_k},
      {DType::Q4_K, ref::quantize_row_q4_k_ref, ref::dequantize_row_q4_k},
      {DType::Q5_K, ref::quantize_row_q5_k_ref, ref::dequantize_row_q5_k},
      {DType::Q6_K, ref::quantize_row_q6_k_ref, ref::dequantize_row_q6_k},
      {DType::Q8_K, ref::quantize_row_q8_k_ref, ref::dequantize_row_q8_k},
  };
  return v;
}

inline const QType& qtype(DType t) {
  for (const auto& q : all_qtypes())
    if (q.t == t) return q;
  throw std::runtime_error("no such qtype");
}

// Gaussian values with a few outliers (the shape LLM weights have), scale `sigma`.
inline std::vector<float> random_weights(int64_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, sigma);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = g(rng) * (u(rng) < 0.01f ? 6.0f : 1.0f);
  return v;
}

inline std::vector<uint8_t> quantize(const QType& q, const std::vector<float>& x, int64_t rows, int64_t cols) {
  const int64_t rb = dtype_row_bytes(q.t, cols);
  std::vector<uint8_t> out(static_cast<size_t>(rows * rb));
  for (int64_t r = 0; r < rows; ++r) q.quantize(out.data() + r * rb, x.data() + r * cols, cols);
  return out;
}

inline std::vector<float> dequantize(const QType& q, const std::vector<uint8_t>& b, int64_t rows, int64_t cols) {
  const int64_t rb = dtype_row_bytes(q.t, cols);
  std::vector<float> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) q.dequantize(out.data() + r * cols, b.data() + r * rb, cols);
  return out;
}

}  // namespace edgellm::test
