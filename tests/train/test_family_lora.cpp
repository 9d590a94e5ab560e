// LoRA on the families whose PEFT modules are fused (Phi-3's qkv_proj / gate_up_proj, GPT-2's c_attn, c_proj,
// c_fc): each module's B gradient against transformers' gradient of the fused weight, and the saved PEFT adapter
// (the family's names) and llama.cpp LoRA GGUF (attn_qkv ...) loading back to the same logits. Not the unfused families' LoRA (test_llama_grad.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "models/runner.h"
#include "runtime/safetensors.h"
#include "train/llama_grad.h"
#include "train/lora_io.h"
#include "train/peft_modules.h"
#include "family_fixtures.h"

using namespace edgellm;
using edgellm::test::family_dir;
using edgellm::test::fixture_ids;

namespace {

// The Hugging Face weight a PEFT module adapts, and whether it is a Conv1D stored (in, out).
std::pair<std::string, bool> hf_weight_of(const std::string& prefix) {
  const std::string under = prefix.substr(std::string("base_model.model.").size());
  return {under + ".weight", under.starts_with("transformer.")};
}

// With B = 0 the adapted model is the base, and for y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ: ∂loss/∂B = s·G·Aᵀ, where G is
// ∂loss/∂W of the fused weight, which transformers' reference holds.
void check_family_lora(const std::string& family, const std::vector<std::string>& targets) {
  const std::string dir = family_dir(family);
  const SafetensorsFile logits = SafetensorsFile::open(dir + "/references/logits.safetensors");
  const SafetensorsFile grads = SafetensorsFile::open(dir + "/references/grads.safetensors");
  Model m = load_model(dir + "/model");
  GradSetup setup;
  setup.lora = true;
  setup.lora_config.rank = 4;
  setup.lora_config.alpha = 8;
  setup.lora_config.targets = targets;
  LlamaGrad g(m.llama, setup);
  const std::vector<int32_t> ids = fixture_ids(logits, "input_ids_len24");
  std::vector<int32_t> tgt(ids.begin() + 1, ids.end());
  tgt.push_back(-100);
  const int64_t T = static_cast<int64_t>(ids.size());
  g.forward_backward(ids.data(), tgt.data(), 1, T, 1.0f / static_cast<float>(T - 1));
  const float s = 8.0f / 4.0f;
  int modules = 0;
  for (size_t i = 0; i + 1 < g.params().size(); i += 2) {
    const Param& A = g.params()[i];
    const Param& B = g.params()[i + 1];
    REQUIRE(A.name.ends_with(".lora_A.weight"));
    REQUIRE(B.name.ends_with(".lora_B.weight"));
    const std::string prefix = A.name.substr(0, A.name.size() - std::string(".lora_A.weight").size());
    const std::pair<std::string, bool> w = hf_weight_of(prefix);  // no structured binding: doctest's macros capture it
    const std::string hf = w.first;
    const bool conv1d = w.second;
    REQUIRE_MESSAGE(grads.has("grad." + hf), "no reference gradient for " << hf);
    const Tensor G = grads.tensor("grad." + hf);
    const int64_t r = 4, in = A.n / r, out = B.n / r;
    REQUIRE(G.numel() == out * in);
    // want[o, k] = s · Σ_i G[o, i] · A[k, i], G read (out, in)
    std::vector<double> want(static_cast<size_t>(out * r), 0.0);
    for (int64_t o = 0; o < out; ++o)
      for (int64_t k = 0; k < r; ++k) {
        double acc = 0;
        for (int64_t j = 0; j < in; ++j)
          acc += static_cast<double>(conv1d ? G.data<float>()[j * out + o] : G.data<float>()[o * in + j]) * A.value[k * in + j];
        want[static_cast<size_t>(o * r + k)] = s * acc;
      }
    double num = 0, den = 0;
    for (int64_t n = 0; n < B.n; ++n) {
      num = std::max(num, std::abs(B.grad[n] - want[static_cast<size_t>(n)]));
      den = std::max(den, std::abs(want[static_cast<size_t>(n)]));
    }
    INFO(family << " " << B.name << ": max |Δ| / max |ref| = " << num / den);
    CHECK(num / den < 1e-3);
    ++modules;
  }
  CHECK(modules == static_cast<int>(g.params().size() / 2));
  MESSAGE(family << ": " << modules << " LoRA modules' B gradients checked against transformers' fused-weight gradients");

  // The adapter, with B made non-zero, saved under the family's PEFT names and loaded onto a fresh model.
  for (Param& p : g.params())
    if (p.name.ends_with("lora_B.weight"))
      for (int64_t n = 0; n < p.n; ++n) p.value[n] = 0.01f * static_cast<float>((n * 7919) % 13 - 6);
  const std::vector<float> with = all_logits(m, ids);
  const std::string out_dir = (std::filesystem::temp_directory_path() / ("edgellm_family_lora_" + family)).string();
  std::filesystem::remove_all(out_dir);
  save_peft_adapter(m.llama, setup.lora_config, dir + "/model", out_dir);
  const SafetensorsFile saved = SafetensorsFile::open(out_dir + "/adapter_model.safetensors");
  for (const Param& p : g.params()) CHECK_MESSAGE(saved.has(p.name), "saved adapter lacks " << p.name);
  std::ifstream cfg(out_dir + "/adapter_config.json");
  const nlohmann::json j = nlohmann::json::parse(cfg);
  std::vector<std::string> saved_targets = j["target_modules"].get<std::vector<std::string>>();
  std::vector<std::string> want_targets = targets;
  std::sort(want_targets.begin(), want_targets.end());
  CHECK(saved_targets == want_targets);
  // llama.cpp's LoRA GGUF names a fused module by its fused tensor (attn_qkv, Phi-3's ffn_up).
  const std::string gguf = out_dir + ".gguf";
  save_lora_gguf(m.llama, 8.0f, gguf);
  for (const std::string& path : {out_dir, gguf}) {
    Model back = load_model(dir + "/model");
    load_lora(back.llama, path);
    const std::vector<float> got = all_logits(back, ids);
    double num = 0, den = 0;
    for (size_t n = 0; n < got.size(); ++n) {
      num = std::max(num, std::abs(static_cast<double>(got[n]) - with[n]));
      den = std::max(den, std::abs(static_cast<double>(with[n])));
    }
    INFO(family << " adapter round trip through " << path << ": " << num / den);
    CHECK(num / den < 1e-6);
  }
  std::filesystem::remove_all(out_dir);
  std::filesystem::remove(gguf);
}

}  // namespace

TEST_CASE("family LoRA: Phi-3's fused qkv_proj and gate_up_proj, exactly PEFT's adapter on the fused weight") {
  check_family_lora("phi3", {"qkv_proj", "o_proj", "gate_up_proj", "down_proj"});
}
TEST_CASE("family LoRA: GPT-2's c_attn, c_proj (attention and MLP) and c_fc") {
  check_family_lora("gpt2", {"c_attn", "c_proj", "c_fc"});
}
TEST_CASE("family LoRA: Gemma 2 and Qwen3 under their usual module names") {
  check_family_lora("gemma2", {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"});
  check_family_lora("qwen3", {"q_proj", "v_proj"});
}
TEST_CASE("family LoRA: a target the family lacks is refused, naming its modules") {
  Model m = load_model(family_dir("phi3") + "/model");
  GradSetup setup;
  setup.lora = true;
  setup.lora_config.targets = {"q_proj"};
  CHECK_THROWS_WITH(LlamaGrad(m.llama, setup), doctest::Contains("qkv_proj"));
}
