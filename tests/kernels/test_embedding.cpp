// Tests of the embedding lookup and its scatter-add backward: every ISA against the reference on ragged C,
// repeated ids accumulating, central differences in double, and errors on ids outside the table.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "kernels/embedding.h"
#include "kernels/ref/embedding.h"
#include "runtime/error.h"

using namespace edgellm;

namespace {

template <class T>
std::vector<T> randn(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd;
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(nd(rng));
  return v;
}

}  // namespace

TEST_CASE("embedding: every ISA matches the reference; repeated ids accumulate") {
  const int64_t vocab = 11;
  for (int64_t C : {1, 7, 33, 257, 4099}) {
    const std::vector<int32_t> ids = {3, 0, 10, 3, 7, 3, 10};  // 3 three times, 10 twice
    const int64_t T = static_cast<int64_t>(ids.size());
    const auto table = randn<float>(vocab * C, 1);
    const auto dout = randn<float>(T * C, 2);
    std::vector<float> out0(T * C), dt0 = randn<float>(vocab * C, 3);
    std::vector<float> dt_init = dt0;
    ref::embedding_forward<float>(out0.data(), table.data(), ids.data(), T, C, C);
    ref::embedding_backward<float>(dt0.data(), dout.data(), ids.data(), T, C, C);
    for (int64_t i = 0; i < C; ++i)  // the reference itself: row 3 got all three of its tokens
      REQUIRE(dt0[3 * C + i] == doctest::Approx(dt_init[3 * C + i] + dout[0 * C + i] + dout[3 * C + i] + dout[5 * C + i]));
    for (Isa isa : available_isas()) {
      CAPTURE(C);
      const std::string isa_str = isa_name(isa);
      CAPTURE(isa_str);
      const KernelTable& kt = *kernels_for(isa);
      std::vector<float> out(T * C, -1.0f), dt = dt_init;
      embedding_forward(out.data(), table.data(), ids.data(), T, C, vocab, kt);
      CHECK(out == out0);
      embedding_backward(dt.data(), dout.data(), ids.data(), T, C, vocab, kt);
      for (int64_t i = 0; i < vocab * C; ++i) REQUIRE(dt[i] == doctest::Approx(dt0[i]).epsilon(1e-6));
      for (int64_t i = 0; i < C; ++i) REQUIRE(dt[1 * C + i] == dt_init[1 * C + i]);  // id 1 unused: untouched
    }
  }
}

TEST_CASE("embedding ref: backward matches central differences in double") {
  const int64_t vocab = 4, C = 3, T = 5;
  const std::vector<int32_t> ids = {2, 0, 2, 3, 2};
  auto table = randn<double>(vocab * C, 4);
  const auto w = randn<double>(T * C, 5);  // loss = Σ w ∘ out
  std::vector<double> out(T * C), dt(vocab * C, 0.0);
  ref::embedding_backward<double>(dt.data(), w.data(), ids.data(), T, C, C);
  auto loss = [&] {
    ref::embedding_forward<double>(out.data(), table.data(), ids.data(), T, C, C);
    double l = 0;
    for (int64_t i = 0; i < T * C; ++i) l += w[i] * out[i];
    return l;
  };
  const double eps = 1e-6;
  for (int64_t i = 0; i < vocab * C; ++i) {
    const double keep = table[i];
    table[i] = keep + eps;
    const double lp = loss();
    table[i] = keep - eps;
    const double lm = loss();
    table[i] = keep;
    CHECK(dt[i] == doctest::Approx((lp - lm) / (2 * eps)).epsilon(1e-7).scale(1.0));
  }
}

TEST_CASE("embedding: ids outside the table throw an Error naming the id") {
  std::vector<float> table(4 * 8), out(2 * 8);
  const std::vector<int32_t> bad = {1, 4};
  CHECK_THROWS_WITH_AS(embedding_forward(out.data(), table.data(), bad.data(), 2, 8, 4), doctest::Contains("ids[1] = 4"),
                       Error);
  const std::vector<int32_t> neg = {-1, 0};
  CHECK_THROWS_WITH_AS(embedding_backward(table.data(), out.data(), neg.data(), 2, 8, 4),
                       doctest::Contains("ids[0] = -1"), Error);
}
