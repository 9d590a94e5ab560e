// Helpers shared by the tests: a scoped thread count, a scoped --mem-budget room and a relative difference.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "runtime/arena.h"
#include "runtime/parallel.h"

namespace edgellm::test {

// One thread for the scope: these tests run many small parallel regions, which spinning OpenMP threads on a shared,
// busy 2-core machine make slow. Restores the previous count.
struct OneThread {
  int saved = num_threads();
  OneThread() { set_num_threads(1); }
  ~OneThread() { set_num_threads(saved); }
  OneThread(const OneThread&) = delete;
  OneThread& operator=(const OneThread&) = delete;
};

// default_arena()'s budget for the scope: the room left is `room` bytes over what is in use now (as --mem-budget
// would leave it). Restores the previous budget.
struct BudgetScope {
  size_t saved = default_arena().budget();
  explicit BudgetScope(size_t room) { default_arena().set_budget(default_arena().in_use() + room); }
  ~BudgetScope() { default_arena().set_budget(saved); }
  BudgetScope(const BudgetScope&) = delete;
  BudgetScope& operator=(const BudgetScope&) = delete;
};

// max |a - b| / max(1, max |b|)
inline double rel_max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0, m = 1;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, static_cast<double>(std::fabs(a[i] - b[i])));
    m = std::max(m, static_cast<double>(std::fabs(b[i])));
  }
  return d / m;
}

// `levels` arrays nested one in the other around `inner`: the hostile input of issue 24 (40,000 levels crashed
// every loader that copied or printed the subtree).
inline std::string nested_json(int levels, const std::string& inner = "1") {
  return std::string(static_cast<size_t>(levels), '[') + inner + std::string(static_cast<size_t>(levels), ']');
}

}  // namespace edgellm::test
