// Plots (PNG/SVG magic bytes when cairo is built in), the advisor on hand-made results, and the
// end-to-end tiny study (results.csv, resume, shards merged == unsharded, report, guidelines, plots).
// Not a check of the study's findings: builtin:tiny has random weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "bench/study/advise.h"
#include "bench/study/analysis.h"
#include "bench/study/benchmark.h"
#include "bench/study/driver.h"
#include "bench/study/plot.h"
#include "bench/study/results.h"
#include "bench/study/run.h"
#include "runtime/error.h"
#include "study_fixtures.h"

using namespace edgellm;
using namespace edgellm::study;
namespace fs = std::filesystem;

namespace {
std::string head(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  return s.substr(0, static_cast<size_t>(in.gcount()));
}
ResultRow hand(const std::string& method, const std::string& comp, double data, int steps, int seed, double score,
               double mib, double secs) {
  ResultRow r;
  r.run_id = method + comp + std::to_string(data) + std::to_string(seed);
  r.base = "b.gguf", r.method = method, r.compression = comp, r.data = data, r.steps = steps, r.seed = seed;
  r.level = 3, r.n_questions = 5, r.score = r.em = score, r.peak_mib = mib, r.seconds = secs, r.n_docs = 20;
  r.lr = steps ? 3e-3 : 0, r.rank = steps ? 8 : 0;
  return r;
}
}  // namespace

TEST_CASE("plot: writes a valid PNG and SVG when cairo is built in") {
  const std::string dir = testing::temp_dir("plot");
  Figure f;
  f.title = "t", f.xlabel = "x", f.ylabel = "y", f.log_x = true;
  f.series = {{"a", {5, 25, 100}, {0.2, 0.5, 0.4}, {0.1, 0.4, 0.3}, {0.3, 0.6, 0.5}, {}}};
  Figure b = f;
  b.kind = Figure::Bars, b.groups = {"L1", "L2", "L3"};
  Figure s = f;
  s.kind = Figure::Scatter, s.frontier = {"", {5, 25}, {0.2, 0.5}, {}, {}, {}};
  for (auto [fig, name] : {std::pair{&f, "line"}, std::pair{&b, "bars"}, std::pair{&s, "scatter"}}) {
    const bool wrote = write_figure(*fig, dir + "/" + name);
    CHECK(wrote == plots_available());
    if (!wrote) continue;
    CHECK(head(dir + "/" + name + ".png", 8) == std::string("\x89PNG\r\n\x1a\n", 8));
    CHECK(head(dir + "/" + name + ".svg", 200).find("<svg") != std::string::npos);
  }
  fs::remove_all(dir);
}

TEST_CASE("advise: picks the best configuration that fits and refuses clearly without results") {
  const std::string dir = testing::temp_dir("advise"), path = dir + "/results.csv";
  std::vector<ResultRow> rows;
  for (int seed = 0; seed < 3; ++seed) {
    rows.push_back(hand("full", "f32", 1.0, 100, seed, 0.90 + 0.01 * seed, 900, 50));   // too much memory
    rows.push_back(hand("lora-r8", "rtn4", 1.0, 25, seed, 0.60 + 0.01 * seed, 100, 10));
    rows.push_back(hand("lora-r8", "rtn4", 1.0, 400, seed, 0.70 + 0.01 * seed, 100, 120));  // too slow
    rows.push_back(hand("rag-bm25", "rtn4", 1.0, 0, seed, 0.40 + 0.01 * seed, 80, 0.1));
    rows.push_back(hand("lora-r8", "rtn4", 0.25, 25, seed, 0.30, 100, 10));
  }
  write_results(path, rows);
  struct Cleanup {
    std::string d;
    ~Cleanup() { fs::remove_all(d); }
  } cleanup{dir};
  AdviseOptions o;
  o.results = {path}, o.mem_mib = 512, o.time_s = 60, o.level = 3, o.data = "100";
  std::string out = advise(o);
  // The flat 30% cell (three seeds at 30% of 5 questions each) keeps a binomial interval: it ties, not loses.
  CHECK(out.find("Highest lower bound: lora-r8 on b compressed as rtn4") != std::string::npos);
  CHECK(out.find("25 steps") != std::string::npos);
  CHECK(out.find("61.0 ± ") != std::string::npos);
  o.data = "5docs";  // 25% of 20 documents
  out = advise(o);
  CHECK(out.find("30.0") != std::string::npos);
  o.data = "40";
  CHECK(advise(o).find("30.0") != std::string::npos);
  o.mem_mib = 50;
  CHECK(advise(o).find("Nothing measured fits") != std::string::npos);
  o.data = "abc";
  CHECK_THROWS_AS(advise(o), Error);
  write_results(dir + "/empty.csv", {});
  o.results = {dir + "/empty.csv"};
  try {
    advise(o);
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("edgellm study --quick") != std::string::npos);
  }
}

