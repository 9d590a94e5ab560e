// Training inputs that gave silent wrong results (issue 24): PEFT adapters whose r, config or modules disagree with
// their tensors, LoRA GGUFs of mixed rank, NaN and tampered checkpoints, a run whose loss turns NaN, overflowing
// --epochs, --seq-len past the model's context and prompts longer than a row. Not the CLI's side: tests/tools.
#include <doctest/doctest.h>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <filesystem>
#include <limits>
#include <string>

#include "models/runner.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/mmap_file.h"
#include "runtime/safetensors.h"
#include "test_util.h"
#include "train/lora_io.h"
#include "train/trainer.h"

using namespace edgellm;
using edgellm::test::OneThread;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("edgellm_hostile_train_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TrainConfig lora_config(int64_t steps = 2) {
  TrainConfig c;
  c.setup.lora = true;
  c.setup.lora_config.rank = 2;
  c.setup.lora_config.targets = {"q_proj", "v_proj"};
  c.seq_len = 16;
  c.steps = steps;
  return c;
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

// A copy of checkpoint `src` at `out` with its tensors changed by `edit(name, tensor)` and its metadata kept.
void rewrite_checkpoint(const std::string& src, const std::string& out,
                        const std::function<void(const std::string&, Tensor&)>& edit, const std::string& meta) {
  const SafetensorsFile f = SafetensorsFile::open(src);
  SafetensorsWriter w;
  std::vector<Tensor> keep;
  for (const auto& info : f.tensors()) {
    keep.push_back(f.tensor(info).clone());
    edit(info.name, keep.back());
    w.add(info.name, keep.back());
  }
  w.set_metadata("edgellm.checkpoint", meta);
  w.write(out);
}

}  // namespace

TEST_CASE("PEFT adapter: r must equal the tensors' rank; an empty config and unknown or missing modules are refused") {
  OneThread one;
  const fs::path dir = fresh_dir("peft");
  Model m = load_model("builtin:tiny");
  {
    LlamaGrad g(m.llama, lora_config().setup);  // rank-2 LoRA on q/v
    save_peft_adapter(m.llama, lora_config().setup.lora_config, "builtin:tiny", dir.string());
  }
  const std::string good = read_file((dir / "adapter_config.json").string());
  const SafetensorsFile st = SafetensorsFile::open((dir / "adapter_model.safetensors").string());
  CHECK(load_peft_adapter(m.llama, good, "a/adapter_config.json", st).rank == 2);
  const float scale = m.llama.weights.layers[0].lora[0].scale;
  // r = 4 over rank-2 tensors: PEFT refuses it; before, the scale came out half of what was trained.
  CHECK_THROWS_WITH_AS(load_peft_adapter(m.llama, replaced(good, "\"r\": 2", "\"r\": 4"), "a/adapter_config.json", st),
                       doctest::Contains("a/adapter_config.json: r: 4 disagrees with the rank 2"), FormatError);
  const std::pair<std::string, std::string> bad[] = {
      {"{}", "peft_type: required field is missing"},
      {replaced(good, "\"r\": 2,", ""), "r: required field is missing"},
      {replaced(good, "\"r\": 2", "\"r\": 2.5"), "r: expected an integer"},
      {replaced(good, "\"q_proj\"", "\"q_proj\", \"qq_proj\""), "target_modules[1]: unknown target module 'qq_proj'"},
      {replaced(good, "\"q_proj\",", ""), "target_modules: does not name q_proj"},
      {replaced(good, "\"peft_type\": \"LORA\",", ""), "peft_type: required field is missing"},
  };
  for (const auto& b : bad) {
    const auto& text = b.first;  // not a structured binding: clang 14 cannot capture those (INFO)
    const auto& want = b.second;
    INFO(text);
    CHECK_THROWS_WITH_AS(load_peft_adapter(m.llama, text, "a/adapter_config.json", st), doctest::Contains(want.c_str()), FormatError);
  }
  CHECK_THROWS_AS(load_peft_adapter(m.llama, "", "a/adapter_config.json", st), FormatError);  // an empty file
  // PEFT's "all-linear" names every module.
  CHECK(load_peft_adapter(m.llama, replaced(good, "[\n    \"q_proj\",\n    \"v_proj\"\n  ]", "\"all-linear\""),
                          "a/adapter_config.json", st).rank == 2);
  CHECK(m.llama.weights.layers[0].lora[0].scale == scale);
  fs::remove_all(dir);
}

