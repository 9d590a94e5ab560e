// The CLI as a llama.cpp user types it: global options after the verb, --version, type names in any case and
// llama-quantize's mixes with their general.file_type, bench -t lists and -o formats, generate -f/-c, the
// context-length warning, finetune --eval and a time budget alone. Not the recipes' details: test_file_type.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/gguf.h"
#include "tests/tools/cli_process.h"

using namespace edgellm;
using namespace edgellm::cli_test;

namespace {

struct Dir {
  std::string path;
  explicit Dir(const std::string& name) : path("/tmp/edgellm_cli_conv_" + name + "_" + std::to_string(::getpid())) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~Dir() { std::filesystem::remove_all(path); }
};

// Runs `edgellm <args>`; returns the exit code, `log` gets stdout + stderr.
int run(const std::vector<std::string>& args, std::string& log, const std::string& dir) {
  const int code = run_cli(args, dir + "/log");
  log = slurp(dir + "/log");
  return code;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const std::string kEval = std::string(EDGELLM_FIXTURES_DIR) + "/kquant/eval.txt";

}  // namespace

TEST_CASE("--version; -t and --mem-budget after the verb as before it") {
  Dir d("global");
  std::string log;
  CHECK(run({"--version"}, log, d.path) == 0);
  CHECK(has(log, "edgellm 0."));
  // Was: "The following arguments were not expected: -t 2".
  CHECK(run({"perplexity", "-m", "builtin:tiny", "-f", kEval, "-c", "64", "-t", "1", "--mem-budget", "1G"}, log, d.path) == 0);
  INFO(log);
  CHECK(has(log, "Final estimate"));
  CHECK(run({"perplexity", "-m", "builtin:tiny", "-f", kEval, "-c", "64", "-t", "x"}, log, d.path) != 0);
  // --device before the verb reaches the verb (a bad name is refused by the verb's own check).
  CHECK(run({"--device", "gpu9", "perplexity", "-m", "builtin:tiny", "-f", kEval, "-c", "64"}, log, d.path) == 1);
  CHECK(has(log, "--device 'gpu9'"));
  // The verb's own --device wins over the global one.
  CHECK(run({"-t", "1", "--device", "gpu9", "perplexity", "--device", "cpu", "-m", "builtin:tiny", "-f", kEval, "-c",
             "64"},
            log, d.path) == 0);
}

TEST_CASE("perplexity and generate warn when run past the model's trained context") {
  Dir d("ctx");
  std::string log;
  // builtin:tiny is trained at 256.
  CHECK(run({"-t", "1", "perplexity", "-m", "builtin:tiny", "-f", kEval, "-c", "512"}, log, d.path) == 0);
  CHECK(has(log, "warning: perplexity -c 512 runs 512 positions but the model was trained at a context of 256"));
  CHECK(run({"-t", "1", "perplexity", "-m", "builtin:tiny", "-f", kEval, "-c", "256"}, log, d.path) == 0);
  CHECK_FALSE(has(log, "warning"));
  CHECK(run({"-t", "1", "generate", "-m", "builtin:tiny", "-p", "Hi", "-n", "400", "-c", "300", "--ignore-eos"}, log,
            d.path) == 0);
  CHECK(has(log, "warning: generate (-c 300) runs 300 positions"));
}

TEST_CASE("generate -f FILE reads the prompt; -c bounds prompt + generated tokens") {
  Dir d("gen");
  std::ofstream(d.path + "/prompt.txt") << "Once upon";
  std::string log;
  CHECK(run({"-t", "1", "generate", "-m", "builtin:tiny", "-f", d.path + "/prompt.txt", "-n", "50", "-c", "16",
             "--ignore-eos"},
            log, d.path) == 0);
  INFO(log);
  CHECK(has(log, "Once upon"));
  // builtin:tiny's tokenizer is bytes: 1 BOS + 9 prompt tokens; -c 16 holds 6 new ones, and the logits of
  // the last position give a 7th (never fed back).
  CHECK(has(log, "[10 prompt tokens, 7 generated"));
  CHECK(has(log, "note: a context of 16 (-c) leaves room for 7 new tokens after the 10 of the prompt"));
  CHECK(run({"generate", "-m", "builtin:tiny", "-n", "2"}, log, d.path) == 1);
  CHECK(has(log, "-p TEXT or -f FILE"));
  CHECK(run({"generate", "-m", "builtin:tiny", "-p", "x", "-f", d.path + "/prompt.txt"}, log, d.path) != 0);
}

TEST_CASE("convert and quantize take llama-quantize's names in any case and label what they write") {
  Dir d("types");
  const std::string out = d.path + "/m.gguf";
  std::string log;
  // builtin:small: 4 blocks of dim 256 (K-quant rows fit), FFN 768, 4 heads over 2 KV heads.
  CHECK(run({"-t", "1", "convert", "-m", "builtin:small", "--type", "Q4_K_M", "-o", out}, log, d.path) == 0);
  INFO(log);
  {
    const GgufFile g = GgufFile::open(out);
    CHECK(g.get_u32("general.file_type") == 15);
    CHECK(g.find_tensor("output.weight")->dtype == DType::Q6_K);
    CHECK(g.find_tensor("token_embd.weight")->dtype == DType::Q4_K);
    // use_more_bits over 4 blocks: blocks 2 and 3 get Q6_K attn_v and ffn_down.
    CHECK(g.find_tensor("blk.1.attn_v.weight")->dtype == DType::Q4_K);
    CHECK(g.find_tensor("blk.2.attn_v.weight")->dtype == DType::Q6_K);
    CHECK(g.find_tensor("blk.3.ffn_down.weight")->dtype == DType::Q6_K);
    CHECK(g.find_tensor("blk.3.ffn_up.weight")->dtype == DType::Q4_K);
  }
  // A file that is all Q4_K is not Q4_K_M: no general.file_type (was: 15).
  CHECK(run({"-t", "1", "convert", "-m", "builtin:small", "--type", "q4_k", "-o", out}, log, d.path) == 0);
  {
    const GgufFile g = GgufFile::open(out);
    CHECK_FALSE(g.has("general.file_type"));
    CHECK(g.find_tensor("output.weight")->dtype == DType::Q4_K);
  }
  CHECK(run({"-t", "1", "convert", "-m", "builtin:small", "--type", "q4_0", "--pure", "-o", out}, log, d.path) == 0);
  CHECK(GgufFile::open(out).get_u32("general.file_type") == 2);
  CHECK(GgufFile::open(out).find_tensor("output.weight")->dtype == DType::Q4_0);
  CHECK(run({"-t", "1", "quantize", "-m", "builtin:small", "--type", "Q3_K_M", "-o", out}, log, d.path) == 0);
  {
    const GgufFile g = GgufFile::open(out);
    CHECK(g.get_u32("general.file_type") == 12);
    CHECK(g.find_tensor("blk.0.attn_v.weight")->dtype == DType::Q5_K);
    CHECK(g.find_tensor("blk.2.attn_v.weight")->dtype == DType::Q4_K);
    CHECK(g.find_tensor("blk.0.attn_output.weight")->dtype == DType::Q4_K);
    CHECK(g.find_tensor("blk.0.attn_q.weight")->dtype == DType::Q3_K);
  }
  CHECK(run({"convert", "-m", "builtin:tiny", "--type", "q4_k_z", "-o", out}, log, d.path) == 1);
  CHECK(has(log, "q4_k_z"));
}

TEST_CASE("bench -m: -t takes a list, -o md | csv | json") {
  Dir d("bench");
  std::string log;
  const std::vector<std::string> base = {"bench", "-m", "builtin:tiny", "-p", "8", "-n", "4", "-r", "1", "-t", "1,2"};
  auto args = base;
  args.insert(args.end(), {"-o", "json"});
  REQUIRE(run(args, log, d.path) == 0);
  const auto j = nlohmann::json::parse(log);
  REQUIRE(j.size() == 4);  // (pp8, tg4) × (1, 2 threads)
  CHECK(j[0]["n_threads"] == 1);
  CHECK(j[3]["n_threads"] == 2);
  CHECK(j[0]["n_prompt"] == 8);
  CHECK(j[1]["n_gen"] == 4);
  CHECK(j[1]["avg_ts"].get<double>() > 0);
  args = base;
  args.insert(args.end(), {"-o", "csv"});
  REQUIRE(run(args, log, d.path) == 0);
  CHECK(log.rfind("model_type,model_size,model_n_params,backends,n_threads,n_prompt,n_gen,avg_ts,stddev_ts\n", 0) == 0);
  CHECK(std::count(log.begin(), log.end(), '\n') == 5);
  REQUIRE(run(base, log, d.path) == 0);
  CHECK(has(log, "| model | size | params | backend | threads | test | t/s |"));
  CHECK(run({"bench", "-m", "builtin:tiny", "-t", "1,zero"}, log, d.path) == 1);
  CHECK(has(log, "'zero'"));
}

TEST_CASE("finetune: --eval reports held-out loss and recall; --time-budget alone bounds the run; full FT of Q4_0") {
  Dir d("ft");
  std::ofstream(d.path + "/d.jsonl") << "{\"prompt\": \"Q: 2+2? A:\", \"response\": \" 4\"}\n{\"text\": \"The sky is blue.\"}\n";
  std::ofstream(d.path + "/e.jsonl") << "{\"prompt\": \"Q: 3+3? A:\", \"response\": \" 6\"}\n";
  std::string log;
  CHECK(run({"finetune", "-m", "builtin:tiny", "--data", d.path + "/d.jsonl", "--eval", d.path + "/e.jsonl",
             "--eval-every", "2", "--steps", "4", "--seq-len", "16", "--output", d.path + "/o", "-t", "1"},
            log, d.path) == 0);
  INFO(log);
  CHECK(has(log, "eval before training: held-out loss "));
  CHECK(has(log, "eval step 2: held-out loss "));
  CHECK(has(log, "eval step 4: held-out loss "));
  CHECK(has(log, "recall 0/1"));
  CHECK_FALSE(has(log, "eval end"));  // step 4 was already reported
  // A time budget without --steps: the run lasts the budget (was: one epoch), and the ETA never exceeds it.
  CHECK(run({"finetune", "-m", "builtin:tiny", "--data", d.path + "/d.jsonl", "--time-budget", "2", "--seq-len", "16",
             "--out", d.path + "/o2", "-t", "1"},
            log, d.path) == 0);
  CHECK(has(log, "time budget reached after step "));
  CHECK(has(log, "ETA 0:0"));
  CHECK_FALSE(has(log, "ETA 0:1"));
  CHECK_FALSE(has(log, "ETA 1:"));
  // Full fine-tuning of a Q4_0 GGUF: dequantized to f32, and said so (was: "no conversion from q4_0 to f32").
  const std::string q4 = std::string(EDGELLM_FIXTURES_DIR) + "/tiny-llama/gguf/tiny-llama-q4_0.gguf";
  CHECK(run({"finetune", "-m", q4, "--method", "full", "--data", d.path + "/d.jsonl", "--steps", "2", "--seq-len", "16",
             "-o", d.path + "/o3", "-t", "1", "-q"},
            log, d.path) == 0);
  CHECK(has(log, "full fine-tuning dequantizes every weight to f32"));
  CHECK(GgufFile::open(d.path + "/o3/model.gguf").find_tensor("blk.0.attn_q.weight")->dtype == DType::F32);
}
