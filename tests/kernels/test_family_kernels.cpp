// The kernels the families beyond Llama added (LayerNorm's forward, the soft-cap): the scalar twin against a
// double evaluation of the formula, and every ISA against the scalar twin, on ragged sizes.
// Not the attention window and soft-cap (tests/kernels/test_attention.cpp) nor GELU (test_basic_ops.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernel_test_util.h"

using namespace edgellm;

namespace {

// y = (x − mean)·rstd·w + b per row, in double.
std::vector<double> layernorm_double(const std::vector<float>& x, const std::vector<float>& w,
                                     const std::vector<float>& b, int64_t rows, int64_t C, double eps) {
  std::vector<double> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < C; ++i) mean += x[r * C + i];
    mean /= static_cast<double>(C);
    for (int64_t i = 0; i < C; ++i) var += (x[r * C + i] - mean) * (x[r * C + i] - mean);
    const double rs = 1 / std::sqrt(var / static_cast<double>(C) + eps);
    for (int64_t i = 0; i < C; ++i) y[r * C + i] = (x[r * C + i] - mean) * rs * w[i] + b[i];
  }
  return y;
}

}  // namespace

TEST_CASE("layernorm: the scalar twin matches the formula in double; every ISA matches the scalar twin") {
  const KernelTable& s = *kernels_for(Isa::Scalar);
  for (int64_t C : test::kRaggedSizes) {
    const int64_t rows = 3;
    INFO("C=" << C);
    // A mean ten times the spread: the two-pass variance keeps its digits where E[x²] − mean² would not. The
    // f32 mean itself is rounded differently by W-wide partial sums, hence the tolerances of 1e-4.
    std::vector<float> x = test::uniform(static_cast<size_t>(rows * C), -1, 1);
    for (int64_t i = 0; i < C; ++i) x[static_cast<size_t>(C + i)] += 10.0f;
    const std::vector<float> w = test::uniform(static_cast<size_t>(C), 0.5, 1.5), b = test::uniform(static_cast<size_t>(C), -1, 1);
    std::vector<float> y(x.size()), rstd(rows);
    s.layernorm_forward(y.data(), rstd.data(), x.data(), w.data(), b.data(), rows, C, 1e-5f);
    const std::vector<double> want = layernorm_double(x, w, b, rows, C, 1e-5);
    std::vector<float> wantf(want.begin(), want.end());
    test::check_close("layernorm scalar vs double", y.data(), wantf.data(), rows * C, 1e-4, 1e-4);
    test::for_each_simd_isa("layernorm", [&](Isa, const KernelTable& k, const KernelTable&) {
      std::vector<float> yk(x.size()), rk(rows);
      k.layernorm_forward(yk.data(), rk.data(), x.data(), w.data(), b.data(), rows, C, 1e-5f);
      test::check_close("layernorm vs scalar", yk.data(), y.data(), rows * C, 1e-4, 1e-4);
      test::check_close("layernorm rstd vs scalar", rk.data(), rstd.data(), rows, 1e-4, 0);
      k.layernorm_forward(yk.data(), nullptr, x.data(), w.data(), b.data(), rows, C, 1e-5f);  // rstd optional
      test::check_close("layernorm (no rstd) vs scalar", yk.data(), y.data(), rows * C, 1e-4, 1e-4);
    });
  }
}

TEST_CASE("softcap: y = cap·tanh(x / cap) in the scalar twin and every ISA, bounded by cap") {
  const KernelTable& s = *kernels_for(Isa::Scalar);
  for (int64_t n : test::kRaggedSizes) {
    INFO("n=" << n);
    const std::vector<float> x = test::uniform_with_outliers(static_cast<size_t>(n), -60, 60);
    std::vector<float> y(x.size()), want(x.size());
    s.softcap_forward(y.data(), x.data(), 30.0f, n);
    for (size_t i = 0; i < x.size(); ++i) want[i] = static_cast<float>(30.0 * std::tanh(x[i] / 30.0));
    test::check_close("softcap scalar vs double", y.data(), want.data(), n, 1e-6, 1e-6);
    for (float v : y) CHECK(std::abs(v) <= 30.0f);
    test::for_each_simd_isa("softcap", [&](Isa, const KernelTable& k, const KernelTable&) {
      std::vector<float> yk(x.size());
      k.softcap_forward(yk.data(), x.data(), 30.0f, n);
      test::check_close("softcap vs scalar", yk.data(), y.data(), n, 1e-6, 1e-6);
    });
  }
}
