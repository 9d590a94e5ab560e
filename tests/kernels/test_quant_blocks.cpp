// Quantize -> dequantize error bounds of every GGUF block type, and hand-checked encodings.
// Every ISA's table dequantizers vs the scalar ones. Bit-exactness against llama.cpp's files: test_quant_fixtures.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel_table.h"
#include "kernels/quant/blocks.h"
#include "kernels/quant_matmul.h"
#include "quant_test_util.h"
#include "runtime/error.h"

using namespace edgellm;
using namespace edgellm::test;
using namespace edgellm::quant;

namespace {

double rel_rmse(const std::vector<float>& x, const std::vector<float>& y) {
  double e = 0, s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    e += double(x[i] - y[i]) * (x[i] - y[i]);
    s += double(x[i]) * x[i];
  }
  return std::sqrt(e / s);
}

}  // namespace

TEST_CASE("quant round trip: relative RMSE per type on Gaussian weights with outliers") {
  // Thresholds sit ~25% above what each format achieves here; a broken layout gives > 0.5.
  const std::vector<std::pair<DType, double>> limits = {
      {DType::Q4_0, 0.13}, {DType::Q4_1, 0.11}, {DType::Q5_0, 0.065}, {DType::Q5_1, 0.055},
      {DType::Q8_0, 0.0085}, {DType::Q8_1, 0.0085}, {DType::Q2_K, 0.40}, {DType::Q3_K, 0.21},
      {DType::Q4_K, 0.10}, {DType::Q5_K, 0.05}, {DType::Q6_K, 0.025}, {DType::Q8_K, 0.02}};
  const int64_t rows = 8, cols = 1024;
  const auto x = random_weights(rows * cols, 7);
  for (const auto& entry : limits) {
    const DType t = entry.first;  // (no structured binding: clang 14 cannot capture one in INFO)
    const double limit = entry.second;
    const QType& q = qtype(t);
    const auto y = dequantize(q, quantize(q, x, rows, cols), rows, cols);
    const double e = rel_rmse(x, y);
    INFO(dtype_name(t), " rel rmse ", e);
    CHECK(e < limit);
    CHECK(e > 0.0);
  }
}

TEST_CASE("quant round trip: per-element bounds of the 32-blocks (|err| <= d/2, Q4_0/Q5_0 <= |d|)") {
  const int64_t n = 32 * 40;
  const auto x = random_weights(n, 11);
  for (DType t : {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0}) {
    const QType& q = qtype(t);
    const auto b = quantize(q, x, 1, n);
    const auto y = dequantize(q, b, 1, n);
    const int64_t bb = dtype_info(t).block_bytes;
    for (int64_t i = 0; i < n / 32; ++i) {
      uint16_t d16;
      std::memcpy(&d16, b.data() + i * bb, 2);
      const float d = std::fabs(f16_to_f32(d16));
      float amax = 0;
      for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[i * 32 + j]));
      // The extreme of the symmetric formats lands one step short (code 16 is clamped to 15); the
      // f16 rounding of d adds up to |q| * d * 2^-11 and the f16 min of the _1 types amax * 2^-11.
      const bool sym_clamp = t == DType::Q4_0 || t == DType::Q5_0;
      const float bound = (sym_clamp ? d : 0.5f * d) + 4.0f * amax * 0.00049f + 1e-6f;
      for (int j = 0; j < 32; ++j) {
        const float err = std::fabs(x[i * 32 + j] - y[i * 32 + j]);
        if (err > bound) {
          FAIL_CHECK(dtype_name(t), " block ", i, " elem ", j, " err ", err, " > ", bound);
          break;
        }
      }
    }
  }
}

