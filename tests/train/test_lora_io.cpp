// LoRA adapters against the fixtures: peft's adapter and llama.cpp's LoRA GGUF give peft's logits on
// the HF and the GGUF base; PEFT/GGUF round trips; merged GGUF vs peft's merge; grads under HF names.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "models/runner.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"
#include "runtime/safetensors.h"
#include "models/save_gguf.h"
#include "train/lora_io.h"

using namespace edgellm;

namespace {

std::string fx() {
  const char* env = std::getenv("EDGELLM_FIXTURES");
  return std::string(env && *env ? env : EDGELLM_FIXTURES_DIR) + "/tiny-llama";
}

std::vector<int32_t> fixture_ids(const char* len) {
  SafetensorsFile f = SafetensorsFile::open(fx() + "/references/logits.safetensors");
  Tensor t = f.tensor(std::string("input_ids_") + len);
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < t.numel(); ++i) ids.push_back(static_cast<int32_t>(t.data<int64_t>()[i]));
  return ids;
}

double rel_err(const float* a, const float* b, int64_t n) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

double logits_err(const Model& m, const char* key) {
  const std::vector<int32_t> ids = fixture_ids("len24");
  const std::vector<float> got = all_logits(m, ids);
  Tensor want = SafetensorsFile::open(fx() + "/lora/logits.safetensors").tensor(key);
  REQUIRE(static_cast<int64_t>(got.size()) == want.numel());
  return rel_err(got.data(), want.data<float>(), want.numel());
}

