// The CLI against issue 24's hostile inputs, as subprocesses: NaN/Inf in any float option, overflowing --epochs,
// --seq-len past the context, over-long prompts, a killed run's temp files, 40,000-level config.json (exit 1).
// Not signals or the memory budget's faults: test_cli_faults.cpp.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/tools/cli_process.h"

using namespace edgellm::cli_test;
namespace fs = std::filesystem;

namespace {

struct Tmp {
  std::string dir;
  Tmp() {
    dir = (fs::temp_directory_path() / ("edgellm_cli_safety_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir + "/d.jsonl") << "{\"text\": \"The capital of France is Paris.\"}\n"
                                    << "{\"prompt\": \"Q: What colour is the sky?\", \"response\": \" Blue.\"}\n";
  }
  ~Tmp() { fs::remove_all(dir); }
};

// Runs edgellm with `args`; returns the exit code, the output in `log_text`.
int run(const Tmp& t, const std::vector<std::string>& args, std::string& log_text) {
  const int code = wait_code(spawn(args, t.dir + "/log"));
  log_text = slurp(t.dir + "/log");
  return code;
}

}  // namespace

TEST_CASE("every float option refuses NaN and infinity when parsed (one validator on all verbs)") {
  Tmp t;
  const std::vector<std::vector<std::string>> cases = {
      {"finetune", "-m", "builtin:tiny", "--data", t.dir + "/d.jsonl", "-o", t.dir + "/o", "--lr", "nan"},
      {"finetune", "-m", "builtin:tiny", "--data", t.dir + "/d.jsonl", "-o", t.dir + "/o", "--alpha", "inf"},
      {"finetune", "-m", "builtin:tiny", "--data", t.dir + "/d.jsonl", "-o", t.dir + "/o", "--clip", "1e999"},
      {"generate", "-m", "builtin:tiny", "-p", "hi", "--temp", "nan"},
      {"generate", "-m", "builtin:tiny", "-p", "hi", "--top-p", "inf"},
      {"rag", "index", "-m", "builtin:tiny", t.dir, "-o", t.dir + "/ix", "--k1", "NaN"},
      {"pretrain", "-o", t.dir + "/p", "--lr", "nan"},
  };
  for (const auto& args : cases) {
    std::string log;
    const int code = run(t, args, log);
    INFO(log);
    CHECK(code != 0);
    CHECK(code < 128);
    CHECK(log.find("not a finite number") != std::string::npos);
    CHECK_FALSE(fs::exists(t.dir + "/o"));
  }
}

TEST_CASE("finetune: --epochs 1e30 and --seq-len past the context are refused; over-long prompts are reported") {
  Tmp t;
  const std::vector<std::string> base = {"finetune", "-m", "builtin:tiny", "--data", t.dir + "/d.jsonl", "-q", "-o"};
  std::string log;
  auto with = [&](const std::string& out, std::vector<std::string> more) {
    std::vector<std::string> a = base;
    a.push_back(t.dir + "/" + out);
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  CHECK(run(t, with("e", {"--seq-len", "16", "--epochs", "1e30"}), log) == 1);
  CHECK(log.find("--epochs") != std::string::npos);
  CHECK(run(t, with("s", {"--seq-len", "100000"}), log) == 1);
  CHECK(log.find("--seq-len 100000 is longer than the model's context length 256") != std::string::npos);
  // A prompt of ~60 tokens at --seq-len 16: skipped with its line named; the text example still trains.
  std::string prompt;
  for (int i = 0; i < 30; ++i) prompt += "word" + std::to_string(i * 7919 % 1000) + " ";
  std::ofstream(t.dir + "/long.jsonl") << "{\"text\": \"The capital of France is Paris.\"}\n"
                                       << "{\"prompt\": \"" << prompt << "\", \"response\": \" Blue.\"}\n";
  std::vector<std::string> a = {"finetune", "-m", "builtin:tiny", "--data", t.dir + "/long.jsonl", "-q", "-o",
                                t.dir + "/l", "--seq-len", "16", "--steps", "1"};
  CHECK(run(t, a, log) == 0);
  INFO(log);
  CHECK(log.find("skipped 1 example(s) whose prompt is longer than --seq-len 16") != std::string::npos);
  CHECK(log.find("line 2") != std::string::npos);
  // Nothing trainable left: an error, not a run at loss 0.
  std::ofstream(t.dir + "/only_long.jsonl") << "{\"prompt\": \"" << prompt << "\", \"response\": \" Blue.\"}\n";
  a[4] = t.dir + "/only_long.jsonl";
  CHECK(run(t, a, log) == 1);
  CHECK(log.find("none of its 1 examples can train") != std::string::npos);
}

TEST_CASE("finetune: temp files a killed run left beside its outputs are removed by the next run") {
  Tmp t;
  const std::string out = t.dir + "/o";
  fs::create_directories(out);
  // Named as a writer with a pid that cannot exist (above the kernel's PID_MAX_LIMIT) would name them.
  std::ofstream(out + "/checkpoint.safetensors.tmp.4194305.aB3dE9") << "half a checkpoint";
  std::ofstream(out + "/adapter.gguf.tmp.4194305.Zz9Yy8") << "half an adapter";
  std::ofstream(out + "/checkpoint.safetensors.tmp.QwErTy") << "an older edgellm's temp: whose, cannot be told";
  std::string log;
  CHECK(run(t, {"finetune", "-m", "builtin:tiny", "--data", t.dir + "/d.jsonl", "-o", out, "--seq-len", "16", "-q",
                "--steps", "1"}, log) == 0);
  INFO(log);
  CHECK_FALSE(fs::exists(out + "/checkpoint.safetensors.tmp.4194305.aB3dE9"));
  CHECK_FALSE(fs::exists(out + "/adapter.gguf.tmp.4194305.Zz9Yy8"));
  CHECK(fs::exists(out + "/checkpoint.safetensors.tmp.QwErTy"));
  CHECK(fs::exists(out + "/checkpoint.safetensors"));
}

TEST_CASE("a config.json nested 40,000 levels deep: exit 1 naming the file, for every verb that loads the model") {
  Tmp t;
  const fs::path model = fs::path(t.dir) / "m";
  fs::create_directories(model);
  const fs::path fx = fs::path(EDGELLM_FIXTURES_DIR) / "tiny-llama/model";
  for (const auto& e : fs::directory_iterator(fx))
    if (e.path().filename() != "config.json") fs::create_symlink(fs::absolute(e.path()), model / e.path().filename());
  std::string cfg = slurp((fx / "config.json").string());
  cfg.replace(cfg.find("\"eos_token_id\": 2"), 17, "\"eos_token_id\": " + std::string(40000, '[') + "2" + std::string(40000, ']'));
  std::ofstream(model / "config.json") << cfg;
  std::string log;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"tokenize", "-m", model.string(), "hello"},
           {"generate", "-m", model.string(), "-p", "hi", "-n", "1"},
           {"finetune", "-m", model.string(), "--data", t.dir + "/d.jsonl", "-o", t.dir + "/o", "--steps", "1"}}) {
    INFO(args[0]);
    CHECK(run(t, args, log) == 1);
    INFO(log);
    CHECK(log.find("config.json: config: invalid JSON: nested deeper than 512") != std::string::npos);
  }
}
