// Every ISA's quantized vec_dot against the scalar reference (ragged block and row counts), the scalar
// reference against the float dot of dequantized blocks, and matmul_quant against dequantize + f32 matmul.
#include <doctest/doctest.h>

#include <cmath>

#include "kernels/cpu_features.h"
#include "kernels/kernel_table.h"
#include "kernels/quant_matmul.h"
#include "quant_test_util.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

using namespace edgellm;
using namespace edgellm::test;

namespace {

const DType kWeightTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,
                              DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};

struct Case {
  int64_t K, nx, nw;
  std::vector<uint8_t> w, xq;
  std::vector<float> wf, xf;  // dequantized
};

// nw weight rows (K) and nx activation rows (K), quantized and dequantized.
Case make_case(DType wt, int64_t nblocks, int64_t nx, uint32_t seed, int64_t nw = 1) {
  const QuantOps ops = quant_ops(wt, *kernels_for(Isa::Scalar));
  Case c;
  c.K = nblocks * dtype_info(wt).block;
  c.nx = nx;
  c.nw = nw;
  const QType& qw = qtype(wt);
  const QType& qa = qtype(ops.act);
  const auto w = random_weights(nw * c.K, seed, 0.05f);
  auto x = random_weights(nx * c.K, seed + 1, 1.0f);
  if (seed % 2) x[0] = 0.0f, x[1] = -x[1];
  c.w = quantize(qw, w, nw, c.K);
  c.xq = quantize(qa, x, nx, c.K);
  c.wf = dequantize(qw, c.w, nw, c.K);
  c.xf = dequantize(qa, c.xq, nx, c.K);
  return c;
}

}  // namespace

TEST_CASE("quant vec_dot: scalar reference equals the float dot of the dequantized blocks") {
  for (DType wt : kWeightTypes) {
    const QuantOps ops = quant_ops(wt, *kernels_for(Isa::Scalar));
    for (int64_t nb : {1, 3, 17}) {
      const Case c = make_case(wt, nb, 3, static_cast<uint32_t>(nb * 31 + static_cast<int>(wt)));
      std::vector<float> s(3);
      ops.vec_dot(s.data(), 1, c.w.data(), 0, 1, c.xq.data(), dtype_row_bytes(ops.act, c.K), 3, c.K);
      for (int r = 0; r < 3; ++r) {
        double ref = 0, mag = 0;
        for (int64_t k = 0; k < c.K; ++k) {
          ref += double(c.wf[k]) * c.xf[r * c.K + k];
          mag += std::fabs(double(c.wf[k]) * c.xf[r * c.K + k]);
        }
        // Q8_1's s field is an f16 of d * sum(q): the _1 types carry its rounding (2^-11 relative).
        const double tol = 2e-6 * mag + 1e-6 + ((wt == DType::Q4_1 || wt == DType::Q5_1) ? 3e-3 * mag : 0.0);
        INFO(dtype_name(wt), " blocks ", nb, " row ", r);
        CHECK(std::fabs(s[r] - ref) <= tol);
      }
    }
  }
}

TEST_CASE("quant vec_dot: every ISA matches the scalar reference on ragged sizes") {
  const KernelTable& scalar = *kernels_for(Isa::Scalar);
  for (Isa isa : available_isas()) {
    const KernelTable& t = *kernels_for(isa);
    for (DType wt : kWeightTypes) {
      const QuantOps ops = quant_ops(wt, t), ref_ops = quant_ops(wt, scalar);
      for (int64_t nb : {1, 2, 3, 8, 17}) {
        for (int64_t nx : {1, 2, 4, 5, 9}) {
          // Tiles of several weight rows too: 29 = the NEON GEMV's 16-, 8- and 4-row groups and one row alone.
          const int64_t nw = nx == 4 ? 1 : (nx == 5 ? 3 : (nx == 1 ? 29 : 5));
          const Case c = make_case(wt, nb, nx, static_cast<uint32_t>(nb * 7 + nx + static_cast<int>(wt)), nw);
          const int64_t xs = dtype_row_bytes(ops.act, c.K), ws = dtype_row_bytes(wt, c.K);
          // Output s[r * ss + col] with ss = nw + 1: the gap column must stay untouched.
          const int64_t ss = nw + 1;
          std::vector<float> got(static_cast<size_t>(ss * nx), -1.0f), want(static_cast<size_t>(ss * nx), -1.0f);
          ops.vec_dot(got.data(), ss, c.w.data(), ws, nw, c.xq.data(), xs, nx, c.K);
          ref_ops.vec_dot(want.data(), ss, c.w.data(), ws, nw, c.xq.data(), xs, nx, c.K);
          for (int64_t r = 0; r < nx; ++r) {
            for (int64_t col = 0; col < nw; ++col) {
              double mag = 0;
              for (int64_t k = 0; k < c.K; ++k) mag += std::fabs(double(c.wf[col * c.K + k]) * c.xf[r * c.K + k]);
              INFO(isa_name(isa), " ", dtype_name(wt), " (", ops.vec_dot_isa, ") blocks ", nb, " nx ", nx, " row ", r,
                   " weight row ", col);
              CHECK(std::fabs(got[r * ss + col] - want[r * ss + col]) <= 1e-5 * mag + 1e-6);
            }
            CHECK(got[r * ss + nw] == -1.0f);  // untouched between strided outputs
          }
        }
      }
    }
  }
}

