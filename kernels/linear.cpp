// Dispatch of linear layers by weight dtype. Float weights go through the GEMM; block-quantized and
// group-int ones through the fused quantized matmul (few rows) or dequantized tiles and the GEMM (many).
#include "kernels/linear.h"

#include <vector>

#include "kernels/gemm.h"
#include "kernels/kernel_table.h"
#include "kernels/lut_gemv.h"
#include "kernels/quant/gint.h"
#include "kernels/quant_convert.h"
#include "kernels/quant_gemm_i8.h"
#include "kernels/quant_matmul.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/profile.h"

namespace edgellm {
namespace {

// From this many rows of x, quantized weights go through dequantized tiles and the f32 GEMM.
constexpr int64_t kDequantGemmMinRows = 32;

// Converts `rows` rows of W starting at r0 to f32 into `out` (rows, K).
void rows_to_f32(float* out, const Tensor& W, int64_t r0, int64_t rows) {
  const int64_t K = W.shape().cols();
  for (int64_t r = 0; r < rows; ++r) dequantize_row(out + r * K, W, r0 + r);
}

// --profile's path of a linear: the weight's type, the route linear_forward takes and the ISA of its inner kernel.
std::string linear_path(const Tensor& W, int64_t M, QuantMath math) {
  const KernelTable& kt = kernels();
  const std::string dt(dtype_name(W.dtype()));
  const char* gemm = M == 1 ? "gemv" : "gemm";
  const char* gemm_isa = M == 1 ? kt.sgemv_rows_isa : kt.sgemm_ukernel_isa;
  switch (W.dtype()) {
    case DType::F32:
    case DType::F16:
    case DType::BF16:
      return fmt::format("{} {} {}", dt, gemm, gemm_isa);
    default:
      if (math == QuantMath::Fast && M >= kDequantGemmMinRows && i8_panel_supported(W.dtype()))
        return fmt::format("{} i8-panel {}", dt, kt.i8_panel_ukernel_isa);
      if (math == QuantMath::Exact || M >= kDequantGemmMinRows)
        return fmt::format("{} dequant+gemm {}", dt, kt.sgemm_ukernel_isa);
      if (lut_gemv_selected(W.dtype(), M)) return fmt::format("{} lut_gemv {}", dt, lut_gemv_isa(W.dtype()));
      if (dtype_is_gint(W.dtype())) return fmt::format("{} gint_dot {}", dt, kt.gint_dot_isa);
      return fmt::format("{} vec_dot {}", dt, quant_ops(W.dtype()).vec_dot_isa);
  }
}

// Weights read once, activations in and out once; 2·M·N·K flops.
profile::Cost linear_cost(const Tensor& W, int64_t M) {
  const double N = static_cast<double>(W.shape().rows()), K = static_cast<double>(W.shape().cols());
  const double m = static_cast<double>(M);
  return {N * static_cast<double>(dtype_row_bytes(W.dtype(), W.shape().cols())) + 4 * m * (K + N), 2 * m * N * K};
}

}  // namespace

Tensor dequantize(const Tensor& W) {
  if (W.dtype() == DType::F32) return W;
  Tensor out = Tensor::empty(W.shape());
  for (int64_t r = 0; r < W.shape().rows(); ++r) dequantize_row(out.data<float>() + r * W.shape().cols(), W, r);
  return out;
}

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
    default: {
      if (!dtype_info(W.dtype()).quantized)
        fail("no dequantization for tensor '{}' of type {}", W.name, dtype_name(W.dtype()));
      const int64_t rb = dtype_row_bytes(W.dtype(), K);
      if (dtype_is_gint(W.dtype())) {
        const quant::GintParams p{gint_bits(W.dtype()), gint_group(W.dtype())};
        if (!W.in_perm) return quant::dequantize_row_gint(out, W.raw() + r * rb, K, p);
        // Stored column j is input channel in_perm[j]: decode, then put each value at its channel.
        thread_local std::vector<float> tmp;
        tmp.resize(static_cast<size_t>(K));
        quant::dequantize_row_gint(tmp.data(), W.raw() + r * rb, K, p);
        const int32_t* perm = W.in_perm->data();
        for (int64_t j = 0; j < K; ++j) out[perm[j]] = tmp[static_cast<size_t>(j)];
        return;
      }
      if (quant_matmul_supported(W.dtype())) return quant_ops(W.dtype()).dequantize(out, W.raw() + r * rb, K);
      dequantize_row_from(W.dtype(), out, W.raw() + r * rb, K);
    }
  }
}

