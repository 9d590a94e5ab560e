// The training verbs run as subprocesses: grad vs transformers' gradients, merge, finetune's budget
// refusal, SIGINT (finish the step, checkpoint, exit 0) and --resume. Not the loop's numerics: tests/train.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "runtime/gguf.h"
#include "runtime/safetensors.h"
#include "tests/tools/cli_process.h"
#include "train/trainer.h"

using namespace edgellm;
using namespace edgellm::cli_test;

namespace {

std::string fx() { return std::string(EDGELLM_FIXTURES_DIR) + "/tiny-llama"; }

struct Tmp {
  std::string dir;
  Tmp() : dir("/tmp/edgellm_cli_train_" + std::to_string(::getpid())) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/d.jsonl") << "{\"prompt\": \"Q: 2+2? A:\", \"response\": \" 4\"}\n{\"text\": \"The sky is blue.\"}\n";
  }
  ~Tmp() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_CASE("edgellm grad on a GGUF model writes transformers' loss and gradients under HF names") {
  Tmp t;
  SafetensorsFile ref_ids = SafetensorsFile::open(fx() + "/references/logits.safetensors");
  Tensor ids = ref_ids.tensor("input_ids_len24");
  std::string text;
  for (int64_t i = 0; i < ids.numel(); ++i) text += std::to_string(ids.data<int64_t>()[i]) + " ";
  const int code = wait_code(spawn({"grad", "-m", fx() + "/gguf/tiny-llama-f32.gguf", "--ids", text, "-o", t.dir + "/g.safetensors"}, t.dir + "/log"));
  INFO(slurp(t.dir + "/log"));
  REQUIRE(code == 0);
  SafetensorsFile got = SafetensorsFile::open(t.dir + "/g.safetensors");
  SafetensorsFile ref = SafetensorsFile::open(fx() + "/references/grads.safetensors");
  CHECK(std::abs(got.tensor("loss").data<float>()[0] - ref_ids.tensor("loss_len24").data<float>()[0]) < 1e-5);
  for (const char* name : {"model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight",
                           "model.embed_tokens.weight", "lm_head.weight", "model.layers.1.mlp.down_proj.weight"}) {
    Tensor a = got.tensor(name), b = ref.tensor(std::string("len24.") + name);
    REQUIRE(a.numel() == b.numel());
    double num = 0, den = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      num += std::pow(a.data<float>()[i] - b.data<float>()[i], 2);
      den += std::pow(b.data<float>()[i], 2);
    }
    INFO(name);
    CHECK(std::sqrt(num / den) < 1e-4);
  }
}

TEST_CASE("edgellm merge writes a loadable GGUF; finetune refuses an impossible --mem-budget with its estimate") {
  Tmp t;
  CHECK(wait_code(spawn({"merge", "-m", fx() + "/model", "--lora", fx() + "/lora/adapter", "-o", t.dir + "/m.gguf"}, t.dir + "/log")) == 0);
  CHECK(GgufFile::open(t.dir + "/m.gguf").get_string("general.architecture") == "llama");
  const int code = wait_code(spawn({"finetune", "-m", "builtin:small", "--data", t.dir + "/d.jsonl", "-o", t.dir + "/o",
                                    "--method", "full", "--mem-budget", "16M"}, t.dir + "/log"));
  const std::string log = slurp(t.dir + "/log");
  INFO(log);
  CHECK(code == 1);
  // 16M holds the model (13 MiB; --mem-budget bounds the model and data too) but not full training's optimizer state.
  CHECK(log.find("training needs at least") != std::string::npos);
}

TEST_CASE("finetune: SIGINT finishes the step, saves a checkpoint and exits 0; --resume continues from it") {
  Tmp t;
  const std::string out = t.dir + "/o";
  const std::vector<std::string> base = {"finetune", "-m", "builtin:tiny", "--data", t.dir + "/d.jsonl", "-o", out,
                                         "--seq-len", "16", "--rank", "4", "-q"};
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--steps", "1000000"});
  const pid_t pid = spawn(args, t.dir + "/log");
  // Wait for a few steps in the loss log.
  for (int i = 0; i < 400; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    const std::string csv = slurp(out + "/loss.csv");
    if (std::count(csv.begin(), csv.end(), '\n') >= 4) break;
  }
  ::kill(pid, SIGINT);
  const int code = wait_code(pid);
  INFO(slurp(t.dir + "/log"));
  CHECK(code == 0);
  CHECK(slurp(t.dir + "/log").find("stopped by signal") != std::string::npos);
  CHECK(std::filesystem::exists(out + "/adapter/adapter_config.json"));
  CHECK(std::filesystem::exists(out + "/adapter.gguf"));
  const auto j = nlohmann::json::parse(checkpoint_metadata(out + "/checkpoint.safetensors"));
  const int64_t step = j.at("step").get<int64_t>();
  CHECK(step >= 3);
  args = base;
  args.insert(args.end(), {"--steps", std::to_string(step + 2), "--resume", out + "/checkpoint.safetensors"});
  CHECK(wait_code(spawn(args, t.dir + "/log2")) == 0);
  INFO(slurp(t.dir + "/log2"));
  CHECK(nlohmann::json::parse(checkpoint_metadata(out + "/checkpoint.safetensors")).at("step") == step + 2);
  const std::string csv = slurp(out + "/loss.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == step + 3);  // header + every step once
}

TEST_CASE("edgellm logits --lora applies a PEFT adapter unmerged and gives peft's logits") {
  Tmp t;
  SafetensorsFile ref_ids = SafetensorsFile::open(fx() + "/references/logits.safetensors");
  Tensor ids = ref_ids.tensor("input_ids_len24");
  std::string text;
  for (int64_t i = 0; i < ids.numel(); ++i) text += std::to_string(ids.data<int64_t>()[i]) + " ";
  const int code = wait_code(spawn({"logits", "-m", fx() + "/gguf/tiny-llama-f32.gguf", "--lora", fx() + "/lora/adapter",
                                    "--ids", text, "-o", t.dir + "/l.npy"}, t.dir + "/log"));
  INFO(slurp(t.dir + "/log"));
  REQUIRE(code == 0);
  const std::string npy = slurp(t.dir + "/l.npy");
  const size_t header = 10 + (static_cast<uint8_t>(npy[8]) | static_cast<uint8_t>(npy[9]) << 8);
  Tensor want = SafetensorsFile::open(fx() + "/lora/logits.safetensors").tensor("logits_len24");
  REQUIRE(npy.size() == header + static_cast<size_t>(want.numel()) * 4);
  const float* got = reinterpret_cast<const float*>(npy.data() + header);
  double num = 0, den = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    num += std::pow(got[i] - want.data<float>()[i], 2);
    den += std::pow(want.data<float>()[i], 2);
  }
  CHECK(std::sqrt(num / den) < 1e-5);
}

TEST_CASE("one data file of every record kind: finetune (chat via --chat-template), rag index, rag ask --template --lora") {
  Tmp t;
  const std::string data = t.dir + "/all.jsonl";
  std::ofstream(data) << "{\"text\": \"Paris is the capital of France.\", \"id\": \"doc1\"}\n"
                         "{\"prompt\": \"Q: capital of France? A:\", \"response\": \" Paris\"}\n"
                         "{\"messages\": [{\"role\": \"user\", \"content\": \"Where is Paris?\"},"
                         " {\"role\": \"assistant\", \"content\": \"In France.\"}]}\n";
  const std::string out = t.dir + "/o";
  // A built-in model declares no template: chat records need --chat-template, and say so by file, line and field.
  int code = wait_code(spawn({"finetune", "-m", "builtin:tiny", "--data", data, "-o", out, "--steps", "1", "-q"},
                             t.dir + "/log"));
  CHECK(code == 1);
  CHECK(slurp(t.dir + "/log").find(data + ": line 3: \"messages\" need a chat template") != std::string::npos);
  code = wait_code(spawn({"finetune", "-m", "builtin:tiny", "--data", data, "-o", out, "--steps", "2", "--seq-len", "128",
                          "--rank", "4", "--chat-template", "chatml", "-q"},
                         t.dir + "/log"));
  INFO(slurp(t.dir + "/log"));
  REQUIRE(code == 0);
  REQUIRE(std::filesystem::exists(out + "/adapter.gguf"));
  code = wait_code(spawn({"rag", "index", "-m", "builtin:tiny", data, "-o", t.dir + "/ix.rag"}, t.dir + "/log"));
  REQUIRE(code == 0);
  code = wait_code(spawn({"rag", "ask", "-m", "builtin:tiny", t.dir + "/ix.rag", "Where is Paris?", "-n", "4",
                          "--template", "chatml", "--lora", out + "/adapter.gguf", "--show-prompt"},
                         t.dir + "/log"));
  const std::string log = slurp(t.dir + "/log");
  INFO(log);
  CHECK(code == 0);
  CHECK(log.find("<|im_start|>user") != std::string::npos);
  CHECK(log.find("(chatml template)") != std::string::npos);
  code = wait_code(spawn({"rag", "ask", "-m", "builtin:tiny", t.dir + "/ix.rag", "Where?", "--template", "nope"},
                         t.dir + "/log"));
  CHECK(code == 1);
  CHECK(slurp(t.dir + "/log").find("unknown template 'nope'") != std::string::npos);
  // A bad record: the file, the line and the field, from either consumer.
  std::ofstream(t.dir + "/bad.jsonl") << "{\"text\": \"ok\"}\n{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}\n";
  code = wait_code(spawn({"rag", "index", "-m", "builtin:tiny", t.dir + "/bad.jsonl", "-o", t.dir + "/ix2.rag"}, t.dir + "/log"));
  CHECK(code == 1);
  CHECK(slurp(t.dir + "/log").find("bad.jsonl: line 2: \"messages[0].role\" is \"tool\"") != std::string::npos);
}
