// results.csv round trip, resume set, merge (dedup, conflicts, schema), and the confidence intervals.
// Not the runner: rows are made by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include "bench/study/results.h"
#include "bench/study/stats.h"
#include "runtime/error.h"
#include "study_fixtures.h"

using namespace edgellm;
using namespace edgellm::study;

namespace {
ResultRow row(const std::string& id, int steps, int level, double score) {
  ResultRow r;
  r.run_id = id, r.base = "dir,with \"comma\"/base.gguf", r.compression = "rtn4", r.method = "lora-r8";
  r.rank = 8, r.data = 0.25, r.seed = 1, r.lr = 3e-3, r.steps = steps, r.seconds = 1.5, r.cpu_seconds = 1.25;
  r.level = level;
  r.n_questions = 10, r.em = score, r.f1 = score, r.rouge_l = score, r.score = score, r.base_score = 0.1;
  r.answerable = 0.5, r.n_docs = 7, r.peak_mib = 40, r.weight_mib = 0.5, r.latency_ms = 3;
  return r;
}
}  // namespace

TEST_CASE("results: CSV round trip, append and resume set") {
  const std::string dir = testing::temp_dir("csv"), path = dir + "/results.csv";
  const ResultRow a = row("aaaa", 5, 1, 0.25), b = row("bbbb", 0, 4, 0.5);
  append_results(path, {a});
  append_results(path, {b});
  const auto rows = read_results(path);
  REQUIRE(rows.size() == 2);
  CHECK(to_csv_line(rows[0]) == to_csv_line(a));
  CHECK(rows[0].base == a.base);
  CHECK(rows[1].level == 4);
  CHECK(finished_runs(rows) == std::set<std::string>{"aaaa", "bbbb"});
  CHECK(read_results(dir + "/absent.csv").empty());
  std::ofstream(dir + "/bad.csv") << "run_id,base\nx,y\n";
  try {
    read_results(dir + "/bad.csv");
    FAIL("no throw");
  } catch (const FormatError& e) {
    CHECK(std::string(e.what()).find("bad.csv") != std::string::npos);
  }
  std::ofstream(dir + "/badnum.csv") << csv_header() << "\n" << to_csv_line(a).replace(5, 1, "") << "\n";
  CHECK_THROWS_AS(read_results(dir + "/badnum.csv"), FormatError);
  std::filesystem::remove_all(dir);
}

TEST_CASE("results: CPU seconds round trip; files from before the column still read, other schemas do not") {
  const std::string dir = testing::temp_dir("legacy");
  ResultRow a = row("aaaa", 5, 1, 0.25);
  a.base = "base.gguf";  // unquoted, so that commas count columns below
  write_results(dir + "/now.csv", {a});
  CHECK(read_results(dir + "/now.csv").at(0).cpu_seconds == 1.25);
  // The same row as the first results files wrote it: no cpu_seconds column.
  auto drop = [](const std::string& line, size_t col) {
    size_t b = 0;
    for (size_t k = 0; k < col; ++k) b = line.find(',', b) + 1;
    return line.substr(0, b) + line.substr(line.find(',', b) + 1);
  };
  size_t col = 0;
  while (csv_columns()[col] != "cpu_seconds") ++col;
  const std::string line = to_csv_line(a);
  CHECK(line.find(",1,recall,") != std::string::npos);  // the level and its task kind (a derived column)
  std::ofstream(dir + "/old.csv") << drop(csv_header(), col) << "\n" << drop(line, col) << "\n";
  const auto old = read_results(dir + "/old.csv");
  REQUIRE(old.size() == 1);
  CHECK(std::isnan(old[0].cpu_seconds));
  CHECK(old[0].seconds == 1.5);
  CHECK(old[0].level == 1);
  CHECK(old[0].git_rev == a.git_rev);
  size_t lr_col = 0;
  while (csv_columns()[lr_col] != "lr") ++lr_col;
  std::ofstream(dir + "/other.csv") << drop(csv_header(), lr_col) << "\n" << drop(line, lr_col) << "\n";
  CHECK_THROWS_AS(read_results(dir + "/other.csv"), FormatError);
  std::filesystem::remove_all(dir);
}

