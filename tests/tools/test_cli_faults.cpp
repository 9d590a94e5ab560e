// Faults the CLI survives, run as subprocesses: SIGTERM and SIGHUP during finetune (finish the step, checkpoint, exit 0; SIGINT
// is in test_cli_train.cpp) and --mem-budget held by the process's peak RSS. Not the library's: tests/train/test_faults.cpp.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/tools/cli_process.h"
#include "train/trainer.h"

using namespace edgellm;
using namespace edgellm::cli_test;

namespace {

struct Tmp {
  std::string dir;
  Tmp() {
    dir = (std::filesystem::temp_directory_path() / ("edgellm_cli_faults_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/d.jsonl") << "{\"text\": \"The capital of France is Paris.\"}\n"
                                    << "{\"text\": \"Water boils at one hundred degrees.\"}\n"
                                    << "{\"prompt\": \"Q: What colour is the sky?\", \"response\": \" Blue.\"}\n";
  }
  ~Tmp() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_CASE("finetune: SIGTERM and SIGHUP (a closed terminal) finish the step, save a checkpoint and exit 0") {
  for (const int sig : {SIGTERM, SIGHUP}) {
    INFO(sig);
    Tmp t;
    const std::string out = t.dir + "/o";
    const pid_t pid = spawn({"finetune", "-m", "builtin:tiny", "--data", t.dir + "/d.jsonl", "-o", out, "--seq-len",
                             "16", "--rank", "4", "-q", "--steps", "1000000"},
                            t.dir + "/log");
    for (int i = 0; i < 400; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      const std::string csv = slurp(out + "/loss.csv");
      if (std::count(csv.begin(), csv.end(), '\n') >= 3) break;
    }
    ::kill(pid, sig);
    const Exit e = wait_exit(pid);
    INFO(slurp(t.dir + "/log"));
    CHECK(e.code == 0);
    CHECK(slurp(t.dir + "/log").find("stopped by signal") != std::string::npos);
    const auto j = nlohmann::json::parse(checkpoint_metadata(out + "/checkpoint.safetensors"));
    CHECK(j.at("step").get<int64_t>() >= 2);
  }
}

// The budget counts what the arena allocates (weights, parameters, gradients, optimizer state, activations). The rest
// of the process is the stated constant: the RSS of `edgellm tokenize -m builtin:tiny` (code, libstdc++, OpenMP, the
// CLI: ~9 MiB; not `info`, which probes Vulkan drivers: lavapipe alone maps ~60 MiB of LLVM) plus
// 4 MiB for the tokenizer, the data, buffers and allocator slack outside the arena.
TEST_CASE("finetune --mem-budget: the process's peak RSS stays within the budget + the base process + 4 MiB") {
  if (EDGELLM_SANITIZE_BUILD) {
    MESSAGE("skipped under sanitizers: ASan's shadow memory and quarantine are not the program's memory");
    return;
  }
  Tmp t;
  const Exit base = wait_exit(spawn({"tokenize", "-m", "builtin:tiny", "hello"}, t.dir + "/log"));
  REQUIRE(base.code == 0);
  const std::vector<std::string> run = {"finetune", "-m", "builtin:small", "--data", t.dir + "/d.jsonl", "-o", t.dir + "/o",
                                        "--method", "lora", "--steps", "1", "--batch", "8", "--seq-len", "32", "-q"};
  const long budget_kib = 18 * 1024, limit_kib = budget_kib + base.max_rss_kib + 4 * 1024;
  std::vector<std::string> args = run;
  args.insert(args.end(), {"--mem-budget", "18M"});
  const Exit held = wait_exit(spawn(args, t.dir + "/log"));
  INFO(slurp(t.dir + "/log"));
  REQUIRE(held.code == 0);
  // The same run without a budget peaks above the limit, so the check below can fail.
  const Exit free_run = wait_exit(spawn(run, t.dir + "/log2"));
  REQUIRE(free_run.code == 0);
  MESSAGE("peak RSS: base " << base.max_rss_kib << " KiB, budget 18 MiB run " << held.max_rss_kib << " KiB (limit "
                            << limit_kib << "), no budget " << free_run.max_rss_kib << " KiB");
  CHECK(held.max_rss_kib <= limit_kib);
  CHECK(free_run.max_rss_kib > limit_kib);
}

// The same bound under many budgets, both training methods and the inference verbs: each run either completes
// within budget + base + 4 MiB or is refused up front with an error naming the budget (exit 1, never a signal).
// The budgets straddle each configuration's need, so both outcomes occur and a run that ignored its budget would
// show as RSS over the bound.
TEST_CASE("--mem-budget under stress: every verb and budget completes within the bound or is refused naming it") {
  if (EDGELLM_SANITIZE_BUILD) {
    MESSAGE("skipped under sanitizers: ASan's shadow memory and quarantine are not the program's memory");
    return;
  }
  Tmp t;
  {
    std::ofstream text(t.dir + "/ppl.txt");
    for (int i = 0; i < 200; ++i) text << "The capital of France is Paris. Water boils at one hundred degrees.\n";
  }
  const Exit base = wait_exit(spawn({"tokenize", "-m", "builtin:tiny", "hello"}, t.dir + "/log"));
  REQUIRE(base.code == 0);
  struct Run {
    std::vector<std::string> args;
    long budget_mib;
  };
  std::vector<Run> runs;
  for (const char* method : {"lora", "full"})
    for (long mib : {12, 18, 24, 48, 96})
      runs.push_back({{"--mem-budget", std::to_string(mib) + "M", "finetune", "-m", "builtin:small", "--data",
                       t.dir + "/d.jsonl", "-o", t.dir + "/o", "--method", method, "--steps", "1", "--batch", "8",
                       "--seq-len", "32", "-q"},
                      mib});
  for (long mib : {2, 8, 16, 64}) {
    runs.push_back({{"--mem-budget", std::to_string(mib) + "M", "generate", "-m", "builtin:small", "-p", "hello there",
                     "-n", "16"},
                    mib});
    runs.push_back({{"--mem-budget", std::to_string(mib) + "M", "perplexity", "-m", "builtin:small", "-f",
                     t.dir + "/ppl.txt", "-c", "128"},
                    mib});
  }
  int completed = 0, refused = 0;
  for (const Run& r : runs) {
    const Exit e = wait_exit(spawn(r.args, t.dir + "/log"));
    const std::string log = slurp(t.dir + "/log");
    const long limit_kib = r.budget_mib * 1024 + base.max_rss_kib + 4 * 1024;
    INFO(r.args[1] << " " << r.args[2] << " " << (r.args[2] == "finetune" ? r.args[10] : "") << ": exit " << e.code
                   << ", peak RSS " << e.max_rss_kib << " KiB, limit " << limit_kib << " KiB\n" << log);
    CHECK(e.max_rss_kib <= limit_kib);
    if (e.code == 0) {
      ++completed;
    } else {
      ++refused;
      CHECK(e.code == 1);
      CHECK(log.find("budget") != std::string::npos);
    }
  }
  MESSAGE(completed << " runs completed within their budget, " << refused << " refused");
  CHECK(completed >= 6);
  CHECK(refused >= 6);
}
