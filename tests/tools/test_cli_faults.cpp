// Faults the CLI survives, run as subprocesses: SIGTERM and SIGHUP during finetune (finish the step, checkpoint, exit 0;
// SIGINT is in test_cli_train.cpp), --mem-budget held by the process's peak RSS (input data included), bad input
// paths, a busy output. Not the library's: tests/train/test_faults.cpp.
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

#include "runtime/file_lock.h"
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

// A run of the CLI under --mem-budget and its outcome: within budget + the base process + 4 MiB of peak RSS, and
// either completed (exit 0, unless the input is one the budget cannot hold) or refused naming the budget (exit 1).
struct BudgetRun {
  std::vector<std::string> args;
  long budget_mib;
  bool must_refuse = false;
};
struct Outcomes {
  int completed = 0, refused = 0;
};

Outcomes check_budget_runs(const std::vector<BudgetRun>& runs, long base_kib, const std::string& dir) {
  Outcomes o;
  for (const BudgetRun& r : runs) {
    const auto t0 = std::chrono::steady_clock::now();
    const Exit e = wait_exit(spawn(r.args, dir + "/log"));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string log = slurp(dir + "/log");
    const long limit_kib = r.budget_mib * 1024 + base_kib + 4 * 1024;
    std::string cmd;
    for (const auto& a : r.args) cmd += (a.size() > 60 ? a.substr(0, 20) + "..." : a) + " ";
    INFO(cmd << ": exit " << e.code << " in " << s << " s, peak RSS " << e.max_rss_kib << " KiB, limit " << limit_kib
             << " KiB\n" << log.substr(0, 2000));
    CHECK(e.max_rss_kib <= limit_kib);
    if (e.code == 0) {
      ++o.completed;
      CHECK_FALSE(r.must_refuse);
    } else {
      ++o.refused;
      CHECK(e.code == 1);
      CHECK(log.find("budget") != std::string::npos);
    }
  }
  MESSAGE(o.completed << " runs completed within their budget, " << o.refused << " refused");
  return o;
}

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
  std::vector<BudgetRun> runs;
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
  const Outcomes o = check_budget_runs(runs, base.max_rss_kib, t.dir);
  CHECK(o.completed >= 6);
  CHECK(o.refused >= 6);
}