TEST_CASE("matmul_quant equals dequantize + f32 matmul within the activation-quantization bound") {
  // y = x · Wᵀ with x quantized to 8 bits per block: |Δy| <= sum_k |w_k| * d_x(k) * 0.57 (half a step,
  // plus the f16 rounding of Q8_0's scale), plus float rounding.
  const int64_t M = 5, N = 37;
  set_num_threads(2);
  for (Isa isa : available_isas()) {
    const KernelTable& t = *kernels_for(isa);
    for (DType wt : kWeightTypes) {
      const int64_t K = dtype_info(wt).block == 32 ? 32 * 17 : 256 * 3;
      const QType& qw = qtype(wt);
      const auto wq = quantize(qw, random_weights(N * K, 5, 0.05f), N, K);
      const auto w_true = dequantize(qw, wq, N, K);  // (N, K): the weight matmul_quant really holds
      const auto x = random_weights(M * K, 6);
      std::vector<float> y(M * N);
      matmul_quant(y.data(), x.data(), wq.data(), wt, M, N, K, t);
      const int64_t ablk = dtype_info(quant_ops(wt, t).act).block;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double ref = 0, bound = 1e-5;
          for (int64_t k0 = 0; k0 < K; k0 += ablk) {
            float amax = 0;
            for (int64_t k = k0; k < k0 + ablk; ++k) amax = std::max(amax, std::fabs(x[m * K + k]));
            for (int64_t k = k0; k < k0 + ablk; ++k) {
              ref += double(w_true[n * K + k]) * x[m * K + k];
              bound += std::fabs(w_true[n * K + k]) * (amax / 127.0) * 0.57 + 1e-6 * std::fabs(w_true[n * K + k] * x[m * K + k]);
            }
          }
          INFO(isa_name(isa), " ", dtype_name(wt), " m ", m, " n ", n);
          CHECK(std::fabs(y[m * N + n] - ref) <= bound);
        }
    }
  }
  set_num_threads(0);
}

TEST_CASE("matmul_quant rejects K off the block and non-block types") {
  std::vector<float> x(48), y(2);
  std::vector<uint8_t> w(1024);
  CHECK_THROWS_AS(matmul_quant(y.data(), x.data(), w.data(), DType::Q4_0, 1, 1, 48), Error);
  CHECK_THROWS_AS(matmul_quant(y.data(), x.data(), w.data(), DType::Q4_K, 1, 1, 32), Error);
  CHECK_THROWS_AS(matmul_quant(y.data(), x.data(), w.data(), DType::F32, 1, 1, 32), Error);
}

TEST_CASE("quant vec_dot: each ISA table installs its own integer-dot kernels") {
  for (Isa isa : available_isas()) {
    const KernelTable& t = *kernels_for(isa);
    const std::string q40 = t.vec_dot_q4_0_q8_0_isa, q4k = t.vec_dot_q4_k_q8_k_isa;
    MESSAGE(std::string(isa_name(isa)), ": q4_0 ", q40, ", q4_k ", q4k, ", q6_k ", std::string(t.vec_dot_q6_k_q8_k_isa),
            ", gint ", std::string(t.gint_dot_isa));
    switch (isa) {
      case Isa::Scalar: CHECK(q40 == "scalar"); break;
      case Isa::Avx2:
        CHECK(q40 == "avx2");
        CHECK(q4k == "avx2");
        CHECK(std::string(t.vec_dot_q2_k_q8_k_isa) == "avx2");
        CHECK(std::string(t.vec_dot_q3_k_q8_k_isa) == "avx2");
        break;
      case Isa::Avx512:
        CHECK(q40 == (cpu_features().avx512vnni ? "avx512vnni" : "avx2"));
        CHECK(q4k == (cpu_features().avx512vnni ? "avx512vnni" : "avx2"));
        break;
      case Isa::Neon:
        CHECK(q40 == (cpu_features().dotprod ? "neon_dotprod" : "neon"));
        CHECK(q4k == q40);
        CHECK(std::string(t.vec_dot_q5_0_q8_0_isa) == q40);
        CHECK(std::string(t.vec_dot_q5_1_q8_1_isa) == q40);
        break;
    }
  }
}
