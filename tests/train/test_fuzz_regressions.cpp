// PEFT adapter configs/tensors and training checkpoints that reviewing the new fuzz targets showed unsafe (each
// escaped as a non-edgellm exception or was undefined behaviour): each must now be a FormatError naming the field.
// Not a fuzzer (tests/fuzz/run.sh is): the files are written by edgellm, then patched.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "models/runner.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"
#include "runtime/parallel.h"
#include "runtime/safetensors.h"
#include "train/lora_io.h"
#include "train/trainer.h"

using namespace edgellm;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("edgellm_train_fuzzreg_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TrainConfig lora_config() {
  TrainConfig c;
  c.setup.lora = true;
  c.setup.lora_config.rank = 2;
  c.setup.lora_config.targets = {"q_proj", "v_proj"};
  c.seq_len = 16;
  c.steps = 2;
  return c;
}

// The message of the Error `f` throws; fails the test when it throws anything else or nothing.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("not an edgellm::Error: " << e.what());
  }
  FAIL("nothing thrown");
  return "";
}

// `src`'s tensors with its metadata replaced by `meta`, as a parsed in-memory file named `name`.
SafetensorsFile with_metadata(const SafetensorsFile& src, const std::string& key, const std::string& meta,
                              const fs::path& out) {
  SafetensorsWriter w;
  std::vector<Tensor> keep;
  for (const auto& info : src.tensors()) {
    keep.push_back(src.tensor(info));
    w.add(info.name, keep.back());
  }
  w.set_metadata(key, meta);
  w.write(out.string());
  return SafetensorsFile::open(out.string());
}

}  // namespace

TEST_CASE("fuzz regression: adapter_config.json of the wrong shape or types is a FormatError naming the key") {
  set_num_threads(1);
  const fs::path dir = fresh_dir("peft");
  Model m = load_model("builtin:tiny");
  {
    LlamaGrad g(m.llama, lora_config().setup);  // attaches rank-2 LoRA on q/v
    save_peft_adapter(m.llama, lora_config().setup.lora_config, "builtin:tiny", dir.string());
  }
  const std::string good = read_file((dir / "adapter_config.json").string());
  const SafetensorsFile st = SafetensorsFile::open((dir / "adapter_model.safetensors").string());
  CHECK(load_peft_adapter(m.llama, good, "a/adapter_config.json", st).rank == 2);
  // Before: nlohmann::type_error (value() on a non-object, or a key of another type) escaped; r = 1e300 was cast to int.
  const std::pair<const char*, const char*> bad[] = {
      {"[1, 2]", "json"},           {R"({"peft_type": 5})", "peft_type"}, {R"({"use_dora": "no"})", "use_dora"},
      {R"({"use_rslora": 1})", "use_rslora"}, {R"({"r": 1e300})", "r"},   {R"({"r": 0})", "r"},
      {R"({"lora_dropout": -1})", "lora_dropout"}, {R"({"lora_alpha": "8"})", "lora_alpha"}, {"{\"r\": ", "json"},
  };
  for (const auto& kv : bad) {
    const std::string text = kv.first, key = kv.second;
    INFO(text);
    const std::string msg = error_of([&] { load_peft_adapter(m.llama, text, "a/adapter_config.json", st); });
    CHECK(msg.find("a/adapter_config.json") != std::string::npos);
    CHECK(msg.find(key) != std::string::npos);
  }
  // Before: std::stoll threw std::out_of_range on a 20-digit layer; a very long name went through std::regex,
  // which recurses per character.
  Tensor a = Tensor::zeros(Shape{2, 64}), b = Tensor::zeros(Shape{64, 2});
  for (const std::string& layer : {std::string("99999999999999999999"), std::string(20000, '1')}) {
    SafetensorsWriter w;
    w.add("base_model.model.model.layers." + layer + ".self_attn.q_proj.lora_A.weight", a);
    w.add("base_model.model.model.layers." + layer + ".self_attn.q_proj.lora_B.weight", b);
    w.write((dir / "bad.safetensors").string());
    const SafetensorsFile bad_st = SafetensorsFile::open((dir / "bad.safetensors").string());
    CHECK(error_of([&] { load_peft_adapter(m.llama, good, "a/adapter_config.json", bad_st); })
              .find("not a LoRA tensor") != std::string::npos);
  }
  fs::remove_all(dir);
  set_num_threads(0);
}

TEST_CASE("fuzz regression: a checkpoint whose metadata is not JSON, lacks a field or has a float step is a FormatError") {
  set_num_threads(1);
  const fs::path dir = fresh_dir("ckpt");
  Model m = load_model("builtin:tiny");
  PackedData d({example_from_text("Alice bakes bread.", *m.tokenizer)}, 16, 0);
  Trainer tr(m.llama, d, lora_config());
  tr.train_step();
  tr.save_checkpoint((dir / "good.safetensors").string());
  const SafetensorsFile good = SafetensorsFile::open((dir / "good.safetensors").string());
  const std::string meta = checkpoint_metadata(good);
  auto patched = [&](const std::string& from, const std::string& to) {
    std::string s = meta;
    const size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  // Before: nlohmann's parse_error / out_of_range / type_error escaped, and a float step was cast to int64 (UB).
  const std::pair<std::string, const char*> bad[] = {
      {"{not json", "invalid JSON"},
      {"[]", "expected a JSON object"},
      {patched("\"step\":1,\"total_steps\"", "\"step\":1e300,\"total_steps\""), "step"},
      {patched("\"step\":1,\"total_steps\"", "\"stop\":1,\"total_steps\""), "step"},
      {patched("\"optimizer_steps\":1", "\"optimizer_steps\":-1"), "optimizer_steps"},
      {patched("\"total_steps\":2", "\"total_steps\":18446744073709551615"), "total_steps"},
      {patched("\"elapsed_s\":", "\"elapsed_s\":\"x\",\"was\":"), "elapsed_s"},
  };
  int i = 0;
  for (const auto& kv : bad) {
    const std::string text = kv.first, what = kv.second;
    INFO(text);
    const SafetensorsFile f = with_metadata(good, "edgellm.checkpoint", text, dir / ("bad" + std::to_string(i++)));
    const std::string msg = error_of([&] { tr.resume(f); });
    CHECK(msg.find(f.path()) != std::string::npos);
    CHECK(msg.find(what) != std::string::npos);
  }
  tr.resume(good);
  CHECK(tr.step() == 1);
  fs::remove_all(dir);
  set_num_threads(0);
}
