// Dispatch of linear layers by weight dtype. Float weights go through the GEMM; block-quantized
// ones through the fused quantized matmul.
#include "kernels/linear.h"

#include <vector>

#include "kernels/kernel_table.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm {
namespace {

// Converts `rows` rows of W starting at r0 to f32 into `out` (rows, K).
void rows_to_f32(float* out, const Tensor& W, int64_t r0, int64_t rows) {
  const int64_t K = W.shape().cols();
  for (int64_t r = 0; r < rows; ++r) dequantize_row(out + r * K, W, r0 + r);
}

}  // namespace

void dequantize_row(float* out, const Tensor& W, int64_t r) {
  const int64_t K = W.shape().cols();
  EDGE_CHECK(W.is_contiguous(), "dequantize_row: tensor '{}' is not contiguous", W.name);
  EDGE_CHECK(r >= 0 && r < W.shape().rows(), "dequantize_row: row {} out of range for '{}' {}", r, W.name,
             W.shape().str());
  const auto& k = kernels();
  switch (W.dtype()) {
    case DType::F32: {
      const float* src = W.data<float>() + r * K;
      std::copy(src, src + K, out);
      return;
    }
    case DType::F16:
      k.f16_to_f32(out, W.data<uint16_t>() + r * K, K);
      return;
    case DType::BF16:
      k.bf16_to_f32(out, W.data<uint16_t>() + r * K, K);
      return;
    default:
      fail("no dequantization for tensor '{}' of type {}", W.name, dtype_name(W.dtype()));
  }
}

void linear_forward(float* y, const float* x, const Tensor& W, const float* bias, int64_t M) {
  const int64_t N = W.shape().rows(), K = W.shape().cols();
  // Blocks of W rows are converted once to f32 and reused for every x row.
  constexpr int64_t kRowBlock = 16;
  parallel_for((N + kRowBlock - 1) / kRowBlock, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> wbuf(static_cast<size_t>(kRowBlock * K));
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n0 = b * kRowBlock, nr = std::min(kRowBlock, N - n0);
      const float* wp;
      if (W.dtype() == DType::F32) {
        wp = W.data<float>() + n0 * K;
      } else {
        rows_to_f32(wbuf.data(), W, n0, nr);
        wp = wbuf.data();
      }
      for (int64_t m = 0; m < M; ++m) {
        const float* xr = x + m * K;
        for (int64_t j = 0; j < nr; ++j) {
          const float* wr = wp + j * K;
          float s = 0;
          for (int64_t i = 0; i < K; ++i) s += xr[i] * wr[i];
          y[m * N + n0 + j] = s + (bias ? bias[n0 + j] : 0.0f);
        }
      }
    }
  });
}

void linear_backward_input(float* dx, const float* dy, const Tensor& W, int64_t M) {
  const int64_t N = W.shape().rows(), K = W.shape().cols();
  parallel_for(M, 1, [&](int64_t m0, int64_t m1) {
    std::vector<float> wrow(static_cast<size_t>(K));
    for (int64_t n = 0; n < N; ++n) {
      dequantize_row(wrow.data(), W, n);
      for (int64_t m = m0; m < m1; ++m) {
        const float g = dy[m * N + n];
        float* dxr = dx + m * K;
        for (int64_t i = 0; i < K; ++i) dxr[i] += g * wrow[static_cast<size_t>(i)];
      }
    }
  });
}

void linear_backward_weight(float* dW, const float* dy, const float* x, int64_t M, int64_t N, int64_t K) {
  parallel_for(N, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t m = 0; m < M; ++m) {
        const float g = dy[m * N + n];
        const float* xr = x + m * K;
        float* dwr = dW + n * K;
        for (int64_t i = 0; i < K; ++i) dwr[i] += g * xr[i];
      }
  });
}

}  // namespace edgellm
