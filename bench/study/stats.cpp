// Student-t intervals, the paired t-test, Holm's correction and t-test power; the seed-wise tables the
// report and the advisor read. Not the study's decisions: bench/study/verdicts.cpp applies these.
#include "bench/study/stats.h"

#include "bench/study/grid.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <set>
#include <tuple>

namespace edgellm::study {

double t_two_sided_p(double t, int df) {
  if (df < 1) return 1;
  if (!std::isfinite(t)) return std::isnan(t) ? 1 : 0;
  // A(t|ν) = P(|T| < t). With θ = atan(|t|/√ν), c = cos²θ:
  //   ν odd:  A = (2/π)·(θ + sinθ·cosθ·(1 + (2/3)c + (2·4)/(3·5)c² + … + (2·4…(ν−3))/(3·5…(ν−2))c^((ν−3)/2)))
  //   ν even: A = sinθ·(1 + (1/2)c + (1·3)/(2·4)c² + … + (1·3…(ν−3))/(2·4…(ν−2))c^((ν−2)/2))
  const double th = std::atan(std::abs(t) / std::sqrt(static_cast<double>(df))), c = std::cos(th) * std::cos(th);
  double a = 0;
  if (df % 2) {
    double term = 1, sum = df > 1 ? 1 : 0;
    for (int k = 3; k <= df - 2; k += 2) term *= c * (k - 1) / k, sum += term;
    a = 2 / M_PI * (th + std::sin(th) * std::cos(th) * sum);
  } else {
    double term = 1, sum = 1;
    for (int k = 2; k <= df - 2; k += 2) term *= c * (k - 1) / k, sum += term;
    a = std::sin(th) * sum;
  }
  return std::clamp(1 - a, 0.0, 1.0);
}

double t_quantile(double q, int df) {
  if (!(q > 0.5 && q < 1) || df < 1) return NAN;
  const double target = 2 * (1 - q);  // P(|T| >= t)
  double lo = 0, hi = 1;
  while (t_two_sided_p(hi, df) > target) hi *= 2;
  for (int i = 0; i < 100 && hi - lo > 1e-9 * hi; ++i) {
    const double mid = (lo + hi) / 2;
    (t_two_sided_p(mid, df) > target ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

double t_quantile_975(int df) {
  static const std::array<double, 201> table = [] {
    std::array<double, 201> t{};
    for (int d = 1; d <= 200; ++d) t[static_cast<size_t>(d)] = t_quantile(0.975, d);
    return t;
  }();
  if (df < 1) return 0;
  return df <= 200 ? table[static_cast<size_t>(df)] : t_quantile(0.975, df);
}

TTest paired_t_test(const std::vector<double>& d) {
  TTest r;
  const MeanCi c = mean_ci(d);
  r.n = c.n, r.estimate = c.mean;
  if (r.n < 2) return r;
  r.se = c.half / t_quantile_975(r.n - 1);
  // Every unit moved by exactly the same nonzero amount: no sampling spread to doubt it.
  if (r.se == 0) return r.t = r.estimate == 0 ? 0 : std::copysign(INFINITY, r.estimate), r.p = r.estimate == 0 ? 1 : 0, r;
  r.t = r.estimate / r.se;
  r.p = t_two_sided_p(r.t, r.n - 1);
  return r;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<size_t> order(p.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> out(p.size());
  double running = 0;  // adjusted p-values never decrease along the sorted order
  for (size_t k = 0; k < order.size(); ++k) {
    running = std::max(running, std::min(1.0, static_cast<double>(order.size() - k) * p[order[k]]));
    out[order[k]] = running;
  }
  return out;
}

double t_test_power(double effect, double sd, int n, double alpha) {
  if (n < 2 || !(sd > 0)) return NAN;
  const int nu = n - 1;
  const double c = t_quantile(1 - alpha / 2, nu), delta = effect * std::sqrt(static_cast<double>(n)) / sd;
  // T = (Z + δ)/S with S = √(χ²_ν/ν): P(|T| > c) = E_S[Φ(δ − cS) + Φ(−δ − cS)].
  // Density of S: f(s) = 2νs·g(νs²), g the χ²_ν density; Simpson's rule on [0, 8] (the mass beyond is < 1e-12).
  auto phi = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  const double half_nu = nu / 2.0, log_norm = -half_nu * std::log(2.0) - std::lgamma(half_nu);
  auto f = [&](double s) {
    if (s <= 0) return 0.0;
    const double x = nu * s * s;
    const double dens = 2 * nu * s * std::exp(log_norm + (half_nu - 1) * std::log(x) - x / 2);
    return dens * (phi(delta - c * s) + phi(-delta - c * s));
  };
  const int steps = 4000;
  const double h = 8.0 / steps;
  double sum = f(0) + f(8.0);
  for (int i = 1; i < steps; ++i) sum += (i % 2 ? 4 : 2) * f(i * h);
  return std::clamp(sum * h / 3, 0.0, 1.0);
}

double minimum_detectable_effect(double sd, int n, double power, double alpha) {
  if (n < 2 || !(sd > 0)) return NAN;
  double lo = 0, hi = sd;
  while (t_test_power(hi, sd, n, alpha) < power) hi *= 2;
  for (int i = 0; i < 50; ++i) {
    const double mid = (lo + hi) / 2;
    (t_test_power(mid, sd, n, alpha) < power ? lo : hi) = mid;
  }
  return hi;
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
  return std::tie(base, compression, method, data, steps, lr) < std::tie(o.base, o.compression, o.method, o.data, o.steps, o.lr);
}

std::string Config::label() const {
  std::string s = fmt::format("{} · {} · {:.0f}% data", method, compression, data * 100);
  if (steps > 0) s += fmt::format(" · {} steps", steps);
  if (lr > 0) s += fmt::format(" · lr {:g}", lr);
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
    const double def = learning_rate_of(r.method);
    const bool swept = r.lr > 0 && def > 0 && std::abs(r.lr - def) > 1e-6 * def;
    Config c{r.base, r.compression, r.method, r.data, r.steps, swept ? r.lr : 0.0};
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

}  // namespace edgellm::study
