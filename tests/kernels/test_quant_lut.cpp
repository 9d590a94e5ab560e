// LUT GEMV (kernels/lut_gemv.h): every ISA's lookups against the scalar twin on ragged shapes, the packing and
// tables against a double dot of dequantized weights and int8-rounded activations, and against the dequantizing path.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/linear.h"
#include "kernels/lut_gemv.h"
#include "kernels/quant/gint.h"
#include "kernels/quant_matmul.h"
#include "quant_test_util.h"
#include "runtime/parallel.h"
#include "runtime/tensor.h"

using namespace edgellm;
using edgellm::test::random_weights;

namespace {

// Random codes, scales and zero points for an (N, K) weight of `bits`, as lut_pack's row callback and as f32 (N, K).
struct RandomCodes {
  int64_t N, K, ng;
  std::vector<uint8_t> q;      // (N, K)
  std::vector<float> s, z;     // (N, ng), f16 values (the packer stores f16)
  std::vector<float> w;        // (N, K) dequantized
  RandomCodes(int64_t n, int64_t k, int bits, int group, uint32_t seed) : N(n), K(k) {
    const int64_t Kp = (K + 31) / 32 * 32;
    ng = (Kp + group - 1) / group;
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
    std::uniform_real_distribution<float> u(0.01f, 0.1f);
    q.resize(static_cast<size_t>(N * K));
    s.resize(static_cast<size_t>(N * ng));
    z.resize(static_cast<size_t>(N * ng));
    for (auto& v : q) v = static_cast<uint8_t>(code(rng));
    for (int64_t i = 0; i < N * ng; ++i) s[i] = f16_to_f32(f32_to_f16(u(rng))), z[i] = static_cast<float>(code(rng));
    w.resize(static_cast<size_t>(N * K));
    for (int64_t r = 0; r < N; ++r)
      for (int64_t k = 0; k < K; ++k)
        w[r * K + k] = s[r * ng + k / group] * (static_cast<float>(q[r * K + k]) - z[r * ng + k / group]);
  }
  LutWeights pack(int bits, int group) const {
    return lut_pack(N, K, bits, group, [&](int64_t r, uint8_t* qr, float* sr, float* zr) {
      for (int64_t k = 0; k < K; ++k) qr[k] = q[r * K + k];
      for (int64_t g = 0; g < ng; ++g) sr[g] = s[r * ng + g], zr[g] = z[r * ng + g];
    });
  }
};

// x rounded as lut_prepare rounds it: int8 per 32-block, scale absmax/127.
std::vector<double> q8_rounded(const std::vector<float>& x) {
  std::vector<double> out(x.size());
  for (size_t b = 0; b < x.size(); b += 32) {
    const size_t e = std::min(x.size(), b + 32);
    float amax = 0;
    for (size_t i = b; i < e; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f, inv = amax > 0 ? 127.0f / amax : 0.0f;
    for (size_t i = b; i < e; ++i) out[i] = static_cast<double>(d) * std::lrintf(x[i] * inv);
  }
  return out;
}

}  // namespace

TEST_CASE("lut_gemv: every ISA matches the scalar twin on ragged shapes (K not a multiple of 32, N odd)") {
  const KernelTable& scalar = *kernels_for(Isa::Scalar);
  for (int bits : {2, 3})
    for (int group : {32, 64, 128})
      for (int64_t N : {1, 7, 33})
        for (int64_t K : {7, 33, 257, 300}) {
          const RandomCodes rc(N, K, bits, group, static_cast<uint32_t>(bits * 7919 + group * 31 + N * 13 + K));
          const LutWeights W = rc.pack(bits, group);
          const auto x = random_weights(K, static_cast<uint32_t>(K + N));
          std::vector<float> want(static_cast<size_t>(N));
          lut_gemv(want.data(), x.data(), W, scalar);
          for (Isa isa : available_isas()) {
            std::vector<float> got(static_cast<size_t>(N));
            lut_gemv(got.data(), x.data(), W, *kernels_for(isa));
            for (int64_t r = 0; r < N; ++r) {
              const float tol = 1e-5f * (1.0f + std::fabs(want[r]));
              if (std::fabs(got[r] - want[r]) > tol) {
                FAIL_CHECK(isa_name(isa), " bits ", bits, " group ", group, " N ", N, " K ", K, " row ", r, ": ",
                           got[r], " vs ", want[r]);
                break;
              }
            }
          }
        }
}

TEST_CASE("lut_gemv: equals the double dot of dequantized weights and int8-rounded activations") {
  // The lookups and the integer sums are exact, so only float rounding of the per-block sums remains.
  for (int bits : {2, 3})
    for (int64_t K : {33, 256, 300}) {
      const int64_t N = 19;
      const int group = 64;
      const RandomCodes rc(N, K, bits, group, static_cast<uint32_t>(bits + K));
      const LutWeights W = rc.pack(bits, group);
      const auto x = random_weights(K, 7);
      const auto xq = q8_rounded(x);
      std::vector<float> y(static_cast<size_t>(N));
      lut_gemv(y.data(), x.data(), W);
      for (int64_t r = 0; r < N; ++r) {
        double want = 0, mag = 0;
        for (int64_t k = 0; k < K; ++k) {
          want += static_cast<double>(rc.w[r * K + k]) * xq[k];
          mag += std::fabs(static_cast<double>(rc.w[r * K + k]) * xq[k]);
        }
        INFO("bits ", bits, " K ", K, " row ", r);
        CHECK(std::fabs(y[r] - want) <= 1e-5 * mag + 1e-6);
      }
    }
}

TEST_CASE("lut_gemv on GINT2/GINT3 weights: within the int8 activation rounding of the dequantizing matmul_gint") {
  const int64_t N = 37, K = 512;
  for (int bits : {2, 3})
    for (int group : {32, 128}) {
      const quant::GintParams p{bits, group};
      const int64_t rb = quant::gint_row_bytes(p, K);
      std::vector<uint8_t> w(static_cast<size_t>(N * rb));
      for (int64_t r = 0; r < N; ++r) {
        const auto row = random_weights(K, static_cast<uint32_t>(r + 100 * bits + group));
        quant::quantize_row_gint_ref(w.data() + r * rb, row.data(), K, p, false);
      }
      const auto x = random_weights(K, 99);
      std::vector<float> y_deq(static_cast<size_t>(N)), y_lut(static_cast<size_t>(N));
      matmul_gint(y_deq.data(), x.data(), w.data(), bits, group, 1, N, K);
      const LutWeights W = lut_pack_gint(w.data(), N, K, bits, group);
      lut_gemv(y_lut.data(), x.data(), W);
      double e2 = 0, s2 = 0;
      for (int64_t r = 0; r < N; ++r) e2 += std::pow(y_lut[r] - y_deq[r], 2), s2 += std::pow(y_deq[r], 2);
      // int8 activations per 32 (rel. error ~ 0.3% per element) leave ~0.2% on a dot; a wrong code or plane
      // gives tens of percent.
      INFO("bits ", bits, " group ", group, " rel rmse ", std::sqrt(e2 / s2));
      CHECK(std::sqrt(e2 / s2) < 0.01);
    }
}

TEST_CASE("linear_forward decodes GINT2/GINT3 through the LUT path at M = 1") {
  const int64_t N = 21, K = 256;
  for (DType dt : {DType::GINT2_G64, DType::GINT3_G32}) {
    REQUIRE(lut_gemv_selected(dt));
    const quant::GintParams p{gint_bits(dt), gint_group(dt)};
    const int64_t rb = quant::gint_row_bytes(p, K);
    Tensor W = Tensor::empty(Shape({N, K}), dt);
    for (int64_t r = 0; r < N; ++r) {
      const auto row = random_weights(K, static_cast<uint32_t>(r));
      quant::quantize_row_gint_ref(W.raw() + r * rb, row.data(), K, p, false);
    }
    const auto x = random_weights(K, 5);
    std::vector<float> y(static_cast<size_t>(N)), want(static_cast<size_t>(N));
    linear_forward(y.data(), x.data(), W, nullptr, 1);
    lut_gemv(want.data(), x.data(), lut_weights_of(W));
    for (int64_t r = 0; r < N; ++r) CHECK(y[r] == want[r]);
  }
}

TEST_CASE("lut_gemv on 2 threads: the same rows as on 1, with a short last tile") {
  const int64_t N = 16 * 9 + 5, K = 256;
  for (int bits : {2, 3}) {
    const RandomCodes rc(N, K, bits, 128, static_cast<uint32_t>(bits));
    const LutWeights W = rc.pack(bits, 128);
    const auto x = random_weights(K, 11);
    std::vector<float> one(static_cast<size_t>(N)), two(static_cast<size_t>(N));
    set_num_threads(1);
    lut_gemv(one.data(), x.data(), W);
    set_num_threads(2);
    lut_gemv(two.data(), x.data(), W);
    set_num_threads(0);
    for (int64_t r = 0; r < N; ++r) CHECK(one[r] == two[r]);
  }
}
