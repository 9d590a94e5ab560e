// The quantized matmul driver: quantize x rows once, then every weight row against all of them.
// Not a kernel: the inner products are the table's vec_dot entries (scalar / AVX2 / VNNI / NEON).
#include "kernels/quant_matmul.h"

#include <algorithm>

#include "kernels/quant/gint.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm {

bool quant_matmul_supported(DType w) {
  switch (w) {
    case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1: case DType::Q8_0:
    case DType::Q2_K: case DType::Q3_K: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K:
      return true;
    default:
      return false;
  }
}

QuantOps quant_ops(DType w, const KernelTable& t) {
  switch (w) {
#define EDGELLM_OPS(T, W, A, ACT) \
  case DType::T:                  \
    return {DType::ACT, t.quantize_##A, t.dequantize_##W, t.vec_dot_##W##_##A, t.vec_dot_##W##_##A##_isa};
    EDGELLM_OPS(Q4_0, q4_0, q8_0, Q8_0)
    EDGELLM_OPS(Q4_1, q4_1, q8_1, Q8_1)
    EDGELLM_OPS(Q5_0, q5_0, q8_0, Q8_0)
    EDGELLM_OPS(Q5_1, q5_1, q8_1, Q8_1)
    EDGELLM_OPS(Q8_0, q8_0, q8_0, Q8_0)
    EDGELLM_OPS(Q2_K, q2_k, q8_k, Q8_K)
    EDGELLM_OPS(Q3_K, q3_k, q8_k, Q8_K)
    EDGELLM_OPS(Q4_K, q4_k, q8_k, Q8_K)
    EDGELLM_OPS(Q5_K, q5_k, q8_k, Q8_K)
    EDGELLM_OPS(Q6_K, q6_k, q8_k, Q8_K)
#undef EDGELLM_OPS
    default:
      fail("matmul_quant: weight type {} has no quantized dot (expected a GGUF block type)", dtype_name(w));
  }
}

void quantize_activations(std::vector<uint8_t>& xq, const float* x, int64_t M, int64_t K, const QuantOps& ops) {
  const int64_t rb = dtype_row_bytes(ops.act, K);
  xq.resize(static_cast<size_t>(M * rb));
  parallel_for(M, 1, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) ops.quantize_act(xq.data() + m * rb, x + m * K, K);
  });
}

void matmul_quant_prequantized(float* y, const uint8_t* xq, const void* w, DType wtype, int64_t M, int64_t N,
                               int64_t K, const QuantOps& ops) {
  const int64_t wrb = dtype_row_bytes(wtype, K), xrb = dtype_row_bytes(ops.act, K);
  const auto* wb = static_cast<const uint8_t*>(w);
  // Rows of x in tiles of up to 64 so the tile (<= 64 * xrb bytes) stays in L2 while W streams once.
  constexpr int64_t kMTile = 64, kNTile = 8;
  parallel_for(N, 16, [&](int64_t n0, int64_t n1) {
    for (int64_t m0 = 0; m0 < M; m0 += kMTile) {
      const int64_t mt = std::min(kMTile, M - m0);
      // Weight rows in tiles of kNTile: the kernel may reuse each activation load across them. A GEMV
      // takes 64 rows per call, so a kernel that lays out its activation row per call does it rarely.
      const int64_t nt = M < 4 ? 64 : kNTile;
      for (int64_t n = n0; n < n1; n += nt)
        ops.vec_dot(y + m0 * N + n, N, wb + n * wrb, wrb, std::min(nt, n1 - n), xq + m0 * xrb, xrb, mt, K);
    }
  });
}

void matmul_quant(float* y, const float* x, const void* w, DType wtype, int64_t M, int64_t N, int64_t K,
                  const KernelTable& t) {
  const QuantOps ops = quant_ops(wtype, t);
  const int64_t block = dtype_info(wtype).block;
  if (K % block != 0)
    fail("matmul_quant: K={} is not a multiple of the {} block ({})", K, dtype_name(wtype), block);
  std::vector<uint8_t> xq;
  quantize_activations(xq, x, M, K, ops);
  matmul_quant_prequantized(y, xq.data(), w, wtype, M, N, K, ops);
}

void matmul_gint(float* y, const float* x, const uint8_t* w, int bits, int group, int64_t M, int64_t N, int64_t K,
                 const KernelTable& t) {
  const quant::GintParams p{bits, group};
  quant::gint_check(p, K);
  const int64_t rb = quant::gint_row_bytes(p, K);
  constexpr int64_t kMTile = 64;
  parallel_for(N, 16, [&](int64_t n0, int64_t n1) {
    for (int64_t m0 = 0; m0 < M; m0 += kMTile) {
      const int64_t mt = std::min(kMTile, M - m0);
      for (int64_t n = n0; n < n1; ++n) t.gint_dot(y + m0 * N + n, N, w + n * rb, x + m0 * K, K, mt, K, bits, group);
    }
  });
}

}  // namespace edgellm
