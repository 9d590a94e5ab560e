// The kernels the families beyond Llama added (LayerNorm, the soft-cap, forward and backward): the scalar twin
// against a double evaluation of the formula (central differences for the backwards), and every ISA against the
// scalar twin, on ragged sizes.
// Not the attention window and soft-cap (tests/kernels/test_attention.cpp) nor GELU (test_basic_ops.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/ref/elementwise.h"
#include "kernels/ref/norm.h"
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

TEST_CASE("layernorm backward: the scalar twin matches central differences in double; every ISA matches it") {
  // loss = Σ dy ∘ layernorm(x; w, b), so its gradients are what the backward accumulates.
  const int64_t rows = 2, C = 7;
  std::vector<float> xf = test::uniform(static_cast<size_t>(rows * C), -1, 1), wf = test::uniform(C, 0.5, 1.5),
                     bf = test::uniform(C, -1, 1), dyf = test::uniform(static_cast<size_t>(rows * C), -1, 1);
  std::vector<double> x(xf.begin(), xf.end()), w(wf.begin(), wf.end()), b(bf.begin(), bf.end()), dy(dyf.begin(), dyf.end());
  auto loss = [&] {
    std::vector<double> y(x.size());
    ref::layernorm_forward<double>(y.data(), nullptr, x.data(), w.data(), b.data(), rows, C, 1e-5);
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += dy[i] * y[i];
    return l;
  };
  std::vector<double> y(x.size()), rstd(rows), dx(x.size()), dw(C), db(C);
  ref::layernorm_forward<double>(y.data(), rstd.data(), x.data(), w.data(), b.data(), rows, C, 1e-5);
  ref::layernorm_backward<double>(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), rstd.data(), rows, C);
  auto fd = [&](std::vector<double>& v, const std::vector<double>& g, const char* name) {
    for (size_t i = 0; i < v.size(); ++i) {
      const double keep = v[i], eps = 1e-6;
      v[i] = keep + eps;
      const double lp = loss();
      v[i] = keep - eps;
      const double lm = loss();
      v[i] = keep;
      INFO(name << "[" << i << "]");
      CHECK(g[i] == doctest::Approx((lp - lm) / (2 * eps)).epsilon(1e-6));
    }
  };
  fd(x, dx, "dx");
  fd(w, dw, "dw");
  fd(b, db, "db");

  const KernelTable& s = *kernels_for(Isa::Scalar);
  for (int64_t Cr : test::kRaggedSizes) {
    const int64_t R = 3;
    INFO("C=" << Cr);
    std::vector<float> xr = test::uniform(static_cast<size_t>(R * Cr), -1, 1), wr = test::uniform(static_cast<size_t>(Cr), 0.5, 1.5),
                       br = test::uniform(static_cast<size_t>(Cr), -1, 1), g = test::uniform(static_cast<size_t>(R * Cr), -1, 1);
    for (int64_t i = 0; i < Cr; ++i) xr[static_cast<size_t>(Cr + i)] += 10.0f;
    std::vector<float> yr(xr.size()), rs(R);
    s.layernorm_forward(yr.data(), rs.data(), xr.data(), wr.data(), br.data(), R, Cr, 1e-5f);
    std::vector<float> dx0(xr.size(), 0.5f), dw0(static_cast<size_t>(Cr), 0.25f), db0(static_cast<size_t>(Cr), -0.25f);
    s.layernorm_backward(dx0.data(), dw0.data(), db0.data(), g.data(), xr.data(), wr.data(), rs.data(), R, Cr);
    test::for_each_simd_isa("layernorm_backward", [&](Isa, const KernelTable& k, const KernelTable&) {
      std::vector<float> dxk(xr.size(), 0.5f), dwk(static_cast<size_t>(Cr), 0.25f), dbk(static_cast<size_t>(Cr), -0.25f);
      k.layernorm_backward(dxk.data(), dwk.data(), dbk.data(), g.data(), xr.data(), wr.data(), rs.data(), R, Cr);
      test::check_close("layernorm dx vs scalar", dxk.data(), dx0.data(), R * Cr, 1e-4, 1e-4);
      test::check_close("layernorm dw vs scalar", dwk.data(), dw0.data(), Cr, 1e-4, 1e-4);
      test::check_close("layernorm db vs scalar", dbk.data(), db0.data(), Cr, 1e-5, 1e-5);
    });
  }
}

TEST_CASE("softcap backward: dx += dy·(1 − (y/cap)²) matches d/dx of cap·tanh(x/cap); every ISA matches the twin") {
  const KernelTable& s = *kernels_for(Isa::Scalar);
  for (int64_t n : test::kRaggedSizes) {
    INFO("n=" << n);
    const std::vector<float> x = test::uniform_with_outliers(static_cast<size_t>(n), -60, 60);
    const std::vector<float> dy = test::uniform(static_cast<size_t>(n), -1, 1);
    std::vector<float> y(x.size()), dx(x.size(), 0.5f), want(x.size());
    s.softcap_forward(y.data(), x.data(), 30.0f, n);
    s.softcap_backward(dx.data(), dy.data(), y.data(), 30.0f, n);
    for (size_t i = 0; i < x.size(); ++i) {
      const double t = std::tanh(x[i] / 30.0);
      want[i] = static_cast<float>(0.5 + dy[i] * (1 - t * t));
    }
    test::check_close("softcap backward scalar vs double", dx.data(), want.data(), n, 1e-5, 1e-5);
    test::for_each_simd_isa("softcap_backward", [&](Isa, const KernelTable& k, const KernelTable&) {
      std::vector<float> dxk(x.size(), 0.5f);
      k.softcap_backward(dxk.data(), dy.data(), y.data(), 30.0f, n);
      test::check_close("softcap backward vs scalar", dxk.data(), dx.data(), n, 1e-6, 1e-6);
    });
  }
}