TEST_CASE("advise: ranks by the lower bound, calls a tie, budgets CPU seconds, names the bases it has") {
  const std::string dir = testing::temp_dir("advise-lcb"), path = dir + "/results.csv";
  struct Cleanup {
    std::string d;
    ~Cleanup() { fs::remove_all(d); }
  } cleanup{dir};
  std::vector<ResultRow> rows;
  const double wide[] = {0.30, 0.64, 0.98}, tight[] = {0.57, 0.58, 0.59};
  for (int seed = 0; seed < 3; ++seed) {
    rows.push_back(hand("full", "f32", 1.0, 100, seed, wide[seed], 100, 10));    // highest mean (64%), wide interval
    rows.push_back(hand("lora-r8", "f32", 1.0, 25, seed, tight[seed], 100, 10));  // 58%, tight: the higher lower bound
    // Slow by the wall clock (a loaded machine), 5 CPU seconds of work: within a 60 s budget.
    ResultRow loaded = hand("lora-r16", "f32", 1.0, 25, seed, 0.20 + 0.01 * seed, 100, 300);
    loaded.cpu_seconds = 5;
    rows.push_back(loaded);
  }
  write_results(path, rows);
  AdviseOptions o;
  o.results = {path}, o.level = 3, o.time_s = 60;
  std::string out = advise(o);
  CHECK(out.find("Tie: 2 configuration(s)") != std::string::npos);
  CHECK(out.find("Highest lower bound: lora-r8 on b") != std::string::npos);
  CHECK(out.find("full · f32") != std::string::npos);     // listed as tied
  CHECK(out.find("lora-r16 · f32") != std::string::npos);  // fits by CPU seconds despite 300 wall seconds
  CHECK(out.find("CPU seconds") != std::string::npos);
  // Without the wide configuration the intervals separate: a plain recommendation.
  rows.erase(std::remove_if(rows.begin(), rows.end(), [](const ResultRow& r) { return r.method == "full"; }), rows.end());
  write_results(path, rows);
  out = advise(o);
  CHECK(out.find("Recommended: lora-r8 on b compressed as f32") != std::string::npos);
  CHECK(out.find("Tie") == std::string::npos);
  o.base = "base-x";
  try {
    advise(o);
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("no results for base base-x (have: b)") != std::string::npos);
  }
  o.base = "b";
  CHECK(advise(o).find("Recommended: lora-r8") != std::string::npos);
  // Three seeds at the same score (1 of 5 questions each) have no spread, but 15 answers are no certainty: their
  // interval is the binomial one, so they neither win on a lower bound of 20% nor separate from lora-r8.
  for (int seed = 0; seed < 3; ++seed) rows.push_back(hand("ft+qa", "f32", 1.0, 25, seed, 0.2, 50, 10));
  write_results(path, rows);
  o.base.clear();
  out = advise(o);
  CHECK(out.find("ft+qa · f32") != std::string::npos);
  CHECK(out.find("20.0 ± 0.0") == std::string::npos);
}

TEST_CASE("study: a tiny grid end to end, resumed, and sharded then merged") {
  set_user_source(testing::tiny_user);
  StudyOptions o;
  o.grid.name = "tiny", o.grid.bases = {"builtin:tiny"}, o.grid.seeds = 2;
  o.in_process = true, o.threads = 1;
  o.out = testing::temp_dir("e2e");
  const StudyResult r = run_study(o);
  CHECK(r.planned == 8);
  CHECK(r.failed == 0);
  const auto rows = read_results(o.out + "/results.csv");
  CHECK(rows.size() == 2 * (5 + 5 + 2 * 5 + 2 * 5));  // none, rag: one checkpoint; LoRA: two; × 5 levels × 2 seeds
  CHECK(fs::exists(o.out + "/report.md"));
  CHECK(fs::exists(o.out + "/guidelines.md"));
  if (plots_available()) CHECK(fs::exists(o.out + "/plots/method_x_difficulty.png"));
  const std::string g = head(o.out + "/guidelines.md", 100000);
  CHECK(g.find("Finding 1") != std::string::npos);
  CHECK(g.find("Finding 3") != std::string::npos);
  CHECK(head(o.out + "/report.md", 100000).find("gold-context") != std::string::npos);
  for (const auto& row : rows) {
    CHECK(row.status == "ok");
    if (row.method == "lora-r4") CHECK(row.cpu_seconds > 0);  // getrusage of the run's process
  }
  CHECK(head(o.out + "/report.md", 100000).find("## Timing spread between seeds") != std::string::npos);

  const StudyResult again = run_study(o);  // resume: everything is done
  CHECK(again.skipped == 8);
  CHECK(again.ran == 0);
  CHECK(read_results(o.out + "/results.csv").size() == rows.size());

  StudyOptions s0 = o, s1 = o;
  s0.out = testing::temp_dir("shard0"), s1.out = testing::temp_dir("shard1");
  s0.shard_i = 0, s0.shard_n = 2, s1.shard_i = 1, s1.shard_n = 2;
  run_study(s0);
  run_study(s1);
  const auto merged = merge_results({s0.out + "/results.csv", s1.out + "/results.csv"});
  write_results(s0.out + "/merged.csv", merged);
  // Same keys and the same quality numbers as the unsharded study (merge checks the identity of duplicates).
  CHECK(merge_results({o.out + "/results.csv", s0.out + "/merged.csv"}).size() == rows.size());
  CHECK(merged.size() == rows.size());
  set_user_source({});
  for (const auto& d : {o.out, s0.out, s1.out}) fs::remove_all(d);
}

