// Student-t intervals and the seed-wise tables the report and the advisor read.
// Not a hypothesis-testing library: intervals only, no p-values or corrections for multiple comparisons.
#include "bench/study/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <tuple>

namespace edgellm::study {

double t_quantile_975(int df) {
  static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                             2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                             2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) return 0;
  if (df <= 30) return t[df - 1];
  const double pts[][2] = {{30, 2.042}, {40, 2.021}, {60, 2.000}, {120, 1.980}, {1e12, 1.960}};
  for (int i = 0; i < 4; ++i)
    if (df <= pts[i + 1][0]) {
      const double a = 1 / pts[i][0], b = 1 / pts[i + 1][0], x = 1.0 / df;
      return pts[i][1] + (pts[i + 1][1] - pts[i][1]) * (a - x) / (a - b);
    }
  return 1.960;
}

MeanCi mean_ci(const std::vector<double>& xs) {
  MeanCi c;
  c.n = static_cast<int>(xs.size());
  if (c.n == 0) return c;
  for (double x : xs) c.mean += x;
  c.mean /= c.n;
  if (c.n < 2) return c;
  double ss = 0;
  for (double x : xs) ss += (x - c.mean) * (x - c.mean);
  c.half = t_quantile_975(c.n - 1) * std::sqrt(ss / (c.n - 1)) / std::sqrt(static_cast<double>(c.n));
  return c;
}

std::string MeanCi::str(double scale, int digits) const {
  if (n == 0) return "n/a";
  return fmt::format("{:.{}f} ± {:.{}f} (n={})", mean * scale, digits, half * scale, digits, n);
}

bool Config::operator<(const Config& o) const {
  return std::tie(base, compression, method, data, steps) < std::tie(o.base, o.compression, o.method, o.data, o.steps);
}

std::string Config::label() const {
  std::string s = fmt::format("{} · {} · {:.0f}% data", method, compression, data * 100);
  if (steps > 0) s += fmt::format(" · {} steps", steps);
  return s + " · " + std::filesystem::path(base).stem().string();
}

MeanCi Cell::ci() const {
  std::vector<double> v;
  for (const auto& [s, x] : by_seed) v.push_back(x);
  return mean_ci(v);
}

Table tabulate(const std::vector<ResultRow>& rows, const std::function<double(const ResultRow&)>& value) {
  Table t;
  for (const auto& r : rows) {
    if (r.status != "ok" || r.level < 1) continue;
    Config c{r.base, r.compression, r.method, r.data, r.steps};
    t[{c, r.level}].by_seed[r.seed] = value(r);
  }
  return t;
}

Cell qa_cell(const Table& t, const Config& c) {
  Cell out;
  std::map<int, std::pair<double, int>> acc;
  for (int l = 1; l <= 3; ++l) {
    const auto it = t.find({c, l});
    if (it == t.end()) continue;
    for (const auto& [s, x] : it->second.by_seed) acc[s].first += x, acc[s].second += 1;
  }
  for (const auto& [s, p] : acc) out.by_seed[s] = p.first / p.second;
  return out;
}

MeanCi paired_diff(const Cell& a, const Cell& b) {
  std::vector<double> d;
  for (const auto& [s, x] : a.by_seed) {
    const auto it = b.by_seed.find(s);
    if (it != b.by_seed.end()) d.push_back(x - it->second);
  }
  return mean_ci(d);
}

std::vector<Config> configs(const Table& t) {
  std::set<Config> s;
  for (const auto& [k, v] : t) s.insert(k.first);
  return {s.begin(), s.end()};
}

double chance_of_at_least(int k, int n) {
  constexpr double p = 0.025;
  double below = 0, term = std::pow(1 - p, n);  // P(X = 0), then P(X = i) by the ratio of successive terms
  for (int i = 0; i < k && i <= n; ++i) {
    below += term;
    term *= (static_cast<double>(n - i) / (i + 1)) * (p / (1 - p));
  }
  return std::max(0.0, 1 - below);
}

}  // namespace edgellm::study
