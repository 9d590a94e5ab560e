// LUT GEMV on Q2_K / Q3_K weights (kernels/lut_gemv.h): every ISA against the scalar twin and all of them against
// the exact value and the existing Q8_K vec_dot on ragged shapes. Not the group-int LUT (test_quant_lut.cpp).
//
// The bound: the integer sums are exact, so only float rounding remains. With x̂ the Q8_K activations and each
// weight split into its two terms A = d·sc·q and B = dmin·m (Q3_K: B = 0), every result must lie within
//   4·(nsb + 4)·2⁻²⁴·Σ_k |x̂_k|·(|A_k| + |B_k|)
// of the exact Σ_k x̂_k·(A_k − B_k) (nsb super-blocks: one rounding per super-block term and a few per term), and
// two results within twice that. A wrong code, plane or scale moves a row by a sizeable part of that sum.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/linear.h"
#include "kernels/lut_gemv.h"
#include "kernels/quant/blocks.h"
#include "kernels/quant_matmul.h"
#include "kernels/ref/quant.h"
#include "quant_test_util.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/tensor.h"

using namespace edgellm;
using edgellm::test::random_weights;

namespace {

constexpr double kU = 1.0 / (1 << 24);  // f32 unit roundoff

// N rows of a Q2_K or Q3_K weight (K a multiple of 256): from N(0, 0.02) floats through the reference quantizer,
// or (raw) random block bytes with finite d and dmin, which reach every code and scale, extremes included.
std::vector<uint8_t> kquant_weight(DType type, int64_t N, int64_t K, bool raw, uint32_t seed) {
  const int64_t rb = dtype_row_bytes(type, K), nsb = K / quant::QK_K;
  std::vector<uint8_t> w(static_cast<size_t>(N * rb));
  std::mt19937 rng(seed);
  if (!raw) {
    for (int64_t r = 0; r < N; ++r) {
      const auto row = random_weights(K, seed * 131 + static_cast<uint32_t>(r));
      (type == DType::Q2_K ? ref::quantize_row_q2_k_ref : ref::quantize_row_q3_k_ref)(w.data() + r * rb, row.data(), K);
    }
    return w;
  }
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(0.001f, 0.01f);
  for (auto& v : w) v = static_cast<uint8_t>(byte(rng));
  for (int64_t i = 0; i < N * nsb; ++i) {
    if (type == DType::Q2_K) {
      auto* b = reinterpret_cast<quant::block_q2_K*>(w.data()) + i;
      b->d = f32_to_f16(scale(rng));
      b->dmin = f32_to_f16(scale(rng));
    } else {
      reinterpret_cast<quant::block_q3_K*>(w.data())[i].d = f32_to_f16(scale(rng));
    }
  }
  return w;
}

// Row r's two terms per element, decoded from the block fields in double (independently of the packer):
// A = d·sc·q, B = dmin·m.
void exact_terms(DType type, const uint8_t* row, int64_t K, std::vector<double>& A, std::vector<double>& B) {
  A.assign(static_cast<size_t>(K), 0.0);
  B.assign(static_cast<size_t>(K), 0.0);
  for (int64_t s = 0; s < K / quant::QK_K; ++s)
    for (int e = 0; e < quant::QK_K; ++e) {
      const size_t k = static_cast<size_t>(s * quant::QK_K + e);
      const int g = e / 16, lo_at = 32 * (e / 128) + e % 32, lo_shift = 2 * ((e % 128) / 32);
      if (type == DType::Q2_K) {
        const auto& b = reinterpret_cast<const quant::block_q2_K*>(row)[s];
        const int q = (b.qs[lo_at] >> lo_shift) & 3;
        A[k] = static_cast<double>(f16_to_f32(b.d)) * (b.scales[g] & 15) * q;
        B[k] = static_cast<double>(f16_to_f32(b.dmin)) * (b.scales[g] >> 4);
      } else {
        const auto& b = reinterpret_cast<const quant::block_q3_K*>(row)[s];
        int8_t sc[16];
        quant::unpack_q3_k_scales(b.scales, sc);
        const int q = ((b.qs[lo_at] >> lo_shift) & 3) - (((b.hmask[e % 32] >> (e / 32)) & 1) ? 0 : 4);
        A[k] = static_cast<double>(f16_to_f32(b.d)) * (sc[g] - 32) * q;
      }
    }
}

// The exact y and the bound's magnitude Σ|x̂|(|A| + |B|) per row, with x̂ the Q8_K activations of x.
struct Exact {
  std::vector<double> y, mag;
  Exact(DType type, const std::vector<uint8_t>& w, int64_t N, int64_t K, const std::vector<float>& x) {
    std::vector<uint8_t> q8(static_cast<size_t>(dtype_row_bytes(DType::Q8_K, K)));
    ref::quantize_row_q8_k_ref(q8.data(), x.data(), K);
    std::vector<float> xh(static_cast<size_t>(K)), wd(static_cast<size_t>(K));
    ref::dequantize_row_q8_k(xh.data(), q8.data(), K);
    const int64_t rb = dtype_row_bytes(type, K);
    std::vector<double> A, B;
    for (int64_t r = 0; r < N; ++r) {
      exact_terms(type, w.data() + r * rb, K, A, B);
      // The project's dequantizer agrees with the decoding above up to its own two roundings.
      (type == DType::Q2_K ? ref::dequantize_row_q2_k : ref::dequantize_row_q3_k)(wd.data(), w.data() + r * rb, K);
      double yr = 0, m = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double a = A[static_cast<size_t>(k)], b = B[static_cast<size_t>(k)];
        REQUIRE(std::fabs(wd[static_cast<size_t>(k)] - (a - b)) <= 2 * kU * (std::fabs(a) + std::fabs(b)));
        yr += static_cast<double>(xh[static_cast<size_t>(k)]) * (a - b);
        m += std::fabs(static_cast<double>(xh[static_cast<size_t>(k)])) * (std::fabs(a) + std::fabs(b));
      }
      y.push_back(yr);
      mag.push_back(m);
    }
  }
  double tol(int64_t r, int64_t K) const { return 4.0 * static_cast<double>(K / 256 + 4) * kU * mag[r] + 1e-30; }
};