TEST_CASE("study: a run that fails, crashes or hangs is recorded as a row, not fatal") {
  const std::string dir = testing::temp_dir("fail");
  auto script = [&](const std::string& name, const std::string& body) {
    const std::string p = dir + "/" + name;
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(p, fs::perms::owner_all);
    return p;
  };
  StudyOptions o;
  o.grid.name = "tiny", o.grid.bases = {"builtin:tiny"}, o.grid.seeds = 1, o.jobs = 2, o.threads = 1;
  o.run_timeout_s = 0.5;
  for (auto [exe, status] : {std::pair{script("fail.sh", "exit 3"), "error: exit 3"},
                             std::pair{script("crash.sh", "kill -SEGV $$"), "crash: signal 11"},
                             std::pair{script("hang.sh", "exec sleep 30"), "timeout after"}}) {
    o.exe = exe, o.out = dir + "/" + fs::path(exe).stem().string();
    const StudyResult r = run_study(o);
    CHECK(r.planned == 4);
    CHECK(r.failed == 4);
    const auto rows = read_results(o.out + "/results.csv");
    REQUIRE(rows.size() == 4);
    for (const auto& row : rows) CHECK(row.status.rfind(status, 0) == 0);
    CHECK(head(o.out + "/report.md", 10000).find("No run succeeded") != std::string::npos);
  }
  fs::remove_all(dir);
}

// A failed run's row makes a resumed study skip it; --retry-failed drops those rows and runs them again (the
// issue-19 grid lost 36 runs to a base file that was briefly absent), leaving the runs that succeeded alone.
TEST_CASE("study --retry-failed: the failed runs run again, the others stay") {
  set_user_source(testing::tiny_user);
  const std::string dir = testing::temp_dir("retry");
  const std::string fail = dir + "/fail.sh";
  std::ofstream(fail) << "#!/bin/sh\nexit 3\n";
  fs::permissions(fail, fs::perms::owner_all);
  StudyOptions o;
  o.grid.name = "tiny", o.grid.bases = {"builtin:tiny"}, o.grid.seeds = 1, o.jobs = 1, o.threads = 1;
  o.out = dir + "/out";
  o.exe = fail;
  CHECK(run_study(o).failed == 4);
  o.exe = StudyOptions{}.exe, o.in_process = true;
  const StudyResult resumed = run_study(o);  // without the flag: every run is "done"
  CHECK(resumed.skipped == 4);
  CHECK(resumed.ran == 0);
  o.retry_failed = true;
  const StudyResult retried = run_study(o);
  CHECK(retried.skipped == 0);
  CHECK(retried.ran == 4);
  CHECK(retried.failed == 0);
  const auto rows = read_results(o.out + "/results.csv");
  CHECK(finished_runs(rows).size() == 4);
  for (const auto& row : rows) CHECK(row.status == "ok");
  const StudyResult again = run_study(o);  // nothing failed: nothing to retry
  CHECK(again.skipped == 4);
  CHECK(read_results(o.out + "/results.csv").size() == rows.size());
  set_user_source({});
  fs::remove_all(dir);
}

// Issue 19: every level of the committed grid has a method significantly above the untrained base at the center
// point (paired t over its 20 test users, Holm-corrected over the level's methods), as its report says.
TEST_CASE("committed grid: every level has a method significantly above none at the center point") {
  const auto csv = std::filesystem::path(EDGELLM_SOURCE_DIR) / "bench/study/report/results.csv";
  REQUIRE(std::filesystem::exists(csv));
  const Analysis a(read_results(csv.string()));
  const std::vector<LevelVsNone> levels = levels_against_none(a);
  CHECK(levels.size() == static_cast<size_t>(kLevels));
  for (const LevelVsNone& r : levels) {
    CAPTURE(r.level);
    CAPTURE(r.method);
    CAPTURE(r.p_holm);
    CHECK(r.above());
    CHECK(r.test.n >= 20);
  }
}
