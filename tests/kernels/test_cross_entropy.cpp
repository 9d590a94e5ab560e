// Tests of the fused cross-entropy with loss masking: the reference against a direct log-softmax in double,
// its backward against central differences in double, every ISA against it on ragged V, and the driver's
// PyTorch-style mean (ignore_index = -100, NaN when every row is masked, errors on bad targets).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cross_entropy.h"
#include "kernels/ref/cross_entropy.h"
#include "runtime/error.h"

using namespace edgellm;

namespace {

template <class T>
std::vector<T> randn(size_t n, unsigned seed, double sd) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd(0.0, sd);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(nd(rng));
  return v;
}

// Targets in [0, V), every third row masked with ignore_index.
std::vector<int32_t> targets_for(int64_t T, int64_t V, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> y(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) y[t] = t % 3 == 1 ? kIgnoreIndex : static_cast<int32_t>(rng() % V);
  return y;
}

// mean over unmasked rows of −log softmax(x)_y, computed directly (log of the normalized probability)
double direct_mean_loss(const std::vector<double>& x, const std::vector<int32_t>& y, int64_t T, int64_t V) {
  double sum = 0;
  int64_t n = 0;
  for (int64_t t = 0; t < T; ++t) {
    if (y[t] == kIgnoreIndex) continue;
    double z = 0;
    for (int64_t j = 0; j < V; ++j) z += std::exp(x[t * V + j]);
    sum += -std::log(std::exp(x[t * V + y[t]]) / z);
    ++n;
  }
  return sum / static_cast<double>(n);
}

double ref_mean(const std::vector<double>& x, const std::vector<int32_t>& y, int64_t T, int64_t V) {
  std::vector<double> loss(T), lse(T);
  ref::cross_entropy_forward<double>(loss.data(), lse.data(), x.data(), y.data(), T, V, kIgnoreIndex);
  double s = 0;
  int64_t n = 0;
  for (int64_t t = 0; t < T; ++t) {
    s += loss[t];
    n += y[t] != kIgnoreIndex;
  }
  return s / static_cast<double>(n);
}

}  // namespace

TEST_CASE("cross_entropy ref: masked mean matches a direct log-softmax in double") {
  for (int64_t V : {1, 7, 33, 257}) {
    CAPTURE(V);
    const int64_t T = 8;
    const auto x = randn<double>(T * V, 1, 3.0);
    const auto y = targets_for(T, V, 2);
    CHECK(ref_mean(x, y, T, V) == doctest::Approx(direct_mean_loss(x, y, T, V)).epsilon(1e-12));
  }
  // Stable where a naive exp would overflow: logits near 1000.
  std::vector<double> x = {1000.0, 1001.0, 999.0};
  const std::vector<int32_t> y = {1};
  const double want = -std::log(std::exp(1.0) / (std::exp(0.0) + std::exp(1.0) + std::exp(-1.0)));
  CHECK(ref_mean(x, y, 1, 3) == doctest::Approx(want).epsilon(1e-12));
}

TEST_CASE("cross_entropy ref: backward matches central differences in double") {
  const int64_t T = 5, V = 6;
  auto x = randn<double>(T * V, 3, 2.0);
  const auto y = targets_for(T, V, 4);
  std::vector<double> loss(T), lse(T), dx(T * V, 0.25);  // nonzero: backward accumulates
  ref::cross_entropy_forward<double>(loss.data(), lse.data(), x.data(), y.data(), T, V, kIgnoreIndex);
  const double dloss = 1.7;
  const int64_t n = cross_entropy_count(y.data(), T, V);
  ref::cross_entropy_backward<double>(dx.data(), x.data(), lse.data(), y.data(), dloss / n, T, V, kIgnoreIndex);
  const double eps = 1e-6;
  for (int64_t i = 0; i < T * V; ++i) {
    const double keep = x[i];
    x[i] = keep + eps;
    const double lp = ref_mean(x, y, T, V);
    x[i] = keep - eps;
    const double lm = ref_mean(x, y, T, V);
    x[i] = keep;
    CAPTURE(i);
    CHECK(dx[i] - 0.25 == doctest::Approx(dloss * (lp - lm) / (2 * eps)).epsilon(1e-6).scale(1.0));
  }
}

