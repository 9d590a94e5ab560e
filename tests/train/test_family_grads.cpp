// Full fine-tuning gradients of every family (issue 21) against transformers' in ../shared/fixtures/families:
// the loss and each parameter's gradient within 1e-3 of that tensor's largest |gradient|. Not LoRA (test_llama_grad).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "models/runner.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"
#include "train/llama_grad.h"
#include "family_fixtures.h"

using namespace edgellm;
using edgellm::test::family_dir;
using edgellm::test::fixture_ids;

namespace {

// Where a parameter's gradient stands in the reference: rows [begin, end) of the Hugging Face tensor `hf`,
// read (out, in) after transposing GPT-2's Conv1D (in, out) weights. end < 0: every row.
struct RefSlice {
  std::string hf;
  int64_t begin = 0, end = -1;
  bool transposed = false;
};

// GPT-2's parameters go by their GGUF names (models/load_hf.cpp splits c_attn and transposes the Conv1D weights).
RefSlice gpt2_ref(const std::string& name, int64_t C) {
  if (name == "token_embd.weight") return {"transformer.wte.weight"};
  if (name == "position_embd.weight") return {"transformer.wpe.weight"};
  if (name == "output_norm.weight") return {"transformer.ln_f.weight"};
  if (name == "output_norm.bias") return {"transformer.ln_f.bias"};
  const size_t dot = name.find('.', 4);
  const std::string l = name.substr(4, dot - 4), rest = name.substr(dot + 1), h = "transformer.h." + l + ".";
  const bool weight = rest.ends_with(".weight");
  const std::string kind = rest.substr(0, rest.rfind('.')), suffix = weight ? ".weight" : ".bias";
  if (kind == "attn_norm") return {h + "ln_1" + suffix};
  if (kind == "ffn_norm") return {h + "ln_2" + suffix};
  if (kind == "attn_q" || kind == "attn_k" || kind == "attn_v") {
    const int64_t part = kind == "attn_q" ? 0 : kind == "attn_k" ? 1 : 2;
    return {h + "attn.c_attn" + suffix, part * C, (part + 1) * C, weight};
  }
  if (kind == "attn_output") return {h + "attn.c_proj" + suffix, 0, -1, weight};
  if (kind == "ffn_up") return {h + "mlp.c_fc" + suffix, 0, -1, weight};
  if (kind == "ffn_down") return {h + "mlp.c_proj" + suffix, 0, -1, weight};
  FAIL("no GPT-2 reference for " << name);
  return {};
}

// Phi-3's q/k/v and gate/up are row blocks of its fused qkv_proj and gate_up_proj.
RefSlice phi3_ref(const std::string& name, const LlamaConfig& c) {
  const int64_t QD = c.q_dim(), KD = c.kv_dim(), F = c.ffn_dim;
  const size_t at = name.rfind('.', name.size() - 8);  // before "<module>.weight"
  const std::string module = name.substr(at + 1, name.size() - at - 8), head = name.substr(0, at + 1);
  if (module == "q_proj") return {head + "qkv_proj.weight", 0, QD};
  if (module == "k_proj") return {head + "qkv_proj.weight", QD, QD + KD};
  if (module == "v_proj") return {head + "qkv_proj.weight", QD + KD, QD + 2 * KD};
  if (module == "gate_proj") return {head + "gate_up_proj.weight", 0, F};
  if (module == "up_proj") return {head + "gate_up_proj.weight", F, 2 * F};
  return {name};
}

// The reference gradient of a slice, laid out as the parameter is: (rows, cols) row-major.
std::vector<float> ref_grad(const SafetensorsFile& grads, const RefSlice& s) {
  const Tensor t = grads.tensor("grad." + s.hf);
  REQUIRE(t.dtype() == DType::F32);
  const float* p = t.data<float>();
  if (t.ndim() == 1) {
    const int64_t end = s.end < 0 ? t.numel() : s.end;
    return std::vector<float>(p + s.begin, p + end);
  }
  const int64_t r0 = t.shape()[0], c0 = t.shape()[1];
  const int64_t rows = s.transposed ? c0 : r0, cols = s.transposed ? r0 : c0, end = s.end < 0 ? rows : s.end;
  std::vector<float> out;
  for (int64_t r = s.begin; r < end; ++r)
    for (int64_t c = 0; c < cols; ++c) out.push_back(s.transposed ? p[c * c0 + r] : p[r * c0 + c]);
  return out;
}

void check_family_grads(const std::string& family, bool checkpointing = false) {
  const std::string dir = family_dir(family);
  const SafetensorsFile logits = SafetensorsFile::open(dir + "/references/logits.safetensors");
  const SafetensorsFile grads = SafetensorsFile::open(dir + "/references/grads.safetensors");
  Model m = load_model(dir + "/model");
  const LlamaConfig c = m.llama.config;
  const std::string kind = family.substr(family.rfind('/') + 1);  // "holdout/gpt2" names GPT-2's tensors too
  GradSetup setup;
  setup.checkpointing = checkpointing;
  LlamaGrad g(m.llama, setup);
  // transformers' causal-LM loss: labels = inputs, shifted inside; the mean over the T − 1 targets.
  const std::vector<int32_t> ids = fixture_ids(logits, "input_ids_len24");
  std::vector<int32_t> tgt(ids.begin() + 1, ids.end());
  tgt.push_back(-100);
  const int64_t T = static_cast<int64_t>(ids.size());
  const LossSum ls = g.forward_backward(ids.data(), tgt.data(), 1, T, 1.0f / static_cast<float>(T - 1));
  const double want_loss = grads.tensor("loss").data<float>()[0];
  const double loss_rel = std::abs(ls.mean() - want_loss) / want_loss;
  MESSAGE(family << ": loss " << ls.mean() << " vs transformers' " << want_loss << " (rel " << loss_rel << ")");
  CHECK(loss_rel < 1e-5);
  double largest = 0;
  for (const auto& info : grads.tensors()) {
    if (info.name == "loss") continue;
    const Tensor t = grads.tensor(info.name);
    for (int64_t i = 0; i < t.numel(); ++i) largest = std::max(largest, std::abs(static_cast<double>(t.data<float>()[i])));
  }
  std::set<std::string> covered;
  double worst = 0;
  std::string worst_name;
  for (const Param& p : g.params()) {
    const RefSlice s = kind == "gpt2" ? gpt2_ref(p.name, c.dim) : kind == "phi3" ? phi3_ref(p.name, c) : RefSlice{p.name};
    REQUIRE_MESSAGE(grads.has("grad." + s.hf), "no reference gradient for " << p.name << " (" << s.hf << ")");
    const std::vector<float> want = ref_grad(grads, s);
    REQUIRE(static_cast<int64_t>(want.size()) == p.n);
    double num = 0, den = 0;
    for (int64_t i = 0; i < p.n; ++i) {
      num = std::max(num, std::abs(static_cast<double>(p.grad[i]) - want[static_cast<size_t>(i)]));
      den = std::max(den, std::abs(static_cast<double>(want[static_cast<size_t>(i)])));
    }
    // A gradient that is zero in exact arithmetic (GPT-2's k bias: the softmax is invariant to it) is rounding
    // noise in both, so it is held to the scale of the model's largest gradient instead of its own.
    const double e = num / std::max(den, 1e-4 * largest);
    INFO(family << " " << p.name << ": max |Δ| / max |ref| = " << e);
    CHECK(e < 1e-3);
    if (e > worst) worst = e, worst_name = p.name;
    covered.insert(s.hf);
  }
  MESSAGE(family << ": worst gradient " << worst_name << " at " << worst << " of its max");
  CHECK(covered.size() == grads.tensors().size() - 1);  // every reference gradient but the loss
}

}  // namespace

TEST_CASE("family gradients: Qwen3 (QK-norm, head_dim != hidden/heads)") {
  check_family_grads("qwen3");
  check_family_grads("qwen3", true);
}
TEST_CASE("family gradients: Llama 3.2 (llama3 rope scaling, tied)") { check_family_grads("llama32"); }
TEST_CASE("family gradients: SmolLM3 (layers without RoPE)") { check_family_grads("smollm3"); }
TEST_CASE("family gradients: Phi-3 (fused qkv and gate_up, partial rotary)") { check_family_grads("phi3"); }
TEST_CASE("family gradients: Gemma 2 (GeGLU, post-norms, soft-caps, sliding window, query scale, √C)") {
  check_family_grads("gemma2");
  check_family_grads("gemma2", true);
}
TEST_CASE("family gradients: Gemma 3 (QK-norm, sliding/global layers, two RoPE bases)") { check_family_grads("gemma3"); }
TEST_CASE("family gradients: GPT-2 (LayerNorm with bias, learned positions, GELU, biases, tied)") {
  check_family_grads("gpt2");
}
TEST_CASE("family gradients: the hold-out models (other dimensions and options, untied outputs, biases)") {
  for (const std::string& family : edgellm::test::holdout_families()) check_family_grads(family);
}