std::string name(DType t) { return t == DType::Q2_K ? "Q2_K" : "Q3_K"; }

}  // namespace

TEST_CASE("lut_gemv on Q2_K/Q3_K: every ISA matches the scalar twin and the exact value on ragged shapes") {
  const KernelTable& scalar = *kernels_for(Isa::Scalar);
  for (DType type : {DType::Q2_K, DType::Q3_K})
    for (bool raw : {true, false})
      for (int64_t N : {1, 7, 17, 33})
        for (int64_t K : {256, 768, 1280}) {
          const auto seed = static_cast<uint32_t>(N * 7 + K + (raw ? 1 : 0) + (type == DType::Q3_K ? 5 : 0));
          const auto w = kquant_weight(type, N, K, raw, seed);
          const LutWeights W = lut_pack_kquant(w.data(), type, N, K);
          const auto x = random_weights(K, seed + 1);
          const Exact ex(type, w, N, K, x);
          std::vector<float> want(static_cast<size_t>(N));
          lut_gemv(want.data(), x.data(), W, scalar);
          for (Isa isa : available_isas()) {
            std::vector<float> got(static_cast<size_t>(N));
            lut_gemv(got.data(), x.data(), W, *kernels_for(isa));
            for (int64_t r = 0; r < N; ++r) {
              const double e_twin = std::fabs(got[r] - want[r]), e_exact = std::fabs(got[r] - ex.y[r]);
              if (e_twin > 2 * ex.tol(r, K) || e_exact > ex.tol(r, K)) {
                const std::string what = std::string(isa_name(isa)) + " " + name(type) + (raw ? " raw" : " quantized");
                FAIL_CHECK(what, " N ", N, " K ", K, " row ", r, ": ", got[r], " vs twin ", want[r], " vs exact ",
                           ex.y[r], " (tol ", ex.tol(r, K), ")");
                break;
              }
            }
          }
        }
}