TEST_CASE("quant: hand-checked encodings of Q8_0, Q4_0, Q4_1") {
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16) * 0.25f;  // -4 .. 3.75
  block_q8_0 b8;
  ref::quantize_row_q8_0_ref(&b8, x, 32);
  CHECK(b8.d == f32_to_f16(4.0f / 127));
  CHECK(b8.qs[0] == -127);                                  // -4 / (4/127)
  CHECK(b8.qs[31] == static_cast<int8_t>(std::roundf(3.75f * 127 / 4)));
  CHECK(b8.qs[16] == 0);
  block_q4_0 b4;
  ref::quantize_row_q4_0_ref(&b4, x, 32);
  // Signed absmax is -4, d = -4 / -8 = 0.5; x = -4 -> -8 + 8.5 -> 0; x = 3.75 -> 7.5 + 8.5 = 16 -> 15.
  CHECK(f16_to_f32(b4.d) == 0.5f);
  CHECK((b4.qs[0] & 0xF) == 0);
  CHECK((b4.qs[15] >> 4) == 15);
  CHECK((b4.qs[0] >> 4) == 8);  // x[16] = 0 -> 8
  block_q4_1 b41;
  ref::quantize_row_q4_1_ref(&b41, x, 32);
  CHECK(f16_to_f32(b41.m) == -4.0f);
  CHECK(b41.d == f32_to_f16(7.75f / 15));
  CHECK((b41.qs[15] >> 4) == 15);
  // All-zero blocks encode as zeros and decode to zeros.
  float z[256] = {};
  for (const auto& q : all_qtypes()) {
    std::vector<uint8_t> buf(static_cast<size_t>(dtype_row_bytes(q.t, 256)));
    q.quantize(buf.data(), z, 256);
    std::vector<float> y(256, 1.0f);
    q.dequantize(y.data(), buf.data(), 256);
    CHECK_MESSAGE(*std::max_element(y.begin(), y.end()) == 0.0f, dtype_name(q.t));
  }
}

TEST_CASE("quant: K-quant scale packing round-trips (Q4_K 6-bit pairs, Q3_K 6-bit biased scales)") {
  // Every 6-bit code through the 12-byte Q3_K packing: quantize a block whose 16 sub-blocks have
  // distinct magnitudes, then re-derive each sub-block's scale from the decoded values.
  std::vector<float> x(256);
  for (int g = 0; g < 16; ++g)
    for (int l = 0; l < 16; ++l) x[16 * g + l] = (g + 1) * 0.1f * static_cast<float>((l % 8) - 4);
  for (DType t : {DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q2_K}) {
    const QType& q = qtype(t);
    const auto y = dequantize(q, quantize(q, x, 1, 256), 1, 256);
    for (int g = 0; g < 16; ++g) {
      double e = 0, s = 0;
      for (int l = 0; l < 16; ++l) {
        e += std::pow(x[16 * g + l] - y[16 * g + l], 2);
        s += std::pow(x[16 * g + l], 2);
      }
      INFO(dtype_name(t), " group ", g);
      CHECK(std::sqrt(e / s) < (t == DType::Q2_K ? 0.35 : 0.15));
    }
  }
}

TEST_CASE("quant: rows that are not whole blocks are rejected, not truncated") {
  std::vector<float> x(512, 1.0f);
  std::vector<uint8_t> buf(4096);
  for (const auto& q : all_qtypes()) {
    const int64_t block = dtype_info(q.t).block;
    INFO(dtype_name(q.t));
    CHECK_THROWS_AS(q.quantize(buf.data(), x.data(), block + 16), Error);
    CHECK_THROWS_AS(q.dequantize(x.data(), buf.data(), block - 1), Error);
    CHECK_NOTHROW(q.quantize(buf.data(), x.data(), block));
  }
}

