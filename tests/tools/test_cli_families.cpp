// The families beyond Llama (issue 21) through the CLI: perplexity on every ISA the kernel table has gives the
// same number, generate runs (also on Vulkan), the training verbs train a family, quantize's per-block pass runs,
// and Vulkan training refuses a family option it has no backward for, naming its field.
// Not the logits against transformers (tests/models/test_families.cpp).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "tests/tools/cli_process.h"

using namespace edgellm;
using namespace edgellm::cli_test;

namespace {

std::string family_model(const std::string& f) { return std::string(EDGELLM_FIXTURES_DIR) + "/families/" + f + "/model"; }

struct Tmp {
  std::string dir = (std::filesystem::temp_directory_path() / ("edgellm_cli_families_" + std::to_string(::getpid()))).string();
  Tmp() { std::filesystem::create_directories(dir); }
  ~Tmp() { std::filesystem::remove_all(dir); }
};

// `edgellm <args>` with EDGELLM_ISA=isa; returns the exit code, the log in `log`.
int run_with_isa(const std::vector<std::string>& args, const std::string& isa, const std::string& log_path, std::string& log) {
  ::setenv("EDGELLM_ISA", isa.c_str(), 1);
  const int code = wait_code(spawn(args, log_path));
  ::unsetenv("EDGELLM_ISA");
  log = slurp(log_path);
  return code;
}

// The number after "PPL = " in perplexity's final line ("Final estimate: PPL = 512.1234 +/- ...").
double ppl_of(const std::string& log) {
  const auto at = log.rfind("PPL = ");
  REQUIRE(at != std::string::npos);
  return std::stod(log.substr(at + 6));
}

}  // namespace

TEST_CASE("edgellm perplexity gives the same PPL on every ISA for every family; generate runs") {
  Tmp t;
  const std::string text = t.dir + "/text.txt";
  {
    std::ofstream f(text);
    for (int i = 0; i < 20; ++i) f << "the quick brown fox jumps over the lazy dog " << i << ". ";
  }
  for (const char* family : {"llama32", "qwen3", "gemma2", "gemma3", "phi3", "smollm3", "gpt2"}) {
    double first = 0;
    for (Isa isa : available_isas()) {
      std::string log;
      const int code = run_with_isa({"perplexity", "-m", family_model(family), "-f", text, "-c", "32"}, isa_name(isa),
                                    t.dir + "/log", log);
      INFO(family << " on " << std::string(isa_name(isa)) << ": " << log);
      REQUIRE(code == 0);
      const double ppl = ppl_of(log);
      CHECK(std::isfinite(ppl));
      if (first == 0) first = ppl;
      CHECK(std::abs(ppl - first) <= 1e-4 * first);
    }
    std::string log;
    const int code = run_with_isa({"generate", "-m", family_model(family), "-p", "the quick brown fox", "-n", "8",
                                   "--temp", "0", "--ignore-eos"}, isa_name(available_isas().back()), t.dir + "/log", log);
    INFO(family << " generate: " << log);
    CHECK(code == 0);
  }
}

TEST_CASE("edgellm finetune, grad, quantize and --device vulkan run a family; Vulkan training refuses an option it lacks") {
  Tmp t;
  {
    std::ofstream f(t.dir + "/d.jsonl");
    f << R"({"prompt": "a b c", "response": " d e f"})" << "\n";
  }
  std::string log;
  const std::string isa = isa_name(available_isas().back());
  // LoRA on Phi-3's fused qkv_proj (the family's default target), written under PEFT's names for it.
  CHECK(run_with_isa({"finetune", "-m", family_model("phi3"), "--data", t.dir + "/d.jsonl", "-o", t.dir + "/o",
                      "--steps", "1", "--seq-len", "16"}, isa, t.dir + "/log", log) == 0);
  {
    std::ifstream cfg(t.dir + "/o/adapter/adapter_config.json");
    const std::string text((std::istreambuf_iterator<char>(cfg)), std::istreambuf_iterator<char>());
    CHECK(text.find("\"qkv_proj\"") != std::string::npos);
  }
  CHECK(run_with_isa({"finetune", "-m", family_model("gemma2"), "--data", t.dir + "/d.jsonl", "-o", t.dir + "/o1",
                      "--steps", "1", "--seq-len", "16"}, isa, t.dir + "/log", log) == 0);
  CHECK(run_with_isa({"finetune", "-m", family_model("gemma2"), "--data", t.dir + "/d.jsonl", "-o", t.dir + "/o2",
                      "--steps", "1", "--seq-len", "16", "--device", "vulkan"}, isa, t.dir + "/log", log) == 1);
  CHECK((log.find("config field 'model_type'") != std::string::npos || log.find("without Vulkan") != std::string::npos));
  CHECK(run_with_isa({"grad", "-m", family_model("qwen3"), "--ids", "1 5 9 13", "-o", t.dir + "/g.safetensors"}, isa,
                     t.dir + "/log", log) == 0);
  CHECK(log.find("gradients written") != std::string::npos);
  // quantize's per-block pass runs every family (tests/quant/test_quantize_families.cpp checks its logits).
  CHECK(run_with_isa({"quantize", "-m", family_model("gpt2"), "--method", "gptq", "--type", "q4_0", "-o", t.dir + "/q.gguf"},
                     isa, t.dir + "/log", log) == 0);
  CHECK(log.find("wrote") != std::string::npos);
  CHECK(run_with_isa({"convert", "-m", family_model("gpt2"), "--type", "q8_0", "-o", t.dir + "/q.gguf"}, isa,
                     t.dir + "/log", log) == 0);
  // --device vulkan runs every family (tests/vulkan/test_vulkan_families.cpp checks its logits); a build without
  // Vulkan says so.
  const int vk_code = run_with_isa({"generate", "-m", family_model("gpt2"), "-p", "a", "-n", "1", "--device", "vulkan"},
                                   isa, t.dir + "/log", log);
  INFO(log);
  CHECK((vk_code == 0 || log.find("without Vulkan") != std::string::npos));
}