TEST_CASE("lut_gemv on Q2_K/Q3_K: equals the dequantizing path's Q8_K vec_dot up to float rounding") {
  const int64_t N = 37;  // two full tiles and a short one
  for (DType type : {DType::Q2_K, DType::Q3_K})
    for (int64_t K : {256, 1024, 1280})
      for (bool raw : {true, false}) {
        const auto seed = static_cast<uint32_t>(K + (raw ? 3 : 0) + (type == DType::Q3_K ? 11 : 0));
        const auto w = kquant_weight(type, N, K, raw, seed);
        const auto x = random_weights(K, seed + 2);
        const Exact ex(type, w, N, K, x);
        std::vector<float> y_lut(static_cast<size_t>(N)), y_dot(static_cast<size_t>(N));
        lut_gemv(y_lut.data(), x.data(), lut_pack_kquant(w.data(), type, N, K));
        matmul_quant(y_dot.data(), x.data(), w.data(), type, 1, N, K);
        for (int64_t r = 0; r < N; ++r) {
          const std::string what = name(type) + (raw ? " raw" : " quantized");
          INFO(what, " K ", K, " row ", r);
          CHECK(std::fabs(y_lut[r] - y_dot[r]) <= 2 * ex.tol(r, K));
          CHECK(std::fabs(y_dot[r] - ex.y[r]) <= ex.tol(r, K));
        }
      }
}

TEST_CASE("lut_gemv on Q2_K/Q3_K: extreme codes, scales and activations stay exact") {
  // Every code at its top (Q2_K 3; Q3_K 7, i.e. q = 3) or bottom (Q3_K q = −4), scales at ±max, activations all
  // ±127: the int16 sums come nearest their limits.
  const int64_t N = 16, K = 512;
  for (DType type : {DType::Q2_K, DType::Q3_K})
    for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xFF}}) {
      auto w = kquant_weight(type, N, K, true, 9);
      for (int64_t i = 0; i < N * K / quant::QK_K; ++i) {
        if (type == DType::Q2_K) {
          auto& b = reinterpret_cast<quant::block_q2_K*>(w.data())[i];
          std::memset(b.qs, 0xFF, sizeof b.qs);
          std::memset(b.scales, fill == 0 ? 0xF0 : 0xFF, sizeof b.scales);
        } else {
          auto& b = reinterpret_cast<quant::block_q3_K*>(w.data())[i];
          std::memset(b.qs, fill, sizeof b.qs);
          std::memset(b.hmask, fill, sizeof b.hmask);
          std::memset(b.scales, fill == 0 ? 0x00 : 0xFF, sizeof b.scales);  // sc − 32 = −32 or 31
        }
      }
      for (float sign : {1.0f, -1.0f}) {
        const std::vector<float> x(static_cast<size_t>(K), sign);
        const Exact ex(type, w, N, K, x);
        const LutWeights W = lut_pack_kquant(w.data(), type, N, K);
        for (Isa isa : available_isas()) {
          std::vector<float> y(static_cast<size_t>(N));
          lut_gemv(y.data(), x.data(), W, *kernels_for(isa));
          for (int64_t r = 0; r < N; ++r) {
            const std::string what = std::string(isa_name(isa)) + " " + name(type);
            INFO(what, " fill ", int{fill}, " sign ", sign, " row ", r);
            CHECK(std::fabs(y[r] - ex.y[r]) <= ex.tol(r, K));
          }
        }
      }
    }
}

TEST_CASE("linear_forward decodes Q2_K/Q3_K through the LUT path up to kLutMaxRows rows, on 1 and 2 threads") {
  const int64_t N = 16 * 5 + 3, K = 512;
  for (DType type : {DType::Q2_K, DType::Q3_K}) {
    REQUIRE(lut_gemv_selected(type));
    REQUIRE(!lut_gemv_selected(type, kLutMaxRows + 1));
    const auto w = kquant_weight(type, N, K, false, 21);
    Tensor W = Tensor::empty(Shape({N, K}), type);
    std::memcpy(W.raw(), w.data(), w.size());
    for (int64_t M : {int64_t{1}, kLutMaxRows, kLutMaxRows + 1}) {
      const auto x = random_weights(M * K, 5);
      std::vector<float> y(static_cast<size_t>(M * N)), want(y.size()), two(y.size());
      linear_forward(y.data(), x.data(), W, nullptr, M);
      if (M <= kLutMaxRows)
        lut_matmul(want.data(), x.data(), M, lut_weights_of(W));
      else
        matmul_quant(want.data(), x.data(), W.raw(), type, M, N, K);
      set_num_threads(2);
      linear_forward(two.data(), x.data(), W, nullptr, M);
      set_num_threads(0);
      for (int64_t i = 0; i < M * N; ++i) {
        INFO(name(type), " M ", M, " at ", i);
        CHECK(y[i] == want[i]);
        CHECK(two[i] == want[i]);
      }
    }
  }
}

