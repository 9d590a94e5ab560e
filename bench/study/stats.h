// Statistics of the study: mean and 95% confidence interval over seeds (Student t), paired differences,
// and grouping of result rows into configurations. Not a plotting or reporting module.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/study/results.h"

namespace edgellm::study {

// t_{0.975, df}: the table for df 1..30, then 40, 60, 120 and ∞ (1.960), linear in 1/df between.
double t_quantile_975(int df);

struct MeanCi {
  double mean = 0, half = 0;  // the interval is mean ± half; half = t·s/√n (0 when n < 2)
  int n = 0;
  double lo() const { return mean - half; }
  double hi() const { return mean + half; }
  std::string str(double scale = 100, int digits = 1) const;  // "52.3 ± 4.1 (n=3)"
};
MeanCi mean_ci(const std::vector<double>& xs);

// A configuration: every factor except seed (and steps/level when asked for separately).
struct Config {
  std::string base, compression, method;
  double data = 1;
  int steps = 0;
  bool operator<(const Config& o) const;
  std::string label() const;  // "lora-r8 · rtn4 · 25% · 100 steps · base-s"
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

// P(X >= k) for X ~ Binomial(n, 0.025): how often chance alone gives k of n one-sided 95% intervals
// excluding zero. Comparisons that share runs are not independent, so it is a guide, not an exact test.
double chance_of_at_least(int k, int n);

// The set of configs in a table.
std::vector<Config> configs(const Table& t);

}  // namespace edgellm::study
