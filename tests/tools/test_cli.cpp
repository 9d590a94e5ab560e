// The `edgellm` binary run as a subprocess: help texts, `info` under forced ISAs, refusals of ISAs
// this build or CPU lacks, and a very short `bench`. Not the kernels' numbers: test_kernels has those.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"

namespace {

struct Result {
  int code = -1;  // exit status, or 128 + signal
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs EDGELLM_CLI_PATH with `args`; EDGELLM_ISA is set to `isa` in the child, or removed when empty,
// so the outcome never depends on the caller's environment.
Result run_cli(const std::vector<std::string>& args, const std::string& isa = "") {
  const std::string base = "/tmp/edgellm_cli_test_" + std::to_string(::getpid());
  const std::string out_path = base + ".out", err_path = base + ".err";
  // Flush first, or the child's freopen would write the parent's buffered output a second time.
  std::cout.flush();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (isa.empty()) ::unsetenv("EDGELLM_ISA");
    else ::setenv("EDGELLM_ISA", isa.c_str(), 1);
    if (!std::freopen(out_path.c_str(), "w", stdout) || !std::freopen(err_path.c_str(), "w", stderr)) ::_exit(120);
    std::vector<char*> argv;
    std::string prog = EDGELLM_CLI_PATH;
    argv.push_back(prog.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(prog.c_str(), argv.data());
    ::_exit(121);  // exec failed
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return r;
}

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// Rows "| name | isa |" of info's kernel table.
std::vector<std::pair<std::string, std::string>> kernel_rows(const std::string& out) {
  std::vector<std::pair<std::string, std::string>> rows;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| ", 0) != 0 || has(line, "---") || has(line, "| kernel |")) continue;
    const auto mid = line.find(" | ");
    if (mid == std::string::npos) continue;
    const std::string name = line.substr(2, mid - 2);
    std::string isa = line.substr(mid + 3);
    isa = isa.substr(0, isa.find(" |"));
    rows.emplace_back(name, isa);
  }
  return rows;
}

}  // namespace

TEST_CASE("edgellm --help lists the verbs; edgellm VERB --help works") {
  Result r = run_cli({"--help"});
  CHECK(r.code == 0);
  CHECK(has(r.out, "info"));
  CHECK(has(r.out, "bench"));
  CHECK(has(r.out, "--mem-budget"));
  r = run_cli({"info", "--help"});
  CHECK(r.code == 0);
  CHECK(has(r.out, "ISA"));
  r = run_cli({"bench", "--help"});
  CHECK(r.code == 0);
  CHECK(has(r.out, "--min-time"));
  r = run_cli({});  // a verb is required
  CHECK(r.code != 0);
  r = run_cli({"no-such-verb"});
  CHECK(r.code != 0);
}

TEST_CASE("EDGELLM_ISA=scalar edgellm info: active ISA scalar and every kernel scalar") {
  const Result r = run_cli({"info"}, "scalar");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(has(r.out, "active ISA:     scalar"));
  CHECK(has(r.out, "features:"));
  const auto rows = kernel_rows(r.out);
  CHECK(rows.size() == edgellm::kernel_isa_list(*edgellm::kernels_for(edgellm::Isa::Scalar)).size());
  for (const auto& row : rows) CHECK_MESSAGE(row.second == "scalar", row.first << " uses " << row.second);
}

TEST_CASE("edgellm info without EDGELLM_ISA picks the best usable ISA") {
  const Result r = run_cli({"info"});
  REQUIRE(r.code == 0);
  const char* best = edgellm::isa_name(edgellm::available_isas().back());
  CHECK(has(r.out, std::string("active ISA:     ") + best));
  bool any_best = false;
  for (const auto& [name, isa] : kernel_rows(r.out)) any_best |= isa == best;
  CHECK(any_best);
}

TEST_CASE("an ISA this build lacks, or an unknown one, is refused with exit 1 and a message naming it") {
#if defined(__aarch64__)
  const std::string foreign = "avx2";
#else
  const std::string foreign = "neon";
#endif
  Result r = run_cli({"info"}, foreign);
  CHECK(r.code == 1);
  CHECK(has(r.err, "EDGELLM_ISA=" + foreign));
  CHECK(has(r.err, "error"));
  r = run_cli({"info"}, "bogus");
  CHECK(r.code == 1);
  CHECK(has(r.err, "bogus"));
  CHECK(has(r.err, "scalar"));  // says what it expected
}

TEST_CASE("EDGELLM_ISA=each ISA: used if compiled and supported, refused (exit 1) naming it otherwise") {
  using namespace edgellm;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon}) {
    const std::string name = isa_name(isa);
    CAPTURE(name);
    const Result r = run_cli({"info"}, name);
    if (isa_compiled(isa) && isa_supported(isa)) {
      CHECK(r.code == 0);
      CHECK(has(r.out, "active ISA:     " + name + " (forced by EDGELLM_ISA)"));
    } else {
      CHECK(r.code == 1);
      CHECK(has(r.err, "EDGELLM_ISA=" + name));
      CHECK(has(r.err, isa_compiled(isa) ? "lacks" : "has no"));
    }
  }
}