TEST_CASE("lut_matmul: each of a few rows equals lut_gemv of that row, across tile chunks and a short last tile") {
  // K = 2048 makes a tile's codes 8 KiB (2 bits) or 12 KiB (3 bits): 32 or 21 tiles per chunk, 41 tiles here.
  const int64_t N = 16 * 40 + 5, K = 2048, M = 3;
  const auto x = random_weights(M * K, 8);
  for (int fmt = 0; fmt < 4; ++fmt) {
    LutWeights W;
    std::vector<uint8_t> w;
    if (fmt < 2) {
      const DType type = fmt == 0 ? DType::Q2_K : DType::Q3_K;
      w = kquant_weight(type, N, K, true, 4);
      W = lut_pack_kquant(w.data(), type, N, K);
    } else {
      const int bits = fmt == 2 ? 2 : 3;
      W = lut_pack(N, K, bits, 128, [&](int64_t r, uint8_t* q, float* s, float* z) {
        for (int64_t k = 0; k < K; ++k) q[k] = static_cast<uint8_t>((r * 7 + k * 13 + (k >> 5)) % (1 << bits));
        for (int64_t g = 0; g < K / 128; ++g) s[g] = 0.01f * static_cast<float>(1 + (r + g) % 5), z[g] = 1.0f;
      });
    }
    std::vector<float> y(static_cast<size_t>(M * N)), row(static_cast<size_t>(N));
    lut_matmul(y.data(), x.data(), M, W);
    for (int64_t m = 0; m < M; ++m) {
      lut_gemv(row.data(), x.data() + m * K, W);
      for (int64_t r = 0; r < N; ++r) {
        INFO("format ", fmt, " row of x ", m, " output ", r);
        CHECK(y[m * N + r] == row[r]);
      }
    }
  }
}

TEST_CASE("lut_pack_kquant: another type or a row length off the super-block is refused, naming it") {
  std::vector<uint8_t> w(4096);
  CHECK_THROWS_WITH_AS(lut_pack_kquant(w.data(), DType::Q4_K, 1, 256), doctest::Contains("q4_k"), Error);
  CHECK_THROWS_WITH_AS(lut_pack_kquant(w.data(), DType::Q2_K, 1, 300), doctest::Contains("K is not"), Error);
}

TEST_CASE("lut_pack: plane 2 in slot order (halves swapped for odd quad pairs); Q3_K's plane 2 is the -4 flag") {
  // Group-int: only row r has code 4 (plane 2 alone) everywhere; its plane-2 bytes are 0xFF where the layout puts
  // them and every other plane-2 byte is 0.
  const int64_t N = 16, K = 32;
  for (int r = 0; r < N; ++r) {
    const LutWeights W = lut_pack(N, K, 3, 32, [&](int64_t row, uint8_t* q, float* s, float* z) {
      for (int64_t k = 0; k < K; ++k) q[k] = row == r ? 4 : 0;
      s[0] = 1, z[0] = 0;
    });
    for (int j = 0; j < 4; ++j)
      for (int i = 0; i < 16; ++i) {
        INFO("row ", r, " quad pair ", j, " byte ", i);
        CHECK(W.codes[128 + 16 * j + i] == (i == (lut_slot_of_row(r) ^ (j & 1 ? 8 : 0)) ? 0xFF : 0));
      }
  }
  // Q3_K: hmask set (q = low bits) leaves plane 2 empty; hmask clear (q = low bits − 4) fills it.
  for (uint8_t hm : {uint8_t{0xFF}, uint8_t{0x00}}) {
    auto w = kquant_weight(DType::Q3_K, N, 256, true, 5);
    for (int64_t i = 0; i < N; ++i) std::memset(reinterpret_cast<quant::block_q3_K*>(w.data())[i].hmask, hm, 32);
    const LutWeights W = lut_pack_kquant(w.data(), DType::Q3_K, N, 256);
    for (int64_t b = 0; b < W.nb; ++b)
      for (int i = 128; i < 192; ++i) {
        INFO("hmask ", int{hm}, " block ", b, " byte ", i);
        CHECK(W.codes[b * 192 + i] == (hm ? 0 : 0xFF));
      }
  }
}
