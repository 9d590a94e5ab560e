// The families beyond Llama/Qwen2 (issue 21) against transformers' fixtures in ../shared/fixtures/families:
// logits from safetensors, incremental KV-cache decode against the full forward, and a GGUF written by edgellm
// (llama.cpp's names and keys) loading back to the same logits. Per-ISA agreement of the new kernels is in
// tests/kernels/test_family_kernels.cpp; this file runs the active table.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "models/block.h"
#include "models/load_model.h"
#include "models/runner.h"
#include "models/save_gguf.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/safetensors.h"
#include "family_fixtures.h"

using namespace edgellm;
using edgellm::test::family_dir;
using edgellm::test::fixture_ids;
using edgellm::test::check_family_logits;
using edgellm::test::rel_to_largest;

namespace {

// gguf_refusal: a model llama.cpp's GGUF keys cannot describe; its export must be refused with that text.
void check_family(const std::string& family, const std::string& gguf_refusal = "") {
  const std::string dir = family_dir(family);
  const Model m = load_model(dir + "/model");
  const std::vector<float> full24 = check_family_logits(m, family, "cpu");
  const SafetensorsFile ref = SafetensorsFile::open(dir + "/references/logits.safetensors");
  const std::vector<int32_t> ids24 = fixture_ids(ref, "input_ids_len24");

  // A GGUF written by edgellm, with llama.cpp's names and keys, loads back to the same logits.
  std::string stem = family;
  std::replace(stem.begin(), stem.end(), '/', '_');  // "holdout/gpt2"
  const std::string path = (std::filesystem::temp_directory_path() / ("edgellm_family_" + stem + ".gguf")).string();
  if (!gguf_refusal.empty()) {
    CHECK_THROWS_WITH(save_llama_gguf(m, path), doctest::Contains(gguf_refusal.c_str()));
    std::filesystem::remove(path);
    return;
  }
  save_llama_gguf(m, path);
  {
    const GgufFile g = GgufFile::open(path);
    CHECK(g.get_string("general.architecture") == arch_by_name(m.llama.config.arch).gguf);
    const Model back = load_model(path);
    CHECK(back.llama.config.arch == m.llama.config.arch);
    const double rt = rel_to_largest(all_logits(back, ids24), full24);
    INFO(family << " GGUF round trip: " << rt);
    CHECK(rt < 1e-6);
  }
  std::filesystem::remove(path);
}

}  // namespace

TEST_CASE("families: Llama 3.2 (llama3 rope scaling, explicit head_dim, tied)") { check_family("llama32"); }
TEST_CASE("families: Qwen3 (QK-norm, head_dim != hidden/heads)") { check_family("qwen3"); }
TEST_CASE("families: SmolLM3 (layers without RoPE)") { check_family("smollm3"); }
TEST_CASE("families: Phi-3 (fused qkv and gate_up, partial rotary)") { check_family("phi3"); }
TEST_CASE("families: Gemma 2 (GeGLU, post-norms, soft-caps, alternating sliding window)") { check_family("gemma2"); }
TEST_CASE("families: Gemma 3 (QK-norm, sliding/global layers, two RoPE bases)") { check_family("gemma3"); }

TEST_CASE("families: GPT-2 (LayerNorm with bias, learned positions, GELU, Conv1D weights, tied)") { check_family("gpt2"); }

TEST_CASE("families: the hold-out models (other dimensions and options) against transformers") {
  // SmolLM3's no_rope_layers [1, 0, 1]: llama.cpp's smollm3 has no key for the pattern (it takes every 4th layer),
  // so a GGUF would run another function there: the export is refused, naming the field.
  for (const std::string& family : edgellm::test::holdout_families())
    check_family(family, family == "holdout/smollm3" ? "no_rope_layers" : "");
}

TEST_CASE("families: the Vulkan forward and a backward without the family steps refuse a family option, naming its field") {
  const Model m = load_model(family_dir("gemma2") + "/model");
  CHECK_THROWS_WITH(refuse_family_options(m.llama.config, "--device vulkan"), doctest::Contains("config field"));
  CHECK_THROWS_WITH(check_block_backward(m.llama.config), doctest::Contains("block."));
  check_block_backward(m.llama.config, true);  // the CPU ops mirror every step (tests/train/test_family_grads.cpp)
  const Model llama = load_model(family_dir("llama32") + "/model");
  refuse_family_options(llama.llama.config, "training");  // the Llama block: nothing to refuse
}

TEST_CASE("families: bad family keys in a GGUF, and RoPE scalings not implemented, are refused naming the field") {
  const Model m = load_model(family_dir("gemma2") + "/model");
  const std::string path = (std::filesystem::temp_directory_path() / "edgellm_family_bad.gguf").string();
  SaveGgufOptions opt;
  opt.metadata = [](GgufWriter& g) { g.set_f32("gemma2.attn_logit_softcapping", std::nanf("")); };
  save_llama_gguf(m, path, std::nullopt, opt);
  try {
    load_model(path);
    FAIL("a NaN soft-cap loaded");
  } catch (const FormatError& e) {
    CHECK(e.field() == "gemma2.attn_logit_softcapping");
  }
  opt.metadata = [](GgufWriter& g) { g.set_u32("gemma2.attention.sliding_window_pattern", 0); };
  save_llama_gguf(m, path, std::nullopt, opt);
  try {
    load_model(path);
    FAIL("a sliding period of 0 loaded");
  } catch (const FormatError& e) {
    CHECK(e.field() == "gemma2.attention.sliding_window_pattern");
  }
  std::filesystem::remove(path);

  // Scalings edgellm does not implement (the early Phi-3 "su", Qwen2-VL's multimodal "mrope") are refused, not
  // approximated; linear, llama3, dynamic, yarn and longrope are checked against transformers in test_rope_scaling.
  const std::string dir = (std::filesystem::temp_directory_path() / "edgellm_family_yarn").string();
  std::filesystem::create_directories(dir);
  for (const char* type : {"su", "mrope"}) {
    std::ofstream(dir + "/config.json")
        << R"({"model_type":"phi3","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,)"
        << R"("num_attention_heads":4,"vocab_size":512,"rope_scaling":{"type":")" << type << R"(","factor":4.0}})";
    try {
      llama_config_from_hf(dir);
      FAIL(type << " loaded");
    } catch (const FormatError& e) {
      CHECK(e.field() == "rope_scaling.type");
    }
  }
  std::filesystem::remove_all(dir);
}
