// GINT (group-wise integer) format: round-trip bounds for every bits x group x symmetric/asymmetric,
// the packed layout on a hand-made row, every ISA's fused dot against the scalar one, and matmul_gint.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "kernels/kernel_table.h"
#include "kernels/quant/gint.h"
#include "kernels/quant_matmul.h"
#include "quant_test_util.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

using namespace edgellm;
using namespace edgellm::quant;
using edgellm::test::random_weights;

TEST_CASE("gint round trip: |err| <= scale per element (half a step + integer zero / clamped top)") {
  for (int bits : {2, 3, 4, 8})
    for (int group : {32, 64, 128})
      for (bool sym : {false, true}) {
        const GintParams p{bits, group};
        const int64_t K = group * 5;
        const auto x = random_weights(K, static_cast<uint32_t>(bits * 1000 + group + sym));
        std::vector<uint8_t> q(static_cast<size_t>(gint_row_bytes(p, K)));
        quantize_row_gint_ref(q.data(), x.data(), K, p, sym);
        std::vector<float> y(static_cast<size_t>(K));
        dequantize_row_gint(y.data(), q.data(), K, p);
        const uint8_t* sz = q.data() + gint_codes_bytes(p, K);
        double e2 = 0, s2 = 0;
        for (int64_t g = 0; g < K / group; ++g) {
          uint16_t s16;
          std::memcpy(&s16, sz + 2 * g, 2);
          const float s = f16_to_f32(s16);
          float amax = 0;
          for (int j = 0; j < group; ++j) amax = std::max(amax, std::fabs(x[g * group + j]));
          const float bound = s + amax * 1e-3f + 1e-7f;  // half a step, or one at the clamped top
          for (int j = 0; j < group; ++j) {
            const float err = std::fabs(x[g * group + j] - y[g * group + j]);
            e2 += err * err;
            s2 += x[g * group + j] * x[g * group + j];
            if (err > bound) {
              FAIL_CHECK("bits ", bits, " group ", group, " sym ", sym, " g ", g, " err ", err, " > ", bound);
              break;
            }
          }
        }
        // Measured 0.43-0.74 (2 bits), 0.22-0.29 (3), 0.09-0.24 (4), 0.005-0.011 (8); a broken packing gives ~1.
        const double limit[9] = {0, 0, 0.85, 0.4, 0.3, 0, 0, 0, 0.015};  // 5 groups, 1% outliers at 6 sigma
        INFO("bits ", bits, " group ", group, " sym ", sym, " rel rmse ", std::sqrt(e2 / s2));
        CHECK(std::sqrt(e2 / s2) < limit[bits]);
      }
}

TEST_CASE("gint packed layout: codes little-endian in the bit stream, then f16 scales, then f16 zeros") {
  // Asymmetric group of 32 with values 0..7 repeating and x = q (scale 1, zero 0) for 3 bits.
  const GintParams p{3, 32};
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j % 8);
  std::vector<uint8_t> q(static_cast<size_t>(gint_row_bytes(p, 32)));
  REQUIRE(q.size() == 12 + 4);
  quantize_row_gint_ref(q.data(), x.data(), 32, p, false);
  // codes 0,1,...,7 -> bits 000 100 010 110 001 101 011 111 (LSB first) = 0x88 0xC6 0xFA.
  CHECK(q[0] == 0x88);
  CHECK(q[1] == 0xC6);
  CHECK(q[2] == 0xFA);
  for (int j = 0; j < 32; ++j) CHECK(gint_code(q.data(), j, 3) == j % 8);
  uint16_t s16, z16;
  std::memcpy(&s16, q.data() + 12, 2);
  std::memcpy(&z16, q.data() + 14, 2);
  CHECK(f16_to_f32(s16) == 1.0f);
  CHECK(f16_to_f32(z16) == 0.0f);
}

TEST_CASE("gint_dot: every ISA matches the scalar reference; matmul_gint equals dequantize + f32 matmul") {
  const KernelTable& scalar = *kernels_for(Isa::Scalar);
  for (Isa isa : available_isas()) {
    const KernelTable& t = *kernels_for(isa);
    for (int bits : {2, 3, 4, 8})
      for (int group : {32, 64, 128})
        for (int64_t ng : {1, 3}) {
          const GintParams p{bits, group};
          const int64_t K = group * ng, nx = 5;
          const auto w = random_weights(K, 3, 0.05f);
          std::vector<uint8_t> q(static_cast<size_t>(gint_row_bytes(p, K)));
          quantize_row_gint_ref(q.data(), w.data(), K, p, bits == 8);
          std::vector<float> wf(static_cast<size_t>(K));
          dequantize_row_gint(wf.data(), q.data(), K, p);
          const auto x = random_weights(nx * K, 4);
          std::vector<float> got(nx), want(nx);
          t.gint_dot(got.data(), 1, q.data(), x.data(), K, nx, K, bits, group);
          scalar.gint_dot(want.data(), 1, q.data(), x.data(), K, nx, K, bits, group);
          for (int64_t r = 0; r < nx; ++r) {
            double mag = 0;
            for (int64_t k = 0; k < K; ++k) mag += std::fabs(double(wf[k]) * x[r * K + k]);
            INFO(isa_name(isa), " (", t.gint_dot_isa, ") bits ", bits, " group ", group, " K ", K, " row ", r);
            CHECK(std::fabs(got[r] - want[r]) <= 1e-5 * mag + 1e-7);
          }
        }
    // matmul_gint over N = 19 rows, M = 7, 2 threads.
    const GintParams p{4, 64};
    const int64_t M = 7, N = 19, K = 64 * 4;
    const auto w = random_weights(N * K, 8, 0.05f);
    const int64_t rb = gint_row_bytes(p, K);
    std::vector<uint8_t> wq(static_cast<size_t>(N * rb));
    std::vector<float> wf(static_cast<size_t>(N * K));
    for (int64_t n = 0; n < N; ++n) {
      quantize_row_gint_ref(wq.data() + n * rb, w.data() + n * K, K, p, false);
      dequantize_row_gint(wf.data() + n * K, wq.data() + n * rb, K, p);
    }
    const auto x = random_weights(M * K, 9);
    std::vector<float> y(static_cast<size_t>(M * N));
    set_num_threads(2);
    matmul_gint(y.data(), x.data(), wq.data(), 4, 64, M, N, K, t);
    set_num_threads(0);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double ref = 0, mag = 0;
        for (int64_t k = 0; k < K; ++k) {
          ref += double(wf[n * K + k]) * x[m * K + k];
          mag += std::fabs(double(wf[n * K + k]) * x[m * K + k]);
        }
        INFO(isa_name(isa), " m ", m, " n ", n);
        CHECK(std::fabs(y[m * N + n] - ref) <= 1e-5 * mag + 1e-7);
      }
  }
}

TEST_CASE("gint rejects unsupported bits, group sizes and ragged K") {
  std::vector<float> x(256), y(4);
  std::vector<uint8_t> q(4096);
  CHECK_THROWS_AS(quantize_row_gint_ref(q.data(), x.data(), 256, GintParams{5, 32}, false), Error);
  CHECK_THROWS_AS(quantize_row_gint_ref(q.data(), x.data(), 256, GintParams{4, 48}, false), Error);
  CHECK_THROWS_AS(quantize_row_gint_ref(q.data(), x.data(), 96, GintParams{4, 64}, false), Error);
  CHECK_THROWS_AS(matmul_gint(y.data(), x.data(), q.data(), 4, 128, 1, 1, 96), Error);
}