TEST_CASE("edgellm bench --min-time 0.001 prints a markdown table") {
  const Result r = run_cli({"bench", "--min-time", "0.001"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(has(r.out, "| kernel |"));
  CHECK(has(r.out, "|---|"));
  CHECK(has(r.out, "| add_forward |"));
  CHECK(has(r.out, "scalar GB/s"));
  CHECK(run_cli({"bench", "--min-time", "-1"}).code != 0);  // a negative time is a usage error
}

TEST_CASE("--mem-budget junk is refused; -t is accepted") {
  Result r = run_cli({"--mem-budget", "lots", "info"});
  CHECK(r.code == 1);
  CHECK(has(r.err, "lots"));
  r = run_cli({"-t", "2", "--mem-budget", "512M", "info"});
  CHECK(r.code == 0);
  CHECK(has(r.out, "threads:        2"));
}

TEST_CASE("edgellm quantize (gptq q4_0, awq int3g128, rtn q4_k_m) and perplexity --ref on kquant's model") {
  const std::string dir = std::string(EDGELLM_FIXTURES_DIR) + "/kquant/";
  if (!std::ifstream(dir + "model-f32.gguf")) return;
  const std::string out = "/tmp/edgellm_cli_quant_" + std::to_string(::getpid()) + ".gguf";
  Result r = run_cli({"-t", "1", "quantize", "-m", dir + "model-f32.gguf", "--method", "gptq", "--type", "q4_0",
                      "--act-order", "--calib-tokens", "256", "--seq-len", "64", "-o", out});
  CHECK(r.code == 0);
  CHECK(has(r.out, "[  2/2]"));
  CHECK(has(r.out, "rel.err q "));
  r = run_cli({"-t", "1", "perplexity", "-m", out, "--ref", dir + "model-f32.gguf", "-f", dir + "eval.txt", "-c", "64"});
  CHECK(r.code == 0);
  CHECK(has(r.out, "Mean KLD: "));
  r = run_cli({"-t", "1", "quantize", "-m", dir + "model-f32.gguf", "--method", "awq", "--type", "int3g128",
               "--calib-tokens", "256", "--seq-len", "64", "-o", out});
  CHECK(r.code == 0);
  // The packed group-int file loads and runs (matmul_gint) in the CLI.
  r = run_cli({"-t", "1", "perplexity", "-m", out, "--ref", dir + "model-f32.gguf", "-f", dir + "eval.txt", "-c", "64"});
  CHECK(r.code == 0);
  CHECK(has(r.out, "Mean KLD: "));
  r = run_cli({"-t", "1", "quantize", "-m", dir + "model-f32.gguf", "--method", "rtn", "--type", "q4_k_m", "-o", out});
  CHECK(r.code == 0);
  r = run_cli({"quantize", "-m", dir + "model-f32.gguf", "--method", "gptq", "--type", "q4_k", "-o", out});
  CHECK(r.code == 1);
  CHECK(has(r.err, "q4_k"));
  std::remove(out.c_str());
}

TEST_CASE("edgellm --profile: a per-op table for generate and finetune, and a trace that parses") {
  const std::string trace = "/tmp/edgellm_cli_profile_" + std::to_string(::getpid()) + ".json";
  for (const std::string isa : {"scalar", ""}) {
    Result r = run_cli({"generate", "-m", "builtin:small", "-p", "The", "-n", "4", "--greedy", "--profile",
                        "--profile-trace", trace}, isa);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(has(r.err, "of bw"));
    CHECK(has(r.err, "(outside ops)"));
    // Decode's matmuls are GEMVs on f32 weights; the ISA that ran them is named.
    CHECK(has(r.err, isa.empty() ? "f32 gemv " : "f32 gemv scalar"));
    CHECK(has(r.err, "rmsnorm_forward"));
    const std::string js = slurp(trace);
    CHECK(has(js, "\"traceEvents\""));
    CHECK(has(js, "\"ph\":\"X\""));
    CHECK(js.find("]}") != std::string::npos);
  }
  // The option also works after the verb's own options, and on finetune (which sets up threads itself).
  const std::string data = "/tmp/edgellm_cli_profile_" + std::to_string(::getpid()) + ".jsonl";
  {
    std::ofstream f(data);
    for (int i = 0; i < 8; ++i) f << R"({"text":"Alice keeps bees in the valley number )" << i << R"(."})" << "\n";
  }
  const std::string out = "/tmp/edgellm_cli_profile_" + std::to_string(::getpid()) + "_ft";
  Result r = run_cli({"finetune", "-m", "builtin:small", "--data", data, "--steps", "1", "-o", out, "--profile",
                      "--profile-trace", trace});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(has(r.err, "linear_backward_input"));
  CHECK(has(r.err, "adamw"));
  std::remove(trace.c_str());
  std::remove(data.c_str());
  std::system(("rm -rf '" + out + "'").c_str());
}
