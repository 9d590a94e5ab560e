// Helpers shared by the kernel tests: seeded random buffers, ISA iteration and array
// comparisons that report the worst element. Not a framework: doctest runs the cases.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"

namespace edgellm::test {

// Ragged sizes: below, at and past every SIMD width (4, 8, 16) so tails are exercised.
inline const std::vector<int64_t> kRaggedSizes = {1, 7, 33, 257, 4099};

inline std::mt19937& rng() {
  static std::mt19937 g(20261124u);
  return g;
}

template <class T = float>
std::vector<T> uniform(size_t n, double lo, double hi) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(rng()));
  return v;
}

// Random values, with every 16th scaled by 10 so that saturating paths (exp, tanh) are hit too.
inline std::vector<float> uniform_with_outliers(size_t n, double lo, double hi) {
  auto v = uniform(n, lo, hi);
  for (size_t i = 0; i < n; i += 16) v[i] *= 10.0f;
  return v;
}

// Calls f(isa, table, scalar_table) for every usable ISA but scalar, saying which one runs
// (so a qemu log shows that "neon" was really exercised).
template <class F>
void for_each_simd_isa(const char* what, F&& f) {
  const KernelTable* ref = kernels_for(Isa::Scalar);
  REQUIRE(ref != nullptr);
  bool any = false;
  for (Isa isa : available_isas()) {
    if (isa == Isa::Scalar) continue;
    const KernelTable* k = kernels_for(isa);
    REQUIRE(k != nullptr);
    std::printf("test_kernels: %s: %s vs scalar\n", what, isa_name(isa));
    std::fflush(stdout);
    INFO("ISA " << std::string(isa_name(isa)));
    any = true;
    f(isa, *k, *ref);
  }
  if (!any) std::printf("test_kernels: %s: only scalar is usable here, nothing to compare\n", what);
}

// Checks |got − want| <= atol + rtol·|want| element-wise (NaN only matches NaN) and reports the
// element that exceeds its limit the most.
inline void check_close(const std::string& what, const float* got, const float* want, int64_t n, double rtol,
                        double atol) {
  int64_t worst = -1;
  double worst_ratio = 0, max_abs = 0, max_used = 0;  // max_used: the largest d / limit seen
  for (int64_t i = 0; i < n; ++i) {
    const double g = got[i], w = want[i];
    if (std::isnan(g) && std::isnan(w)) continue;
    const double d = std::fabs(g - w), lim = atol + rtol * std::fabs(w);
    if (std::isnan(d) ? true : d > max_abs) max_abs = std::isnan(d) ? INFINITY : d;
    if (lim > 0 && d / lim > max_used) max_used = d / lim;
    if (!(d <= lim) && (worst < 0 || std::isnan(d) || d / lim > worst_ratio)) {
      worst = i;
      worst_ratio = std::isnan(d) ? INFINITY : d / lim;
    }
  }
  // EDGELLM_TEST_TOLERANCE_REPORT=1 prints how much of each tolerance is used (for tuning on a new CPU).
  static const bool report = std::getenv("EDGELLM_TEST_TOLERANCE_REPORT") != nullptr;
  if (report) std::printf("tolerance used %6.1f%%  max |diff| %.3g  %s\n", 100 * max_used, max_abs, what.c_str());
  if (worst >= 0) {
    char msg[512];
    std::snprintf(msg, sizeof msg, "%s: element %lld of %lld: got %.9g want %.9g (rtol %g, atol %g, max |diff| %.3g)",
                  what.c_str(), static_cast<long long>(worst), static_cast<long long>(n), got[worst], want[worst],
                  rtol, atol, max_abs);
    FAIL_CHECK(msg);
  } else {
    CHECK(true);
  }
}

inline void check_close(const std::string& what, const std::vector<float>& got, const std::vector<float>& want,
                        double rtol, double atol) {
  REQUIRE(got.size() == want.size());
  check_close(what, got.data(), want.data(), static_cast<int64_t>(got.size()), rtol, atol);
}

}  // namespace edgellm::test