TEST_CASE("save_peft_adapter replaces the directory as one unit and clears what a killed writer left") {
  OneThread one;
  const fs::path dir = fresh_dir("peft_atomic");
  const std::string out = (dir / "adapter").string();
  Model m = load_model("builtin:tiny");
  LlamaGrad g(m.llama, lora_config().setup);
  fs::create_directories(out);
  write_file_atomic(out + "/stale_from_an_older_run", "x");
  // What kill -9 left: a temp directory of a process that no longer exists (pid 2^22 + 1 is above pid_max's
  // default and cannot be running), and a temp of a live writer (this test's parent) that must stay.
  fs::create_directories(out + ".tmp.4194305.AbCdEf");
  write_file_atomic(out + ".tmp.4194305.AbCdEf/adapter_model.safetensors", "half");
  const std::string live = out + ".tmp." + std::to_string(::getppid()) + ".XyZ123";
  fs::create_directories(live);
  save_peft_adapter(m.llama, lora_config().setup.lora_config, "builtin:tiny", out);
  CHECK_FALSE(fs::exists(out + "/stale_from_an_older_run"));  // the old directory went as a whole
  CHECK(fs::exists(out + "/adapter_config.json"));
  CHECK(fs::exists(out + "/adapter_model.safetensors"));
  CHECK_FALSE(fs::exists(out + ".tmp.4194305.AbCdEf"));
  CHECK(fs::exists(live));
  size_t temps = 0;
  for (const auto& e : fs::directory_iterator(dir)) temps += e.path().filename().string().find(".tmp.") != std::string::npos;
  CHECK(temps == 1);  // only the live writer's
  Model m2 = load_model("builtin:tiny");
  CHECK(load_lora(m2.llama, out).rank == 2);
  fs::remove_all(dir);
}

TEST_CASE("LoRA GGUF: tensors of different ranks and a NaN alpha are refused naming the field") {
  OneThread one;
  const fs::path dir = fresh_dir("lora_gguf");
  Model m = load_model("builtin:tiny");
  auto write = [&](int64_t rank_v, float alpha) {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_string("general.type", "adapter");
    w.set_string("adapter.type", "lora");
    w.set_f32("adapter.lora.alpha", alpha);
    const int64_t C = m.llama.config.dim, KV = m.llama.config.kv_dim();
    w.add_tensor("blk.0.attn_q.weight.lora_a", Tensor::zeros(Shape{2, C}));
    w.add_tensor("blk.0.attn_q.weight.lora_b", Tensor::zeros(Shape{C, 2}));
    w.add_tensor("blk.0.attn_v.weight.lora_a", Tensor::zeros(Shape{rank_v, C}));
    w.add_tensor("blk.0.attn_v.weight.lora_b", Tensor::zeros(Shape{KV, rank_v}));
    const std::string path = (dir / "a.gguf").string();
    w.write(path);
    return path;
  };
  CHECK(load_lora(m.llama, write(2, 4.0f)).rank == 2);
  CHECK_THROWS_WITH_AS(load_lora(m.llama, write(3, 4.0f)), doctest::Contains("rank 3 differs from the rank 2"), FormatError);
  CHECK_THROWS_WITH_AS(load_lora(m.llama, write(2, std::numeric_limits<float>::quiet_NaN())),
                       doctest::Contains("adapter.lora.alpha"), FormatError);
  fs::remove_all(dir);
}

TEST_CASE("checkpoints: a checksum over the tensors; NaN weights and tampered bytes are refused on resume") {
  OneThread one;
  const fs::path dir = fresh_dir("ckpt");
  Model m = load_model("builtin:tiny");
  PackedData d({example_from_text("Alice bakes bread in Lyon every morning.", *m.tokenizer)}, 16, 0);
  Trainer tr(m.llama, d, lora_config());
  tr.train_step();
  const std::string good = (dir / "good.safetensors").string();
  tr.save_checkpoint(good);
  const std::string meta = checkpoint_metadata(good);
  CHECK(meta.find("\"sha256\":\"") != std::string::npos);
  tr.resume(good);
  const std::string bad = (dir / "bad.safetensors").string();
  auto first_param = [](const std::string& name) { return name.rfind("param.", 0) == 0; };
  // One value changed after writing: the checksum catches it.
  rewrite_checkpoint(good, bad, [&](const std::string& n, Tensor& t) { if (first_param(n)) t.data<float>()[0] += 1; }, meta);
  CHECK_THROWS_WITH_AS(tr.resume(bad), doctest::Contains("sha256"), FormatError);
  // NaN weights in a checkpoint without a checksum (format 1, before it existed): refused all the same.
  const std::string v1 = replaced(replaced(meta, "\"format\":2", "\"format\":1"), meta.substr(meta.find(",\"sha256\""), 76), "");
  REQUIRE(v1.find("sha256") == std::string::npos);
  rewrite_checkpoint(good, bad, [](const std::string&, Tensor&) {}, v1);
  tr.resume(bad);  // format 1 with finite values still resumes
  rewrite_checkpoint(good, bad, [&](const std::string& n, Tensor& t) {
    if (first_param(n)) t.data<float>()[1] = std::numeric_limits<float>::quiet_NaN();
  }, v1);
  CHECK_THROWS_WITH_AS(tr.resume(bad), doctest::Contains("a checkpoint with NaN or infinite weights"), FormatError);
  rewrite_checkpoint(good, bad, [](const std::string&, Tensor&) {}, replaced(meta, "\"format\":2", "\"format\":7"));
  CHECK_THROWS_WITH_AS(tr.resume(bad), doctest::Contains("format"), FormatError);
  fs::remove_all(dir);
}

