// `edgellm study` as a subprocess: a tiny grid with one child process per run (2 at a time), then
// `study merge`, `study report` and `advise` on its results. Not the study's numbers (builtin:tiny is random).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/cli_process.h"

using namespace edgellm::cli_test;

namespace {

size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("edgellm study: tiny grid in child processes, resume, merge, report, advise") {
  const std::string dir = "/tmp/edgellm_cli_study_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::vector<std::string> study = {"study", "--grid", "tiny", "--base", "builtin:tiny", "--seeds", "2",
                                          "--jobs", "2", "--out", dir + "/s"};
  int code = run_cli(study, dir + "/log");
  INFO(slurp(dir + "/log"));
  REQUIRE(code == 0);
  const std::string csv = slurp(dir + "/s/results.csv");
  CHECK(lines(csv) == 1 + 48);  // header + 8 runs: none/rag 4 rows, LoRA 2 checkpoints × 4 levels
  CHECK(csv.find(",error") == std::string::npos);
  CHECK(slurp(dir + "/log").find("report: " + dir + "/s/report.md") != std::string::npos);
  CHECK(std::filesystem::exists(dir + "/s/guidelines.md"));

  REQUIRE(run_cli(study, dir + "/log2") == 0);  // resumed: nothing runs again
  CHECK(slurp(dir + "/log2").find("8 already in") != std::string::npos);
  CHECK(slurp(dir + "/s/results.csv") == csv);

  REQUIRE(run_cli({"study", "merge", dir + "/s/results.csv", dir + "/s/results.csv", "-o", dir + "/m/results.csv"}, dir + "/log3") == 0);
  CHECK(lines(slurp(dir + "/m/results.csv")) == 1 + 48);
  REQUIRE(run_cli({"study", "report", dir + "/m"}, dir + "/log4") == 0);
  CHECK(std::filesystem::exists(dir + "/m/report.md"));
  REQUIRE(run_cli({"advise", "--mem", "2G", "--difficulty", "L1", "--results", dir + "/m/results.csv"}, dir + "/log5") == 0);
  // builtin:tiny is random: every L1 score is 0, so the intervals coincide and the advisor may call a tie.
  const std::string advice = slurp(dir + "/log5");
  CHECK((advice.find("Recommended:") != std::string::npos || advice.find("Tie:") != std::string::npos));
  CHECK(run_cli({"advise", "--base", "base-x", "--results", dir + "/m/results.csv"}, dir + "/log8") == 1);
  CHECK(slurp(dir + "/log8").find("no results for base base-x (have: builtin:tiny)") != std::string::npos);
  // A model the study has no results for: memory predicted at its size binds (1.1B in 2 GiB: no f32, no LoRA).
  REQUIRE(run_cli({"advise", "--mem", "2G", "--base", "builtin:1.1b", "--results", dir + "/m/results.csv"}, dir + "/log9") == 0);
  CHECK(slurp(dir + "/log9").find("No study results for base builtin:1.1b") != std::string::npos);
  CHECK(slurp(dir + "/log9").find("Nothing fits these budgets at the size of builtin:1.1b") != std::string::npos);
  CHECK(run_cli({"advise", "--results", dir + "/none.csv"}, dir + "/log6") == 1);
  CHECK(run_cli({"study", "--shard", "3/2", "--base", "builtin:tiny", "--out", dir + "/x"}, dir + "/log7") != 0);
  std::filesystem::remove_all(dir);
}