void linear_forward(float* y, const float* x, const Tensor& W, const float* bias, int64_t M, QuantMath math) {
  const int64_t N = W.shape().rows(), K = W.shape().cols();
  EDGE_CHECK(W.is_contiguous(), "linear: weight '{}' is not contiguous", W.name);
  profile::Scope prof("linear", [&] { return linear_path(W, M, math); }, [&] { return linear_cost(W, M); });
  switch (W.dtype()) {
    case DType::F32:
      gemm_f32(Trans::N, Trans::T, M, N, K, 1.0f, x, K, W.data<float>(), K, 0.0f, y, N);
      break;
    case DType::F16:
    case DType::BF16:
      gemm_f32_w16(W.dtype(), Trans::N, Trans::T, M, N, K, 1.0f, x, K, W.data<uint16_t>(), K, 0.0f, y, N);
      break;
    default:
      if (!quant_matmul_supported(W.dtype()) && !dtype_is_gint(W.dtype()))
        fail("linear: no matmul for weight '{}' of type {}", W.name, dtype_name(W.dtype()));
      if (math == QuantMath::Fast && M >= kDequantGemmMinRows && i8_panel_supported(W.dtype())) {
        // Many rows of a Q4_0 / Q8_0 / Q4_K / Q5_K / Q6_K weight on a CPU with 8-bit dot products: integer panels.
        matmul_i8_panel(y, x, W.raw(), W.dtype(), M, N, K);
      } else if (math == QuantMath::Exact || M >= kDequantGemmMinRows) {
        // Many rows: the f32 GEMM on dequantized row blocks beats integer dots once the dequantization
        // (N·K work) is spread over M rows (2·M·N·K flops).
        constexpr int64_t kBlock = 256;
        std::vector<float> tile(static_cast<size_t>(std::min(kBlock, N) * K));
        for (int64_t n0 = 0; n0 < N; n0 += kBlock) {
          const int64_t nr = std::min(kBlock, N - n0);
          parallel_for(nr, 8, [&](int64_t a, int64_t b) { rows_to_f32(tile.data() + a * K, W, n0 + a, b - a); });
          gemm_f32(Trans::N, Trans::T, M, nr, K, 1.0f, x, K, tile.data(), K, 0.0f, y + n0, N);
        }
      } else if (dtype_is_gint(W.dtype())) {
        // Few rows: the fused dequant-dot decodes each weight group once and keeps x in f32. A column
        // permutation (act-order checkpoints) gathers x's channels into the stored order first:
        // x·Wᵀ = x[:, perm]·W'ᵀ with W' the stored matrix.
        const float* xs = x;
        std::vector<float> xp;
        if (W.in_perm) {
          xp.resize(static_cast<size_t>(M * K));
          const int32_t* perm = W.in_perm->data();
          for (int64_t m = 0; m < M; ++m)
            for (int64_t j = 0; j < K; ++j) xp[static_cast<size_t>(m * K + j)] = x[m * K + perm[j]];
          xs = xp.data();
        }
        if (lut_gemv_selected(W.dtype(), M))
          lut_matmul(y, xs, M, lut_weights_of(W));  // decode of 2/3-bit weights: table lookups, no dequantization
        else
          matmul_gint(y, xs, W.raw(), gint_bits(W.dtype()), gint_group(W.dtype()), M, N, K);
      } else if (lut_gemv_selected(W.dtype(), M)) {
        lut_matmul(y, x, M, lut_weights_of(W));  // decode of Q2_K / Q3_K weights: table lookups, no dequantization
      } else {
        matmul_quant(y, x, W.raw(), W.dtype(), M, N, K);
      }
  }
  if (bias)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) y[m * N + n] += bias[n];
}

void linear_backward_input(float* dx, const float* dy, const Tensor& W, int64_t M, bool accumulate) {
  const int64_t N = W.shape().rows(), K = W.shape().cols();
  const float beta = accumulate ? 1.0f : 0.0f;
  profile::Scope prof("linear_backward_input", [&] { return linear_path(W, M, QuantMath::Exact); },
                      [&] { return linear_cost(W, M); });
  switch (W.dtype()) {
    case DType::F32:
      gemm_f32(Trans::N, Trans::N, M, K, N, 1.0f, dy, N, W.data<float>(), K, beta, dx, K);
      return;
    case DType::F16:
    case DType::BF16:
      gemm_f32_w16(W.dtype(), Trans::N, Trans::N, M, K, N, 1.0f, dy, N, W.data<uint16_t>(), K, beta, dx, K);
      return;
    default:
      break;
  }
  // A frozen quantized weight: dequantize blocks of rows to f32 tiles and accumulate dy[:, rows]·tile.
  constexpr int64_t kRows = 64;
  std::vector<float> tile(static_cast<size_t>(kRows * K));
  for (int64_t n0 = 0; n0 < N; n0 += kRows) {
    const int64_t nr = std::min(kRows, N - n0);
    rows_to_f32(tile.data(), W, n0, nr);
    gemm_f32(Trans::N, Trans::N, M, K, nr, 1.0f, dy + n0, N, tile.data(), K, n0 == 0 ? beta : 1.0f, dx, K);
  }
}

void linear_backward_weight(float* dW, const float* dy, const float* x, int64_t M, int64_t N, int64_t K) {
  profile::Scope prof("linear_backward_weight", [] { return fmt::format("f32 gemm {}", kernels().sgemm_ukernel_isa); },
                      [&] { return profile::Cost{4.0 * (2.0 * N * K + M * (N + K)), 2.0 * M * N * K}; });
  gemm_f32(Trans::T, Trans::N, N, K, M, 1.0f, dy, N, x, K, 1.0f, dW, K);
}

}  // namespace edgellm