TEST_CASE("quant: every ISA's dequantizer equals the scalar one on ragged block counts") {
  const KernelTable& scalar = *kernels_for(Isa::Scalar);
  const DType types[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,
                         DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};
  for (Isa isa : available_isas()) {
    const KernelTable& t = *kernels_for(isa);
    for (DType wt : types) {
      const int64_t block = dtype_info(wt).block;
      for (int64_t nb : {1, 7, 33}) {
        const int64_t n = nb * block;
        const auto x = random_weights(n, static_cast<uint32_t>(nb * 131 + static_cast<int>(wt)), 0.05f);
        const auto q = quantize(qtype(wt), x, 1, n);
        std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n), -1.0f);
        quant_ops(wt, scalar).dequantize(want.data(), q.data(), n);
        quant_ops(wt, t).dequantize(got.data(), q.data(), n);
        float amax = 0, worst = 0;
        for (int64_t i = 0; i < n; ++i) {
          amax = std::max(amax, std::fabs(want[static_cast<size_t>(i)]));
          worst = std::max(worst, std::fabs(want[static_cast<size_t>(i)] - got[static_cast<size_t>(i)]));
        }
        INFO(isa_name(isa), " ", dtype_name(wt), " blocks ", nb, " worst ", worst, " of ", amax);
        CHECK(worst <= 1e-6f * amax);  // Q4_K: d*q - m may run as one FMA
      }
      if (isa != Isa::Scalar) CHECK_THROWS_AS(quant_ops(wt, t).dequantize(nullptr, nullptr, block - 1), Error);
    }
    // The SIMD dequantizers are installed where the ISA has them (else this test compares scalar with scalar).
    if (isa == Isa::Avx2 || isa == Isa::Avx512 || isa == Isa::Neon) {
      CHECK(std::string(t.dequantize_q4_0_isa) != "scalar");
      CHECK(std::string(t.dequantize_q8_0_isa) != "scalar");
      CHECK(std::string(t.dequantize_q4_k_isa) != "scalar");
      CHECK(std::string(t.dequantize_q6_k_isa) != "scalar");
    }
  }
}

TEST_CASE("quant: every ISA's Q8_K activation quantizer writes the scalar quantizer's bytes (ties, signs)") {
  const KernelTable& scalar = *kernels_for(Isa::Scalar);
  for (Isa isa : available_isas()) {
    const KernelTable& t = *kernels_for(isa);
    for (int64_t nb : {1, 3, 8}) {
      auto x = random_weights(nb * 256, static_cast<uint32_t>(nb + 5), 1.0f);
      // Block 0: largest magnitude -127 (so the scale is 1) and .5 ties, which lrintf rounds to even.
      for (int j = 0; j < 256; ++j) x[static_cast<size_t>(j)] = static_cast<float>(j % 9) - 4.5f;
      x[7] = -127.0f;
      x[200] = 127.0f;  // the same magnitude later: the first one's sign wins
      if (nb > 1)
        for (int j = 256; j < 512; ++j) x[static_cast<size_t>(j)] = 0.0f;  // an all-zero block
      std::vector<uint8_t> want(static_cast<size_t>(nb * sizeof(block_q8_K))), got(want.size(), 0xAB);
      scalar.quantize_q8_k(want.data(), x.data(), nb * 256);
      t.quantize_q8_k(got.data(), x.data(), nb * 256);
      INFO(isa_name(isa), " (", t.quantize_q8_k_isa, ") blocks ", nb);
      CHECK(std::memcmp(want.data(), got.data(), want.size()) == 0);
    }
    std::vector<float> x(512, 1.0f);
    std::vector<uint8_t> buf(2048);
    CHECK_THROWS_AS(t.quantize_q8_k(buf.data(), x.data(), 300), Error);
  }
}

TEST_CASE("quant: every ISA's Q8_0 activation quantizer writes the scalar quantizer's bytes (ties included)") {
  const KernelTable& scalar = *kernels_for(Isa::Scalar);
  for (Isa isa : available_isas()) {
    const KernelTable& t = *kernels_for(isa);
    for (int64_t nb : {1, 7, 33}) {
      auto x = random_weights(nb * 32, static_cast<uint32_t>(nb + 17), 1.0f);
      // Block 0: amax 127 makes d = 1, so x/d lands exactly on the .5 ties that roundf sends away from zero.
      for (int j = 0; j < 32; ++j) x[static_cast<size_t>(j)] = j == 0 ? 127.0f : static_cast<float>(j % 9) - 4.5f;
      x[1] = 0.0f;
      std::vector<uint8_t> want(static_cast<size_t>(nb * sizeof(block_q8_0))), got(want.size(), 0xAB);
      scalar.quantize_q8_0(want.data(), x.data(), nb * 32);
      t.quantize_q8_0(got.data(), x.data(), nb * 32);
      INFO(isa_name(isa), " (", t.quantize_q8_0_isa, ") blocks ", nb);
      CHECK(std::memcmp(want.data(), got.data(), want.size()) == 0);
    }
    std::vector<float> x(64, 1.0f);
    std::vector<uint8_t> buf(256);
    CHECK_THROWS_AS(t.quantize_q8_0(buf.data(), x.data(), 33), Error);
  }
}
