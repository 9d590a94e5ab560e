// Model files made to hurt (issue 24): 40,000-level nested JSON in config.json and tokenizer.json through the
// loaders and the C API, a Split regex on a SentencePiece-style tokenizer, NaN/Inf/0 in RoPE and norm metadata.
// Not the parser's own limits (tests/runtime/test_parse_meter.cpp) nor the fuzz corpus (tests/fuzz).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "edgellm.h"
#include "models/load_model.h"
#include "models/runner.h"
#include "models/tokenizer.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/mmap_file.h"
#include "runtime/parse_meter.h"
#include "test_util.h"

using namespace edgellm;
using edgellm::test::nested_json;
namespace fs = std::filesystem;

namespace {

const fs::path kTinyLlama = fs::path(EDGELLM_FIXTURES_DIR) / "tiny-llama/model";

// The fixture model in a fresh directory: every file linked, except `name`, written as `text`. Without
// tokenizer.model when tokenizer.json is patched: the loader prefers the former.
struct PatchedModel {
  fs::path dir;
  PatchedModel(const std::string& name, const std::string& text) {
    const std::string skip = name == "tokenizer.json" ? "tokenizer.model" : name;
    dir = fs::temp_directory_path() / ("edgellm_hostile_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const auto& e : fs::directory_iterator(kTinyLlama))
      if (e.path().filename() != name && e.path().filename() != skip) fs::create_symlink(fs::absolute(e.path()), dir / e.path().filename());
    std::ofstream(dir / name, std::ios::binary) << text;
  }
  ~PatchedModel() { fs::remove_all(dir); }
};

// `key`'s value in the fixture's file `name` replaced by `value` (the key must be at the top level).
std::string with_member(const std::string& name, const std::string& key, const std::string& value) {
  nlohmann::json j = nlohmann::json::parse(read_file((kTinyLlama / name).string()));
  j.erase(key);
  std::string text = j.dump();
  text.pop_back();  // the closing brace
  return text + ",\"" + key + "\":" + value + "}";
}

}  // namespace

TEST_CASE("hostile input: 40,000 levels of JSON in config.json or tokenizer.json are a FormatError, not a crash") {
  const std::string deep = nested_json(40000);
  const std::string deep_obj = [] {
    std::string s;
    for (int i = 0; i < 40000; ++i) s += "{\"type\":";
    return s + "null" + std::string(40000, '}');
  }();
  const std::pair<std::string, std::string> cases[] = {
      {"config.json", with_member("config.json", "eos_token_id", deep)},
      {"config.json", with_member("config.json", "quantization_config", deep_obj)},
      {"tokenizer.json", with_member("tokenizer.json", "normalizer", deep_obj)},
      {"tokenizer.json", with_member("tokenizer.json", "pre_tokenizer", deep_obj)},
      {"tokenizer.json", with_member("tokenizer.json", "post_processor", deep)},
  };
  for (const auto& c : cases) {
    const std::string& file = c.first;  // a named variable, not a structured binding: clang 14 cannot capture those (INFO)
    PatchedModel pm(file, c.second);
    INFO(file);
    CHECK_THROWS_WITH_AS(load_model(pm.dir.string()), doctest::Contains("nested deeper than"), FormatError);
    // The C API promises never to abort: NULL and the message.
    CHECK(edgellm_model_load(pm.dir.string().c_str()) == nullptr);
    CHECK(std::string(edgellm_last_error()).find(file) != std::string::npos);
  }
  // Control: the same files at a modest depth load (the limit refuses only the hostile shapes).
  PatchedModel ok("tokenizer.json", with_member("tokenizer.json", "normalizer", nested_json(100, "null")));
  edgellm_model* m = edgellm_model_load(ok.dir.string().c_str());
  CHECK(m != nullptr);
  edgellm_model_free(m);
}

TEST_CASE("hostile input: a Split regex on a SentencePiece-style tokenizer is refused, not ignored") {
  const std::string spm = R"({"model":{"type":"BPE","vocab":{"<unk>":0,"a":1,"b":2,"ab":3},"merges":["a b"],
                              "byte_fallback":true},"pre_tokenizer":PRE})";
  auto with = [&](const std::string& pre) { return std::string(spm).replace(spm.find("PRE"), 3, pre); };
  CHECK(parse_hf_tokenizer_json(with(R"({"type":"Metaspace","prepend_scheme":"first"})"), "ok.json").model == "llama");
  // Valid or not as a regex, edgellm's SentencePiece path would not split by it: the ids would differ silently.
  for (const std::string& re : {std::string("\\\\d+"), std::string("(unclosed")}) {
    const std::string pre = R"({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":")" + re +
                            R"("}},{"type":"Metaspace","prepend_scheme":"first"}]})";
    CHECK_THROWS_WITH_AS(parse_hf_tokenizer_json(with(pre), "t.json"),
                         doctest::Contains("t.json: pre_tokenizer.pattern.Regex"), FormatError);
  }
}