TEST_CASE("results: merge dedups by key and names conflicting files and lines") {
  const std::string dir = testing::temp_dir("merge");
  ResultRow a = row("aaaa", 5, 1, 0.25), b = row("bbbb", 5, 1, 0.5), a2 = a;
  a2.seconds = 9;  // timings may differ between two executions
  write_results(dir + "/1.csv", {a, b});
  write_results(dir + "/2.csv", {a2});
  const auto m = merge_results({dir + "/1.csv", dir + "/2.csv"});
  REQUIRE(m.size() == 2);
  CHECK(m[0].seconds == 1.5);
  ResultRow a3 = a;
  a3.score = 0.75;
  write_results(dir + "/3.csv", {b, a3});
  try {
    merge_results({dir + "/1.csv", dir + "/3.csv"});
    FAIL("no throw");
  } catch (const FormatError& e) {
    const std::string w = e.what();
    CHECK(w.find("3.csv") != std::string::npos);
    CHECK(w.find("line 3") != std::string::npos);
    CHECK(w.find("1.csv line 2") != std::string::npos);
  }
  std::ofstream(dir + "/4.csv") << "run_id,score\n";
  CHECK_THROWS_AS(merge_results({dir + "/1.csv", dir + "/4.csv"}), FormatError);
  CHECK_THROWS_AS(merge_results({dir + "/none.csv"}), Error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("stats: Student t intervals match hand values") {
  CHECK(t_quantile_975(1) == doctest::Approx(12.706).epsilon(1e-4));
  CHECK(t_quantile_975(2) == doctest::Approx(4.303).epsilon(1e-4));
  CHECK(t_quantile_975(3) == doctest::Approx(3.182).epsilon(2e-4));
  CHECK(t_quantile_975(30) == doctest::Approx(2.042).epsilon(1e-4));
  CHECK(t_quantile_975(1000) == doctest::Approx(1.962).epsilon(0.002));
  const MeanCi c = mean_ci({1, 2, 3});  // s = 1: half = 4.303 / √3
  CHECK(c.mean == doctest::Approx(2));
  CHECK(c.half == doctest::Approx(4.303 / std::sqrt(3.0)).epsilon(1e-4));
  const MeanCi d = mean_ci({0.5, 0.7, 0.9, 0.7});  // s = 0.163299: half = 3.182 · s / 2
  CHECK(d.half == doctest::Approx(3.182 * 0.1632993 / 2).epsilon(1e-4));
  CHECK(mean_ci({4}).half == 0);
  Cell x, y;
  x.by_seed = {{0, 0.5}, {1, 0.6}, {2, 0.7}};
  y.by_seed = {{0, 0.4}, {1, 0.4}, {2, 0.4}, {3, 0.9}};
  const MeanCi p = paired_diff(x, y);  // seed 3 has no pair: diffs 0.1 0.2 0.3
  CHECK(p.n == 3);
  CHECK(p.mean == doctest::Approx(0.2));
  CHECK(p.half == doctest::Approx(4.303 * 0.1 / std::sqrt(3.0)).epsilon(1e-4));
}

TEST_CASE("stats: the t distribution, the paired t-test, Holm and power against hand values") {
  CHECK(t_two_sided_p(12.706, 1) == doctest::Approx(0.05).epsilon(1e-3));
  CHECK(t_two_sided_p(2.0, 10) == doctest::Approx(0.07339).epsilon(1e-3));  // odd and even series
  CHECK(t_two_sided_p(-2.0, 10) == doctest::Approx(0.07339).epsilon(1e-3));
  CHECK(t_two_sided_p(2.0, 9) == doctest::Approx(0.07655).epsilon(1e-3));
  CHECK(t_two_sided_p(0, 5) == doctest::Approx(1));
  CHECK(t_quantile(0.8, 2) == doctest::Approx(1.0607).epsilon(1e-3));
  const TTest t = paired_t_test({1, 2, 3});  // mean 2, s 1, se 1/√3, t = 3.464, df 2
  CHECK(t.estimate == doctest::Approx(2));
  CHECK(t.se == doctest::Approx(1 / std::sqrt(3.0)).epsilon(1e-6));
  CHECK(t.p == doctest::Approx(0.0742).epsilon(2e-3));
  CHECK(paired_t_test({0.3}).p == 1);  // one unit: no test
  CHECK(paired_t_test({0, 0, 0}).p == 1);
  const auto h = holm_adjust({0.01, 0.04, 0.03});  // sorted: 3·0.01, max(2·0.03, 0.03), max(1·0.04, 0.06)
  CHECK(h[0] == doctest::Approx(0.03));
  CHECK(h[1] == doctest::Approx(0.06));
  CHECK(h[2] == doctest::Approx(0.06));
  CHECK(t_test_power(0, 1, 5) == doctest::Approx(0.05).epsilon(1e-3));  // no effect: the test's level
  // Large n: the normal approximation, (1.96 + 0.8416)·sd/√n has 80% power.
  CHECK(t_test_power(2.8016 / std::sqrt(2000.0), 1, 2000) == doctest::Approx(0.80).epsilon(5e-3));
  CHECK(minimum_detectable_effect(1, 2000) == doctest::Approx(2.8016 / std::sqrt(2000.0)).epsilon(5e-3));
  CHECK(minimum_detectable_effect(1, 3) > minimum_detectable_effect(1, 20));
  CHECK(std::isnan(minimum_detectable_effect(1, 1)));
}
