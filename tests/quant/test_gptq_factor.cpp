// GPTQ's blocked f32 factorizations (quant/gptq_factor.h) against the all-double reference, and GPTQ's
// output error with them against the all-double path. Not GPTQ-vs-RTN quality (test_gptq_awq.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "quant/gptq.h"
#include "quant/gptq_factor.h"
#include "runtime/error.h"

using namespace edgellm;
using namespace edgellm::quant;

namespace {

// X (n, K): normal entries plus a shared component per row (correlated channels) and a few loud channels.
std::vector<float> make_inputs(int64_t n, int64_t K, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> X(static_cast<size_t>(n * K));
  for (int64_t t = 0; t < n; ++t) {
    const float common = nd(rng);
    for (int64_t k = 0; k < K; ++k) X[t * K + k] = (nd(rng) + 0.7f * common) * (k % 37 == 0 ? 8.0f : 1.0f);
  }
  return X;
}

// Damped Hessian (K, K) = 2 XᵀX / n + 1% of its mean diagonal, as gptq_quantize factorizes it.
std::vector<double> damped_hessian(const std::vector<float>& X, int64_t n, int64_t K) {
  std::vector<double> H(static_cast<size_t>(K * K), 0.0);
  hessian_accumulate(H.data(), X.data(), n, K, 2.0 / double(n));
  double md = 0;
  for (int64_t k = 0; k < K; ++k) md += H[k * K + k] / double(K);
  for (int64_t k = 0; k < K; ++k) H[k * K + k] += 0.01 * md;
  return H;
}

// ‖a − b‖_F / ‖b‖_F over the lower triangles of two (K, K) matrices.
template <class A>
double rel_lower(const A& a, const std::vector<double>& b, int64_t K) {
  double e = 0, s = 0;
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      const double d = double(a[i * K + j]) - b[i * K + j];
      e += d * d;
      s += b[i * K + j] * b[i * K + j];
    }
  return std::sqrt(e / s);
}

}  // namespace

TEST_CASE("blocked f32 Cholesky and triangular inverse match the double reference on odd sizes") {
  for (int64_t K : {1, 7, 129, 301, 1000}) {
    const int64_t n = K + 50;  // full rank before damping
    const std::vector<double> H = damped_hessian(make_inputs(n, K, uint32_t(K)), n, K);
    std::vector<float> L(H.begin(), H.end()), M(static_cast<size_t>(K * K), -1.0f);
    cholesky_lower_f32(L.data(), K, "H");
    lower_inverse_f32(L.data(), M.data(), K);
    std::vector<double> Lr = H;
    cholesky_lower_f64(Lr, K, "H");
    const std::vector<double> Mr = lower_inverse_f64(Lr, K);
    // L Lᵀ reproduces H (own residual, independent of the reference).
    double e = 0, s = 0;
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j <= i; ++j) {
        double r = 0;
        for (int64_t k = 0; k <= j; ++k) r += double(L[i * K + k]) * L[j * K + k];
        e += (r - H[i * K + j]) * (r - H[i * K + j]);
        s += H[i * K + j] * H[i * K + j];
      }
    const double res = std::sqrt(e / s), eL = rel_lower(L, Lr, K), eM = rel_lower(M, Mr, K);
    std::printf("K=%4lld  |LL^T-H|/|H| %.2e  |L-Lref|/|Lref| %.2e  |Linv-ref|/|ref| %.2e\n", (long long)K, res, eL, eM);
    CAPTURE(K);
    CHECK(res < 1e-6);
    CHECK(eL < 2e-5);
    CHECK(eM < 1e-4);
    int64_t upper_nonzero = 0;  // the strict upper triangle of the inverse is zero
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = i + 1; j < K; ++j) upper_nonzero += M[i * K + j] != 0.0f;
    CHECK(upper_nonzero == 0);
  }
}

TEST_CASE("a non-positive pivot raises the same error in the f32 and the double factorization") {
  const int64_t K = 301;
  std::vector<double> H(static_cast<size_t>(K * K), 0.0);
  for (int64_t k = 0; k < K; ++k) H[k * K + k] = 2.0;
  H[200 * K + 200] = -1.0;  // in the second 128-wide block
  H[3 * K + 3] = 4.0;
  H[200 * K + 3] = H[3 * K + 200] = 1.0;  // coupled to the first block: pivot 200 = -1 - (1/2)² (exact)
  std::vector<float> Hf(H.begin(), H.end());
  std::string msg_f32, msg_f64;
  try { cholesky_lower_f32(Hf.data(), K, "damped H"); } catch (const Error& e) { msg_f32 = e.what(); }
  try { cholesky_lower_f64(H, K, "damped H"); } catch (const Error& e) { msg_f64 = e.what(); }
  CHECK(msg_f32 == "gptq: damped H is not positive definite (pivot 200 = -1.25)");
  CHECK(msg_f64 == msg_f32);
}

TEST_CASE("GPTQ with the f32 factorization: output error within 1% of the all-double path") {
  const int64_t N = 64, K = 320, n = 512;  // K = 2·128 + 64: a ragged last block
  const std::vector<float> X = make_inputs(n, K, 5);
  std::vector<double> H(static_cast<size_t>(K * K), 0.0);
  hessian_accumulate(H.data(), X.data(), n, K, 2.0 / double(n));
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.0f, 0.05f);
  std::vector<float> W(static_cast<size_t>(N * K));
  for (auto& v : W) v = nd(rng);
  for (const char* name : {"int4g64", "uint3g32", "q4_0"}) {
    QuantSpec spec;
    REQUIRE(parse_quant_spec(name, spec));
    for (bool ao : {false, true}) {
      GptqOptions o;
      o.act_order = ao;
      const double e32 = relative_output_error(W.data(), gptq_quantize(W.data(), N, K, H.data(), spec, o).values.data(),
                                               X.data(), N, K, n);
      o.f64_factor = true;
      const double e64 = relative_output_error(W.data(), gptq_quantize(W.data(), N, K, H.data(), spec, o).values.data(),
                                               X.data(), N, K, n);
      std::printf("%-9s act-order %d: rel. output error f32 factor %.6f, f64 factor %.6f (x%.4f)\n", name, int(ao), e32,
                  e64, e32 / e64);
      CAPTURE(name);
      CAPTURE(ao);
      CHECK(std::fabs(e32 / e64 - 1.0) < 0.01);
    }
  }
}