TEST_CASE("hostile input: NaN, infinite, zero or negative RoPE and norm values are refused naming the field") {
  LlamaConfig good;
  good.vocab = 512, good.dim = 64, good.ffn_dim = 176, good.n_layers = 2, good.n_heads = 4, good.n_kv_heads = 2;
  good.head_dim = 16;
  good.validate("m.gguf");
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (float bad : {nan, inf, -inf, 0.0f, -2.0f}) {
    INFO(bad);
    LlamaConfig c = good;
    c.rope_theta = bad;
    CHECK_THROWS_WITH_AS(c.validate("m.gguf"), doctest::Contains("m.gguf: rope_theta"), FormatError);
    c = good;
    c.rms_eps = bad;
    CHECK_THROWS_WITH_AS(c.validate("m.gguf"), doctest::Contains("rms_norm_eps"), FormatError);
    c = good;
    c.rope_scaling = RopeScalingKind::Linear;
    c.rope_factor = bad;
    CHECK_THROWS_WITH_AS(c.validate("m.gguf"), doctest::Contains("rope_scaling.factor"), FormatError);
    c = good;
    c.rope_freq_factors.assign(8, 1.0f);
    c.rope_freq_factors[3] = bad;
    CHECK_THROWS_WITH_AS(c.validate("m.gguf"), doctest::Contains("rope_freqs.weight"), FormatError);
  }
  LlamaConfig c = good;
  c.rope_scaling = RopeScalingKind::Llama3;
  c.rope_factor = 8;
  c.validate("m.gguf");
  c.rope_high_freq_factor = c.rope_low_freq_factor;  // the smoothing band would divide by zero
  CHECK_THROWS_WITH_AS(c.validate("m.gguf"), doctest::Contains("high_freq_factor"), FormatError);

  // Through the loaders: a GGUF whose rope.freq_base is inf, or whose linear scaling factor is NaN ...
  const fs::path dir = fs::temp_directory_path() / ("edgellm_hostile_gguf_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto gguf_with = [&](float freq_base, float factor) {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_u64("llama.embedding_length", 64);
    w.set_u64("llama.feed_forward_length", 176);
    w.set_u64("llama.block_count", 2);
    w.set_u64("llama.attention.head_count", 4);
    w.set_f32("llama.rope.freq_base", freq_base);
    w.set_string("llama.rope.scaling.type", "linear");
    w.set_f32("llama.rope.scaling.factor", factor);
    w.add_tensor("token_embd.weight", Tensor::zeros(Shape{512, 64}));
    const std::string path = (dir / "m.gguf").string();
    w.write(path);
    return GgufFile::open(path);
  };
  CHECK(llama_config_from_gguf(gguf_with(10000.0f, 2.0f)).rope_factor == 2.0f);
  CHECK_THROWS_WITH_AS(llama_config_from_gguf(gguf_with(inf, 2.0f)), doctest::Contains("rope_theta"), FormatError);
  CHECK_THROWS_WITH_AS(llama_config_from_gguf(gguf_with(10000.0f, nan)), doctest::Contains("rope_scaling.factor"), FormatError);
  CHECK_THROWS_WITH_AS(llama_config_from_gguf(gguf_with(10000.0f, 0.0f)), doctest::Contains("rope_scaling.factor"), FormatError);
  fs::remove_all(dir);
  // ... and an HF config.json whose rope_theta is finite as a double but infinite as the float it becomes.
  PatchedModel pm("config.json", with_member("config.json", "rope_parameters", R"({"rope_theta": 1e39, "rope_type": "default"})"));
  CHECK_THROWS_WITH_AS(load_model(pm.dir.string()), doctest::Contains("rope_theta"), FormatError);
}
