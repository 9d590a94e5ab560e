// Training against the fixtures: loss and every parameter's gradient (tiny-llama, tiny-qwen2) vs
// transformers; the AdamW step vs torch; LoRA logits, loss and lora_A/lora_B gradients vs peft.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "models/runner.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"
#include "train/llama_grad.h"

using namespace edgellm;

namespace {

std::string fixtures() {
  const char* env = std::getenv("EDGELLM_FIXTURES");
  return env && *env ? env : EDGELLM_FIXTURES_DIR;
}

std::vector<int32_t> ids_of(const SafetensorsFile& f, const std::string& name) {
  Tensor t = f.tensor(name);
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < t.numel(); ++i) ids.push_back(static_cast<int32_t>(t.data<int64_t>()[i]));
  return ids;
}

// HF's causal-LM loss: predict ids[t+1] from ids[..t]; the last position has no target.
std::vector<int32_t> shifted_targets(const std::vector<int32_t>& ids) {
  std::vector<int32_t> t(ids.begin() + 1, ids.end());
  t.push_back(-100);
  return t;
}

// ‖a − b‖ / ‖b‖
double rel_err(const float* a, const float* b, int64_t n) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

void check_full_grads(const std::string& name) {
  const std::string dir = fixtures() + "/" + name;
  SafetensorsFile logits = SafetensorsFile::open(dir + "/references/logits.safetensors");
  SafetensorsFile grads = SafetensorsFile::open(dir + "/references/grads.safetensors");
  for (const char* len : {"len24", "len7"}) {
    Model m = load_model(dir + "/model");
    GradSetup setup;
    setup.checkpointing = std::string(len) == "len7";  // both paths must give the same answer
    LlamaGrad g(m.llama, setup);
    const std::vector<int32_t> ids = ids_of(logits, std::string("input_ids_") + len);
    const std::vector<int32_t> tgt = shifted_targets(ids);
    const int64_t T = static_cast<int64_t>(ids.size());
    const LossSum ls = g.forward_backward(ids.data(), tgt.data(), 1, T, 1.0f / static_cast<float>(T - 1));
    const float want_loss = logits.tensor(std::string("loss_") + len).data<float>()[0];
    INFO(name << " " << len << ": loss " << ls.mean() << " vs " << want_loss);
    CHECK(std::abs(ls.mean() - want_loss) < 1e-5);
    int checked = 0;
    for (const Param& p : g.params()) {
      const std::string key = std::string(len) + "." + p.name;
      REQUIRE_MESSAGE(grads.has(key), "no reference gradient " << key);
      Tensor ref = grads.tensor(key);
      REQUIRE(ref.numel() == p.n);
      const double e = rel_err(p.grad, ref.data<float>(), p.n);
      INFO(key << ": ‖Δ‖/‖ref‖ = " << e);
      CHECK(e < 1e-4);
      ++checked;
    }
    CHECK(checked == static_cast<int>(grads.tensors().size() / 2));
  }
}

}  // namespace

TEST_CASE("full fine-tuning gradients of tiny-llama equal transformers' (with and without checkpointing)") {
  check_full_grads("tiny-llama");
}

TEST_CASE("full fine-tuning gradients of tiny-qwen2 (biases, tied embeddings) equal transformers'") {
  check_full_grads("tiny-qwen2");
}