// Input data under --mem-budget: every verb that reads the user's data, at budgets that straddle its need on small
// inputs, and on inputs the budget cannot hold (100 MB files, a 50 MB line, /dev/zero) that must be refused as they
// are read, never taking the process past budget + base + 4 MiB. The 100 MB files are generated (a 1 MiB block
// written 100 times, well under a second); a run refused up front never reads them.
TEST_CASE("--mem-budget covers input data: finetune, perplexity, quantize --calib, rag index/query/ask, tokenize") {
  if (EDGELLM_SANITIZE_BUILD) {
    MESSAGE("skipped under sanitizers: ASan's shadow memory and quarantine are not the program's memory");
    return;
  }
  Tmp t;
  const std::string d = t.dir;
  const std::string sentence = "The capital of France is Paris. Water boils at one hundred degrees. ";
  {
    std::ofstream small(d + "/small.txt"), docs(d + "/docs.jsonl");
    for (int i = 0; i < 200; ++i) small << sentence << "\n";
    for (int i = 0; i < 40; ++i) docs << "{\"id\": \"d" << i << "\", \"text\": \"" << sentence << i << "\"}\n";
    std::string block;
    while (block.size() < (1u << 20)) block += "{\"text\": \"" + sentence + "\"}\n";
    std::ofstream big_txt(d + "/big.txt"), big_jsonl(d + "/big.jsonl"), line(d + "/line.jsonl");
    for (int i = 0; i < 100; ++i) big_txt << block, big_jsonl << block;
    line << "{\"text\": \"" << std::string(50u << 20, 'a') << "\"}\n";
  }
  const Exit base = wait_exit(spawn({"tokenize", "-m", "builtin:tiny", "hello"}, d + "/log"));
  REQUIRE(base.code == 0);
  REQUIRE(wait_exit(spawn({"rag", "index", "-m", "builtin:tiny", d + "/docs.jsonl", "-o", d + "/ix.rag"}, d + "/log"))
              .code == 0);
  std::vector<BudgetRun> runs;
  auto add = [&](long mib, std::vector<std::string> args, bool must_refuse = false) {
    args.insert(args.begin(), {"--mem-budget", std::to_string(mib) + "M"});
    runs.push_back({args, mib, must_refuse});
  };
  const std::string arg_text(100000, 'x');  // near the kernel's 128 KiB limit on one argument
  for (long mib : {2, 8, 32}) {
    add(mib, {"finetune", "-m", "builtin:tiny", "--data", d + "/docs.jsonl", "-o", d + "/ft", "--steps", "1",
              "--seq-len", "32", "-q"});
    add(mib, {"quantize", "-m", "builtin:tiny", "--method", "gptq", "--type", "q4_0", "--calib", d + "/small.txt",
              "--calib-tokens", "256", "--seq-len", "64", "-o", d + "/q.gguf"});
    add(mib, {"rag", "index", "-m", "builtin:tiny", d + "/docs.jsonl", "-o", d + "/ix2.rag"});
    add(mib, {"rag", "query", d + "/ix.rag", "Where is Paris?", "-m", "builtin:tiny"});
    add(mib, {"rag", "ask", "-m", "builtin:tiny", d + "/ix.rag", "Where is Paris?", "-n", "4"});
    add(mib, {"tokenize", "-m", "builtin:tiny", arg_text});
    add(mib, {"perplexity", "-m", "builtin:tiny", "-f", d + "/small.txt", "-c", "64"});
  }
  for (const std::string& big : {d + "/big.jsonl", d + "/line.jsonl", std::string("/dev/zero")}) {
    add(32, {"finetune", "-m", "builtin:tiny", "--data", big, "-o", d + "/ft", "--steps", "1", "--seq-len", "32", "-q"},
        true);
    add(64, {"perplexity", "-m", "builtin:tiny", "-f", big, "-c", "64"}, true);
    add(64, {"quantize", "-m", "builtin:tiny", "--method", "gptq", "--type", "q4_0", "--calib", big, "-o",
             d + "/q.gguf"},
        true);
  }
  add(64, {"rag", "index", "-m", "builtin:tiny", d + "/big.jsonl", "-o", d + "/ix3.rag"}, true);
  add(64, {"perplexity", "-m", "builtin:tiny", "-f", d + "/big.txt", "-c", "64"}, true);
  const Outcomes o = check_budget_runs(runs, base.max_rss_kib, d);
  CHECK(o.completed >= 7);
  CHECK(o.refused >= 12);
}

TEST_CASE("input paths: a directory is named as one; an empty JSONL builds no index; a busy output is refused") {
  Tmp t;
  const std::string d = t.dir;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"perplexity", "-m", "builtin:tiny", "-f", d},
           {"finetune", "-m", "builtin:tiny", "--data", d, "-o", d + "/ft"},
           {"quantize", "-m", "builtin:tiny", "--method", "gptq", "--type", "q4_0", "--calib", d, "-o", d + "/q.gguf"}}) {
    const Exit e = wait_exit(spawn(args, d + "/log"));
    INFO(args[0] << ": " << slurp(d + "/log"));
    CHECK(e.code == 1);
    CHECK(slurp(d + "/log").find(d + ": is a directory") != std::string::npos);
  }
  std::ofstream(d + "/empty.jsonl").close();
  const Exit e = wait_exit(spawn({"rag", "index", "-m", "builtin:tiny", d + "/empty.jsonl", "-o", d + "/ix.rag"},
                                 d + "/log"));
  CHECK(e.code == 1);
  CHECK(slurp(d + "/log").find(d + "/empty.jsonl: no documents") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(d + "/ix.rag"));
  // A built-in model that cannot fit is refused before it is built.
  const Exit b = wait_exit(spawn({"--mem-budget", "4M", "generate", "-m", "builtin:small", "-p", "hi"}, d + "/log"));
  CHECK(b.code == 1);
  CHECK(slurp(d + "/log").find("needs") != std::string::npos);
  if (!EDGELLM_SANITIZE_BUILD) CHECK(b.max_rss_kib < 16 * 1024);  // ASan's shadow memory is not the program's
  // Another run writing the same output: refused at once, nothing written.
  {
    const OutputLock held(d + "/c.gguf", OutputLock::Wait::Fail);
    const Exit c = wait_exit(spawn({"convert", "-m", "builtin:tiny", "-o", d + "/c.gguf"}, d + "/log"));
    CHECK(c.code == 1);
    CHECK(slurp(d + "/log").find("another edgellm run is writing this output") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(d + "/c.gguf"));
  }
  CHECK(wait_exit(spawn({"convert", "-m", "builtin:tiny", "-o", d + "/c.gguf"}, d + "/log")).code == 0);
}