TEST_CASE("cross_entropy: every ISA matches the scalar reference on ragged V") {
  for (int64_t V : {1, 7, 33, 257, 4099}) {
    const int64_t T = 7;
    const auto x = randn<float>(T * V, 5, 4.0);
    const auto y = targets_for(T, V, 6);
    std::vector<float> loss0(T), lse0(T), dx0(T * V, 0.5f);
    const float mean0 = cross_entropy_forward(loss0.data(), lse0.data(), x.data(), y.data(), T, V, kIgnoreIndex,
                                              *kernels_for(Isa::Scalar));
    cross_entropy_backward(dx0.data(), x.data(), lse0.data(), y.data(), 2.0f, T, V, kIgnoreIndex,
                           *kernels_for(Isa::Scalar));
    for (Isa isa : available_isas()) {
      CAPTURE(V);
      const std::string isa_str = isa_name(isa);
      CAPTURE(isa_str);
      const KernelTable& kt = *kernels_for(isa);
      std::vector<float> loss(T), lse(T), dx(T * V, 0.5f);
      const float mean = cross_entropy_forward(loss.data(), lse.data(), x.data(), y.data(), T, V, kIgnoreIndex, kt);
      CHECK(mean == doctest::Approx(mean0).epsilon(1e-5));
      for (int64_t t = 0; t < T; ++t) {
        CHECK(loss[t] == doctest::Approx(loss0[t]).epsilon(1e-5).scale(1.0));
        CHECK(lse[t] == doctest::Approx(lse0[t]).epsilon(1e-5).scale(1.0));
      }
      cross_entropy_backward(dx.data(), x.data(), lse.data(), y.data(), 2.0f, T, V, kIgnoreIndex, kt);
      double err = 0;
      for (int64_t i = 0; i < T * V; ++i) err = std::max(err, std::abs(double(dx[i]) - dx0[i]));
      CHECK(err < 1e-5);
      for (int64_t i = V; i < 2 * V; ++i) REQUIRE(dx[i] == 0.5f);  // row 1 is masked: untouched
    }
  }
}

TEST_CASE("cross_entropy: driver semantics (mean over unmasked rows, all masked, bad targets)") {
  const int64_t T = 4, V = 5;
  const auto x = randn<float>(T * V, 7, 1.0);
  std::vector<float> loss(T), lse(T);
  std::vector<int32_t> y = {2, kIgnoreIndex, 0, 4};
  const float mean = cross_entropy_forward(loss.data(), lse.data(), x.data(), y.data(), T, V);
  CHECK(loss[1] == 0.0f);
  CHECK(mean == doctest::Approx((loss[0] + loss[2] + loss[3]) / 3.0f));
  // Every row masked: PyTorch's mean is NaN; backward adds nothing.
  std::vector<int32_t> none(T, kIgnoreIndex);
  CHECK(std::isnan(cross_entropy_forward(loss.data(), lse.data(), x.data(), none.data(), T, V)));
  std::vector<float> dx(T * V, 0.0f);
  cross_entropy_backward(dx.data(), x.data(), lse.data(), none.data(), 1.0f, T, V);
  for (float g : dx) REQUIRE(g == 0.0f);
  // A custom ignore index masks like -100 does.
  std::vector<int32_t> y2 = {2, -1, 0, 4};
  CHECK(cross_entropy_forward(loss.data(), lse.data(), x.data(), y2.data(), T, V, -1) == doctest::Approx(mean));
  y[2] = 5;
  CHECK_THROWS_WITH_AS(cross_entropy_forward(loss.data(), lse.data(), x.data(), y.data(), T, V),
                       doctest::Contains("targets[2] = 5"), Error);
  y[2] = -3;
  CHECK_THROWS_WITH_AS(cross_entropy_backward(dx.data(), x.data(), lse.data(), y.data(), 1.0f, T, V),
                       doctest::Contains("targets[2] = -3"), Error);
}