TEST_CASE("one AdamW step equals torch.optim.AdamW") {
  const std::string dir = fixtures() + "/tiny-llama";
  SafetensorsFile grads = SafetensorsFile::open(dir + "/references/grads.safetensors");
  SafetensorsFile step = SafetensorsFile::open(dir + "/references/adamw_step.safetensors");
  Model m = load_model(dir + "/model");
  LlamaGrad g(m.llama, GradSetup{});
  for (Param& p : g.params()) {
    Tensor ref = grads.tensor("len24." + p.name);
    std::copy(ref.data<float>(), ref.data<float>() + p.n, p.grad);
  }
  AdamW opt(AdamWConfig{1e-3, 0.9, 0.999, 1e-8, 0.01});
  opt.step(g.params(), 1e-3f);
  std::map<std::string, Tensor> state;
  for (auto& [k, t] : opt.state()) state[k] = t;
  for (const Param& p : g.params()) {
    const float* want = step.tensor("param." + p.name).data<float>();
    double worst = 0;
    for (int64_t i = 0; i < p.n; ++i) worst = std::max(worst, std::abs(static_cast<double>(p.value[i]) - want[i]));
    INFO(p.name << ": max |Δθ| " << worst);
    CHECK(worst < 1e-5);
    CHECK(rel_err(state["exp_avg." + p.name].data<float>(), step.tensor("exp_avg." + p.name).data<float>(), p.n) < 1e-6);
    CHECK(rel_err(state["exp_avg_sq." + p.name].data<float>(), step.tensor("exp_avg_sq." + p.name).data<float>(), p.n) < 1e-5);
  }
}

TEST_CASE("LoRA: logits, loss and lora_A/lora_B gradients equal peft's") {
  const std::string dir = fixtures() + "/tiny-llama";
  SafetensorsFile adapter = SafetensorsFile::open(dir + "/lora/adapter/adapter_model.safetensors");
  SafetensorsFile lref = SafetensorsFile::open(dir + "/lora/logits.safetensors");
  SafetensorsFile gref = SafetensorsFile::open(dir + "/lora/grads.safetensors");
  SafetensorsFile ids_file = SafetensorsFile::open(dir + "/references/logits.safetensors");
  Model m = load_model(dir + "/model");
  GradSetup setup;
  setup.lora = true;
  setup.lora_config.rank = 4;
  setup.lora_config.alpha = 8;
  LlamaGrad g(m.llama, setup);
  for (Param& p : g.params()) {
    REQUIRE_MESSAGE(adapter.has(p.name), "adapter lacks " << p.name);
    Tensor t = adapter.tensor(p.name);
    REQUIRE(t.numel() == p.n);
    std::copy(t.data<float>(), t.data<float>() + p.n, p.value);
  }
  for (const char* len : {"len24", "len7"}) {
    const std::vector<int32_t> ids = ids_of(ids_file, std::string("input_ids_") + len);
    const int64_t T = static_cast<int64_t>(ids.size());
    const std::vector<float> logits = all_logits(m, ids);
    Tensor want = lref.tensor(std::string("logits_") + len);
    CHECK(rel_err(logits.data(), want.data<float>(), want.numel()) < 1e-5);
    for (Param& p : g.params()) std::fill(p.grad, p.grad + p.n, 0.0f);
    const std::vector<int32_t> tgt = shifted_targets(ids);
    const LossSum ls = g.forward_backward(ids.data(), tgt.data(), 1, T, 1.0f / static_cast<float>(T - 1));
    CHECK(std::abs(ls.mean() - lref.tensor(std::string("loss_") + len).data<float>()[0]) < 1e-5);
    for (const Param& p : g.params()) {
      Tensor r = gref.tensor(std::string(len) + "." + p.name);
      const double e = rel_err(p.grad, r.data<float>(), p.n);
      INFO(len << " " << p.name << ": ‖Δ‖/‖ref‖ = " << e);
      CHECK(e < 1e-4);
    }
  }
}

TEST_CASE("a backend without the family steps refuses each family option by name; the CPU backward takes them") {
  for (const char* which : {"qk_norm", "post_norms", "attn_softcap"}) {
    Model m = load_model("builtin:tiny");
    BlockOptions& o = m.llama.config.block;
    if (std::string(which) == "qk_norm") o.qk_norm = true;
    if (std::string(which) == "post_norms") o.post_norms = true;
    if (std::string(which) == "attn_softcap") o.attn_softcap = 50;
    const std::string want = std::string("block.") + which;
    CHECK_THROWS_WITH_AS(check_block_backward(m.llama.config), doctest::Contains(want.c_str()), Error);
    check_block_backward(m.llama.config, true);  // FamilyBlockOps (the CPU ops) mirror every option
  }
}