std::string tmpdir(const std::string& name) {
  const std::string d = (std::filesystem::temp_directory_path() / ("edgellm_lora_" + name + "_" + std::to_string(getpid()))).string();
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace

TEST_CASE("peft's fixture adapter and llama.cpp's LoRA GGUF give peft's logits, unmerged, on the HF and GGUF bases") {
  for (const std::string& base : {fx() + "/model", fx() + "/gguf/tiny-llama-f32.gguf"})
    for (const std::string& adapter : {fx() + "/lora/adapter", fx() + "/gguf/tiny-llama-lora-f32.gguf"}) {
      Model m = load_model(base);
      const LoraConfig c = load_lora(m.llama, adapter);
      CHECK(c.rank == 4);
      CHECK(c.alpha == 8.0f);
      CHECK(c.targets.size() == 7);
      const double e = logits_err(m, "logits_len24");
      INFO(base << " + " << adapter << ": ‖Δ‖/‖ref‖ = " << e);
      CHECK(e < 1e-5);
    }
}

TEST_CASE("PEFT and LoRA-GGUF adapters written here load back to the same tensors (HF and GGUF row orders)") {
  const std::string d = tmpdir("rt");
  for (const std::string& base : {fx() + "/model", fx() + "/gguf/tiny-llama-f32.gguf"}) {
    Model m = load_model(base);
    const LoraConfig c = load_lora(m.llama, fx() + "/lora/adapter");
    save_peft_adapter(m.llama, c, "tiny-llama", d + "/peft");
    save_lora_gguf(m.llama, c.alpha, d + "/a.gguf");
    // PEFT's file written from either base holds peft's tensors exactly.
    SafetensorsFile ref = SafetensorsFile::open(fx() + "/lora/adapter/adapter_model.safetensors");
    SafetensorsFile got = SafetensorsFile::open(d + "/peft/adapter_model.safetensors");
    CHECK(got.tensors().size() == ref.tensors().size());
    for (const auto& info : ref.tensors()) {
      Tensor a = ref.tensor(info), b = got.tensor(info.name);
      REQUIRE(a.numel() == b.numel());
      CHECK(rel_err(b.data<float>(), a.data<float>(), a.numel()) == 0.0);
    }
    for (const std::string& again : {d + "/peft", d + "/a.gguf"}) {
      Model m2 = load_model(base);
      load_lora(m2.llama, again);
      INFO(base << " reloading " << again);
      CHECK(logits_err(m2, "logits_len24") < 1e-5);
    }
  }
  const std::string cfg = read_file(d + "/peft/adapter_config.json");
  for (const char* key : {"\"r\": 4", "\"lora_alpha\": 8", "\"peft_type\": \"LORA\"", "\"task_type\": \"CAUSAL_LM\"",
                          "\"bias\": \"none\"", "\"base_model_name_or_path\": \"tiny-llama\"", "\"q_proj\""})
    CHECK_MESSAGE(cfg.find(key) != std::string::npos, key);
  std::filesystem::remove_all(d);
}

TEST_CASE("merging the adapter and writing GGUF gives peft's merged logits (from the HF and the GGUF base)") {
  const std::string d = tmpdir("merge");
  for (const std::string& base : {fx() + "/model", fx() + "/gguf/tiny-llama-f32.gguf", fx() + "/gguf/tiny-llama-f16.gguf"}) {
    Model m = load_model(base);
    load_lora(m.llama, fx() + "/lora/adapter");
    merge_lora(m.llama);
    save_llama_gguf(m, d + "/merged.gguf");
    Model merged = load_model(d + "/merged.gguf");
    CHECK(merged.tokenizer->encode("Hello world") == m.tokenizer->encode("Hello world"));
    const double e = logits_err(merged, "logits_len24_merged");
    INFO(base << ": merged ‖Δ‖/‖ref‖ = " << e);
    // f16 base: merged weights are rounded back to f16.
    CHECK(e < (base.find("f16") != std::string::npos ? 2e-3 : 1e-5));
  }
  std::filesystem::remove_all(d);
}

TEST_CASE("a bad adapter is refused naming the file and tensor") {
  const std::string d = tmpdir("bad");
  Model m = load_model(fx() + "/model");
  load_lora(m.llama, fx() + "/lora/adapter");
  // v_proj's A and B swapped: shapes disagree with the weight.
  std::swap(m.llama.weights.layers[0].lora[2].A, m.llama.weights.layers[0].lora[2].B);
  save_lora_gguf(m.llama, 8, d + "/bad.gguf");
  Model m2 = load_model(fx() + "/model");
  CHECK_THROWS_WITH_AS(load_lora(m2.llama, d + "/bad.gguf"), doctest::Contains("blk.0.attn_v.weight.lora_a"), FormatError);
  CHECK_THROWS_AS(load_lora(m2.llama, fx() + "/model"), Error);
  std::filesystem::remove_all(d);
}

TEST_CASE("gradients of a GGUF base come out under HF names in HF row order (transformers' grads)") {
  Model m = load_model(fx() + "/gguf/tiny-llama-f32.gguf");
  LlamaGrad g(m.llama, GradSetup{});
  const std::vector<int32_t> ids = fixture_ids("len24");
  std::vector<int32_t> tgt(ids.begin() + 1, ids.end());
  tgt.push_back(-1);
  const int64_t T = static_cast<int64_t>(ids.size());
  g.forward_backward(ids.data(), tgt.data(), 1, T, 1.0f / static_cast<float>(T - 1));
  SafetensorsFile ref = SafetensorsFile::open(fx() + "/references/grads.safetensors");
  int n = 0;
  for (const auto& entry : hf_ordered_grads(g)) {
    const std::string& name = entry.first;  // (no structured binding: clang 14 cannot capture one in INFO)
    const Tensor& t = entry.second;
    Tensor r = ref.tensor("len24." + name);
    REQUIRE(r.numel() == t.numel());
    CHECK(r.shape() == t.shape());
    const double e = rel_err(t.data<float>(), r.data<float>(), r.numel());
    INFO(name << ": " << e);
    CHECK(e < 1e-4);
    ++n;
  }
  CHECK(n == static_cast<int>(ref.tensors().size() / 2));
}

TEST_CASE("a fully fine-tuned model written as GGUF reloads with the same logits (HF base: Q/K rows permuted)") {
  const std::string d = tmpdir("full");
  for (const std::string& base : {std::string("builtin:tiny"), fx() + "/model"}) {
    Model m = load_model(base);
    LlamaGrad g(m.llama, GradSetup{});
    // Perturb every trainable weight so the written file cannot be the source's.
    for (Param& p : g.params())
      for (int64_t i = 0; i < p.n; ++i) p.value[i] += 1e-3f * static_cast<float>((i * 7919) % 13 - 6);
    const std::vector<int32_t> ids = {1, 50, 60, 70, 80, 90, 100, 110};
    const std::vector<float> want = all_logits(m, ids);
    save_llama_gguf(m, d + "/full.gguf");
    Model back = load_model(d + "/full.gguf");
    const std::vector<float> got = all_logits(back, ids);
    INFO(base);
    CHECK(rel_err(got.data(), want.data(), static_cast<int64_t>(want.size())) < 1e-6);
  }
  std::filesystem::remove_all(d);
}
