// The table of PEFT module names per family (train/peft_modules.h). Not adapter I/O (train/lora_io.cpp).
#include "train/peft_modules.h"

#include "runtime/error.h"

namespace edgellm {

const std::vector<PeftModule>& peft_modules(const LlamaConfig& c) {
  using K = LinearKind;
  static const std::vector<PeftModule> llama = {
      {"q_proj", "self_attn.q_proj", {K::Q}},       {"k_proj", "self_attn.k_proj", {K::K}},
      {"v_proj", "self_attn.v_proj", {K::V}},       {"o_proj", "self_attn.o_proj", {K::O}},
      {"gate_proj", "mlp.gate_proj", {K::Gate}},    {"up_proj", "mlp.up_proj", {K::Up}},
      {"down_proj", "mlp.down_proj", {K::Down}},
  };
  static const std::vector<PeftModule> fused = {
      {"qkv_proj", "self_attn.qkv_proj", {K::Q, K::K, K::V}},
      {"o_proj", "self_attn.o_proj", {K::O}},
      {"gate_up_proj", "mlp.gate_up_proj", {K::Gate, K::Up}},
      {"down_proj", "mlp.down_proj", {K::Down}},
  };
  static const std::vector<PeftModule> gpt2 = {
      {"c_attn", "attn.c_attn", {K::Q, K::K, K::V}},
      {"c_proj", "attn.c_proj", {K::O}},
      {"c_fc", "mlp.c_fc", {K::Up}},
      {"c_proj", "mlp.c_proj", {K::Down}},
  };
  if (c.arch == "gpt2") return gpt2;
  return c.block.fused_qkv ? fused : llama;
}

std::string peft_module_prefix(const LlamaConfig& c, int64_t layer, const PeftModule& m) {
  if (c.arch == "gpt2") return fmt::format("base_model.model.transformer.h.{}.{}", layer, m.path);
  return fmt::format("base_model.model.model.layers.{}.{}", layer, m.path);
}

void check_peft_target(const LlamaConfig& c, const std::string& target) {
  std::string names;
  for (const PeftModule& m : peft_modules(c)) {
    if (m.name == target) return;
    if (names.find(m.name) == std::string::npos) names += (names.empty() ? "" : ", ") + m.name;
  }
  fail("unknown target module '{}' for {}: its modules are {}", target.substr(0, 64), c.arch, names);
}

std::vector<std::string> default_peft_targets(const LlamaConfig& c) {
  if (c.arch == "gpt2") return {"c_attn"};
  if (c.block.fused_qkv) return {"qkv_proj"};
  return {"q_proj", "v_proj"};
}

const PeftModule& peft_module_of(const LlamaConfig& c, LinearKind kind) {
  for (const PeftModule& m : peft_modules(c))
    for (LinearKind k : m.kinds)
      if (k == kind) return m;
  fail("{} has no module for the linear {}", c.arch, peft_module_name(kind));
}

std::pair<int64_t, int64_t> peft_rows_of(const LlamaConfig& c, const PeftModule& m, LinearKind kind) {
  int64_t begin = 0;
  for (LinearKind k : m.kinds) {
    const int64_t n = k == LinearKind::Q                             ? c.q_dim()
                      : k == LinearKind::K || k == LinearKind::V     ? c.kv_dim()
                      : k == LinearKind::O || k == LinearKind::Down  ? c.dim
                                                                     : c.ffn_dim;
    if (k == kind) return {begin, begin + n};
    begin += n;
  }
  fail("module {} does not cover the linear {}", m.name, peft_module_name(kind));
}

}  // namespace edgellm