TEST_CASE("a loss that turns NaN stops the run naming the step; the last good checkpoint is kept") {
  OneThread one;
  const fs::path dir = fresh_dir("nan_loss");
  Model m = load_model("builtin:tiny");
  REQUIRE(m.llama.weights.tok_embd.dtype() == DType::F32);
  PackedData d({example_from_text("Alice bakes bread in Lyon every morning.", *m.tokenizer)}, 16, 0);
  TrainConfig c = lora_config(10);
  c.out_dir = dir.string();
  c.save_every = 1;
  Trainer tr(m.llama, d, c);
  // After step 2 a base weight turns NaN (as an overflowing update would leave it): step 3's loss is NaN.
  float* embd = m.llama.weights.tok_embd.data<float>();
  tr.on_step = [&](const StepLog& s) {
    if (s.step == 2) std::fill(embd, embd + m.llama.weights.tok_embd.numel(), std::numeric_limits<float>::quiet_NaN());
  };
  CHECK_THROWS_WITH_AS(tr.run(), doctest::Contains("step 3: the loss is nan"), Error);
  CHECK(tr.step() == 2);
  const std::string ckpt = dir.string() + "/checkpoint.safetensors";
  CHECK(nlohmann::json::parse(checkpoint_metadata(ckpt)).at("step") == 2);
  Model m2 = load_model("builtin:tiny");
  Trainer tr2(m2.llama, d, c);
  tr2.resume(ckpt);  // finite and its checksum holds
  CHECK(tr2.step() == 2);
  fs::remove_all(dir);
}

TEST_CASE("trainer settings: NaN rates, overflowing --epochs and --seq-len past the context are refused") {
  OneThread one;
  Model m = load_model("builtin:tiny");  // context 256
  PackedData d({example_from_text("Alice bakes bread in Lyon every morning.", *m.tokenizer)}, 16, 0);
  TrainConfig c = lora_config(0);
  c.epochs = 1e30;  // was cast to int64 (undefined; 1 step in practice)
  CHECK_THROWS_WITH_AS(Trainer(m.llama, d, c), doctest::Contains("--epochs"), Error);
  c.epochs = 3;
  CHECK(Trainer(m.llama, d, c).total_steps() == 3 * d.rows_per_epoch());
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(), -1.0}) {
    TrainConfig b = lora_config();
    b.lr = bad;
    CHECK_THROWS_WITH_AS(Trainer(m.llama, d, b), doctest::Contains("--lr"), Error);
  }
  PackedData long_rows({example_from_text("Alice bakes bread.", *m.tokenizer)}, 300, 0);
  TrainConfig l = lora_config();
  l.seq_len = 300;
  CHECK_THROWS_WITH_AS(Trainer(m.llama, long_rows, l), doctest::Contains("--seq-len 300 is longer than the model's context length 256"), Error);
}

TEST_CASE("drop_untrainable: prompts longer than a row are reported with the first line and dropped") {
  Model m = load_model("builtin:tiny");
  std::string long_prompt;  // ~400 bytes of letters no merge list compresses far: well over 32 tokens
  for (uint32_t i = 0, x = 12345; i < 400; ++i) long_prompt += static_cast<char>('a' + (x = x * 1103515245u + 12345u) % 26);
  std::vector<Example> ex = parse_examples(
      "{\"prompt\": \"Q: sky?\", \"response\": \" Blue.\"}\n"
      "{\"prompt\": \"" + long_prompt + "\", \"response\": \" Y.\"}\n"
      "\n"
      "{\"prompt\": \"" + long_prompt + "\", \"response\": \" Z.\"}\n",
      "d.jsonl", *m.tokenizer);
  REQUIRE(ex.size() == 3);
  CHECK(ex[2].line == 4);
  const DroppedExamples dr = drop_untrainable(ex, 32, "d.jsonl");
  CHECK(dr.count == 2);
  CHECK(dr.first_line == 2);
  REQUIRE(ex.size() == 1);
  CHECK(ex[0].line == 1);
  // Nothing left: an error naming the file and --seq-len, not a run at loss 0.
  std::vector<Example> none = parse_examples("{\"prompt\": \"" + long_prompt + "\", \"response\": \" Y.\"}\n", "e.jsonl", *m.tokenizer);
  CHECK_THROWS_WITH_AS(drop_untrainable(none, 32, "e.jsonl"), doctest::Contains("e.jsonl: none of its 1 examples can train at --seq-len 32"), Error);
  // Within a long row the same prompt trains.
  none = parse_examples("{\"prompt\": \"" + long_prompt + "\", \"response\": \" Y.\"}\n", "e.jsonl", *m.tokenizer);
  CHECK(drop_untrainable(none, 4096, "e.jsonl").count == 0);
}
