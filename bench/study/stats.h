// Statistics of the study: mean and 95% confidence interval over seeds (Student t), the paired t-test,
// Holm's correction, t-test power, and grouping of result rows into configurations. Not a reporting module.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/study/results.h"

namespace edgellm::study {

// Student t with df degrees of freedom (df >= 1, integer): P(|T| >= |t|), exact (the finite series in
// θ = atan(t/√df) of Abramowitz & Stegun 26.7.3-4), and the quantile q (0.5 < q < 1) by bisection on it.
double t_two_sided_p(double t, int df);
double t_quantile(double q, int df);
double t_quantile_975(int df);  // 0 when df < 1; tabulated once for df <= 200 (every interval asks)

// The paired t-test of H0 "mean difference 0", two-sided. The study's unit is the seed (its test users):
// cells that share a seed share users, so their difference per seed removes the users' own difficulty.
struct TTest {
  double estimate = 0, se = 0, t = 0, p = 1;  // p = 1 when n < 2 (no test)
  int n = 0;
};
TTest paired_t_test(const std::vector<double>& per_unit_differences);

// Holm's step-down adjustment of p-values (same order in and out): family-wise error ≤ α at p_adj < α.
std::vector<double> holm_adjust(const std::vector<double>& p);

// Power of the two-sided paired t-test at level alpha against a true mean difference `effect`, when the
// per-unit differences have standard deviation sd and there are n units: exact for normal differences
// (the non-central t, integrated over the sample standard deviation's chi distribution).
double t_test_power(double effect, double sd, int n, double alpha = 0.05);
// The smallest effect detected with probability `power` (NaN when n < 2).
double minimum_detectable_effect(double sd, int n, double power = 0.8, double alpha = 0.05);

struct MeanCi {
  double mean = 0, half = 0;  // the interval is mean ± half; half = t·s/√n (0 when n < 2)
  int n = 0;
  double lo() const { return mean - half; }
  double hi() const { return mean + half; }
  // The lower end to rank configurations by: a single value (no interval) ranks below every interval.
  double rank_low() const { return n >= 2 ? lo() : -1 + mean * 1e-3; }
  std::string str(double scale = 100, int digits = 1) const;  // "52.3 ± 4.1 (n=3)"
};
MeanCi mean_ci(const std::vector<double>& xs);

// A configuration: every factor except seed (and steps/level when asked for separately).
struct Config {
  std::string base, compression, method;
  double data = 1;
  int steps = 0;
  double lr = 0;  // a swept learning rate; 0: the method's default (learning_rate_of), as every older row
  bool operator<(const Config& o) const;
  std::string label() const;  // "lora-r8 · rtn4 · 25% · 100 steps · base-s" (" · lr 0.01" when swept)
};

// One value per seed for each (config, level): the seed's rows averaged (rows of a seed are unique).
struct Cell {
  std::map<int, double> by_seed;  // seed -> value
  MeanCi ci() const;
};
using Table = std::map<std::pair<Config, int>, Cell>;  // (config, level) -> cell
// Builds the table from ok rows; `value` picks the metric (default: score).
Table tabulate(const std::vector<ResultRow>& rows,
               const std::function<double(const ResultRow&)>& value = [](const ResultRow& r) { return r.score; });
// The QA accuracy of a config: per seed, the mean of its L1..L3 scores.
Cell qa_cell(const Table& t, const Config& c);
// a − b paired by seed (seeds present in both).
MeanCi paired_diff(const Cell& a, const Cell& b);

// The set of configs in a table.
std::vector<Config> configs(const Table& t);

}  // namespace edgellm::study
