// Every backward of the basic ops against central finite differences, in double through kernels/ref/*.h.
// Not a cross-ISA check: test_basic_ops.cpp ties every SIMD kernel to these same references.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/ref/elementwise.h"
#include "kernels/ref/norm.h"
#include "kernels/ref/rope.h"
#include "kernels/ref/softmax.h"

using namespace edgellm;
using Vec = std::vector<double>;

namespace {

// In double, a central difference with h = 1e-5 has truncation error h²·f'''/6 ~ 1e-11 and
// round-off eps·|L|/h ~ 1e-10: far below this bound, while a wrong term in a backward is O(1).
constexpr double kStep = 1e-5;
constexpr double kGradRelTol = 1e-6;

Vec rand_vec(size_t n, double lo, double hi) { return test::uniform<double>(n, lo, hi); }

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// dL/dp by central differences: (L(p + h·e_i) − L(p − h·e_i)) / 2h, one coordinate at a time.
Vec numeric_grad(const std::function<double(const Vec&)>& L, Vec p) {
  Vec g(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    const double p0 = p[i];
    p[i] = p0 + kStep;
    const double up = L(p);
    p[i] = p0 - kStep;
    const double down = L(p);
    p[i] = p0;
    g[i] = (up - down) / (2 * kStep);
  }
  return g;
}

// Backward kernels accumulate: they start from `start` and the analytic gradient is what they added.
Vec added(const Vec& after, const Vec& start) {
  Vec d(after.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = after[i] - start[i];
  return d;
}

void check_grad(const std::string& what, const Vec& analytic, const Vec& numeric) {
  REQUIRE(analytic.size() == numeric.size());
  double diff = 0, ref = 0;
  for (size_t i = 0; i < analytic.size(); ++i) {
    diff += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
    ref += numeric[i] * numeric[i];
  }
  const double rel = std::sqrt(diff) / std::max(std::sqrt(ref), 1e-30);
  CHECK_MESSAGE(rel < kGradRelTol, what << ": |analytic − numeric| / |numeric| = " << rel);
}

constexpr int64_t kN = 33;  // elementwise length: not a multiple of any SIMD width
constexpr size_t kNs = static_cast<size_t>(kN);

}  // namespace

TEST_CASE("add, mul, scale backward equal finite differences") {
  const Vec a = rand_vec(kNs, -2, 2), b = rand_vec(kNs, -2, 2), r = rand_vec(kNs, -1, 1);
  const Vec ga0 = rand_vec(kNs, -1, 1), gb0 = rand_vec(kNs, -1, 1);
  Vec y(kNs);
  {
    Vec ga = ga0, gb = gb0;
    ref::add_backward<double>(ga.data(), gb.data(), r.data(), kN);
    auto La = [&](const Vec& p) { ref::add_forward<double>(y.data(), p.data(), b.data(), kN); return dot(r, y); };
    auto Lb = [&](const Vec& p) { ref::add_forward<double>(y.data(), a.data(), p.data(), kN); return dot(r, y); };
    check_grad("add da", added(ga, ga0), numeric_grad(La, a));
    check_grad("add db", added(gb, gb0), numeric_grad(Lb, b));
  }
  {
    Vec ga = ga0, gb = gb0;
    ref::mul_backward<double>(ga.data(), gb.data(), r.data(), a.data(), b.data(), kN);
    auto La = [&](const Vec& p) { ref::mul_forward<double>(y.data(), p.data(), b.data(), kN); return dot(r, y); };
    auto Lb = [&](const Vec& p) { ref::mul_forward<double>(y.data(), a.data(), p.data(), kN); return dot(r, y); };
    check_grad("mul da", added(ga, ga0), numeric_grad(La, a));
    check_grad("mul db", added(gb, gb0), numeric_grad(Lb, b));
  }
  {
    const double s = -1.7;
    Vec g = ga0;
    ref::scale_backward<double>(g.data(), r.data(), s, kN);
    auto L = [&](const Vec& p) { ref::scale_forward<double>(y.data(), p.data(), s, kN); return dot(r, y); };
    check_grad("scale dx", added(g, ga0), numeric_grad(L, a));
  }
}

TEST_CASE("silu, gelu, swiglu backward equal finite differences") {
  const Vec x = rand_vec(kNs, -5, 5), up = rand_vec(kNs, -2, 2), r = rand_vec(kNs, -1, 1);
  const Vec g0 = rand_vec(kNs, -1, 1), u0 = rand_vec(kNs, -1, 1);
  Vec y(kNs);
  {
    Vec g = g0;
    ref::silu_backward<double>(g.data(), r.data(), x.data(), kN);
    auto L = [&](const Vec& p) { ref::silu_forward<double>(y.data(), p.data(), kN); return dot(r, y); };
    check_grad("silu dx", added(g, g0), numeric_grad(L, x));
  }
  {
    Vec g = g0;
    ref::gelu_backward<double>(g.data(), r.data(), x.data(), kN);
    auto L = [&](const Vec& p) { ref::gelu_forward<double>(y.data(), p.data(), kN); return dot(r, y); };
    check_grad("gelu dx", added(g, g0), numeric_grad(L, x));
  }
  {
    Vec dg = g0, du = u0;
    ref::swiglu_backward<double>(dg.data(), du.data(), r.data(), x.data(), up.data(), kN);
    auto Lg = [&](const Vec& p) { ref::swiglu_forward<double>(y.data(), p.data(), up.data(), kN); return dot(r, y); };
    auto Lu = [&](const Vec& p) { ref::swiglu_forward<double>(y.data(), x.data(), p.data(), kN); return dot(r, y); };
    check_grad("swiglu dgate", added(dg, g0), numeric_grad(Lg, x));
    check_grad("swiglu dup", added(du, u0), numeric_grad(Lu, up));
  }
}

TEST_CASE("rmsnorm backward (dx and dw) equals finite differences") {
  for (int64_t C : {int64_t{7}, int64_t{33}}) {
    const int64_t rows = 3;
    const size_t N = static_cast<size_t>(rows * C), CC = static_cast<size_t>(C);
    const double eps = 1e-5;
    const Vec x = rand_vec(N, -2, 2), w = rand_vec(CC, 0.5, 1.5), r = rand_vec(N, -1, 1);
    const Vec gx0 = rand_vec(N, -1, 1), gw0 = rand_vec(CC, -1, 1);
    Vec y(N), rstd(static_cast<size_t>(rows));
    ref::rmsnorm_forward<double>(y.data(), rstd.data(), x.data(), w.data(), rows, C, eps);
    Vec gx = gx0, gw = gw0;
    ref::rmsnorm_backward<double>(gx.data(), gw.data(), r.data(), x.data(), w.data(), rstd.data(), rows, C);
    auto Lx = [&](const Vec& p) {
      ref::rmsnorm_forward<double>(y.data(), nullptr, p.data(), w.data(), rows, C, eps);
      return dot(r, y);
    };
    auto Lw = [&](const Vec& p) {
      ref::rmsnorm_forward<double>(y.data(), nullptr, x.data(), p.data(), rows, C, eps);
      return dot(r, y);
    };
    const std::string tag = "rmsnorm C=" + std::to_string(C);
    check_grad(tag + " dx", added(gx, gx0), numeric_grad(Lx, x));
    check_grad(tag + " dw", added(gw, gw0), numeric_grad(Lw, w));
  }
}

TEST_CASE("softmax backward equals finite differences") {
  for (int64_t C : {int64_t{1}, int64_t{7}, int64_t{33}}) {
    const int64_t rows = 3;
    const size_t N = static_cast<size_t>(rows * C);
    const Vec x = rand_vec(N, -3, 3), r = rand_vec(N, -1, 1), g0 = rand_vec(N, -1, 1);
    Vec y(N);
    ref::softmax_forward<double>(y.data(), x.data(), rows, C);
    Vec g = g0;
    ref::softmax_backward<double>(g.data(), r.data(), y.data(), rows, C);
    Vec tmp(N);
    auto L = [&](const Vec& p) { ref::softmax_forward<double>(tmp.data(), p.data(), rows, C); return dot(r, tmp); };
    const Vec num = numeric_grad(L, x), an = added(g, g0);
    if (C == 1) {  // a one-element softmax is constant 1: both gradients are exactly zero
      for (size_t i = 0; i < N; ++i) CHECK(std::fabs(an[i]) < 1e-12);
      continue;
    }
    check_grad("softmax C=" + std::to_string(C), an, num);
  }
}

TEST_CASE("rope backward equals finite differences in both pairings") {
  const int64_t T = 3, NH = 2;
  for (int64_t HD : {int64_t{2}, int64_t{6}, int64_t{8}})
    for (RopePairing p : {RopePairing::Interleaved, RopePairing::NeoX}) {
      const size_t N = static_cast<size_t>(T * NH * HD), H = static_cast<size_t>(T * HD / 2);
      const Vec x = rand_vec(N, -2, 2), r = rand_vec(N, -1, 1), g0 = rand_vec(N, -1, 1);
      const Vec theta = rand_vec(H, -4, 4);
      Vec c(H), s(H), y(N);
      for (size_t i = 0; i < H; ++i) c[i] = std::cos(theta[i]), s[i] = std::sin(theta[i]);
      Vec g = g0;
      ref::rope_backward<double>(g.data(), r.data(), c.data(), s.data(), T, NH, HD, p);
      auto L = [&](const Vec& q) {
        ref::rope_forward<double>(y.data(), q.data(), c.data(), s.data(), T, NH, HD, p);
        return dot(r, y);
      };
      check_grad(std::string("rope ") + (p == RopePairing::NeoX ? "neox" : "interleaved") + " HD=" +
                     std::to_string(HD),
                 added(g, g0), numeric_grad(L, x));
    }
}

TEST_CASE("the two rope pairings differ (NeoX is not silently the interleaved layout)") {
  const int64_t T = 1, NH = 1, HD = 4;
  const Vec x = {1, 2, 3, 4}, c = {0, 0}, s = {1, 1};  // a quarter turn for both pairs
  Vec yi(4), yn(4);
  ref::rope_forward<double>(yi.data(), x.data(), c.data(), s.data(), T, NH, HD, RopePairing::Interleaved);
  ref::rope_forward<double>(yn.data(), x.data(), c.data(), s.data(), T, NH, HD, RopePairing::NeoX);
  // Interleaved rotates (x0, x1) and (x2, x3); NeoX rotates (x0, x2) and (x1, x3): [a, b] -> [−b, a].
  CHECK(yi == Vec{-2, 1, -4, 3});
  CHECK(yn == Vec{-3, -4, 1, 2});
}
