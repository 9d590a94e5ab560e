// The table of families and the refusal of block options not yet implemented.
// Not config parsing (models/hf_config.cpp, models/load_gguf.cpp read the fields this table is keyed by).
#include "models/arch.h"

#include "runtime/error.h"

namespace edgellm {

namespace {

BlockOptions gemma_like(bool qk_norm) {
  BlockOptions o;
  o.norm_plus_one = true;
  o.post_norms = true;
  o.qk_norm = qk_norm;
  o.mlp = MlpKind::GeluTanhGlu;
  o.embed_scale = true;
  return o;
}

std::vector<ArchInfo> make_table() {
  BlockOptions llama;  // the defaults are the Llama block
  BlockOptions qk = llama;
  qk.qk_norm = true;
  BlockOptions phi = llama;
  phi.fused_qkv = true;
  BlockOptions gpt2;
  gpt2.norm = NormKind::LayerNorm;
  gpt2.norm_bias = true;
  gpt2.o_bias = gpt2.mlp_bias = true;
  gpt2.mlp = MlpKind::Gelu;
  gpt2.positions = PositionKind::Learned;
  BlockOptions gemma3 = gemma_like(true);
  gemma3.two_rope_bases = true;
  const RopePairing I = RopePairing::Interleaved, N = RopePairing::NeoX;
  return {
      {"llama", "LlamaForCausalLM", "llama", I, false, llama},
      {"mistral", "MistralForCausalLM", "llama", I, false, llama},
      {"qwen2", "Qwen2ForCausalLM", "qwen2", N, true, llama},
      {"qwen3", "Qwen3ForCausalLM", "qwen3", N, false, qk},
      {"gemma2", "Gemma2ForCausalLM", "gemma2", N, false, gemma_like(false)},
      {"gemma3_text", "Gemma3ForCausalLM", "gemma3", N, false, gemma3},
      {"phi3", "Phi3ForCausalLM", "phi3", N, false, phi},
      {"smollm3", "SmolLM3ForCausalLM", "smollm3", N, false, llama},
      {"gpt2", "GPT2LMHeadModel", "gpt2", N, true, gpt2},
  };
}

std::string names(bool gguf) {
  std::string s;
  for (const ArchInfo& a : known_archs()) {
    const std::string n = gguf ? a.gguf : a.name;
    if (s.find(n) != std::string::npos) continue;
    s += (s.empty() ? "" : ", ") + n;
  }
  return s;
}

}  // namespace

const std::vector<ArchInfo>& known_archs() {
  static const std::vector<ArchInfo> table = make_table();
  return table;
}

const ArchInfo& arch_from_hf(const std::string& model_type, const std::vector<std::string>& architectures,
                             const std::string& source) {
  for (const ArchInfo& a : known_archs())
    if (model_type == a.name) return a;
  for (const std::string& cls : architectures)
    for (const ArchInfo& a : known_archs())
      if (cls == a.hf_class) return a;
  fail_format(source, "model_type", "'{}' is not a known architecture ({})", model_type, names(false));
}

const ArchInfo& arch_from_gguf(const std::string& name, const std::string& source) {
  // llama.cpp writes Mistral as "llama"; edgellm's own name is accepted too, as older edgellm files carry it.
  for (const ArchInfo& a : known_archs())
    if (name == a.gguf) return a;
  for (const ArchInfo& a : known_archs())
    if (name == a.name) return a;
  fail_format(source, "general.architecture", "'{}' is not a known architecture ({})", name, names(true));
}

const ArchInfo& arch_by_name(const std::string& name) {
  for (const ArchInfo& a : known_archs())
    if (name == a.name) return a;
  fail("unknown architecture '{}' ({})", name, names(false));
}

std::vector<OptionAsked> options_beyond_llama(const BlockOptions& o, const std::string& family_field) {
  const BlockOptions d;  // the Llama block
  const OptionAsked all[] = {
      {o.norm != d.norm, family_field, "LayerNorm"},
      {o.norm_bias, family_field, "norms with a bias"},
      {o.norm_plus_one, family_field, "norm weights applied as 1 + w"},
      {o.post_norms, family_field, "post-attention and post-MLP norms"},
      {o.qk_norm, family_field, "QK-norm"},
      {o.fused_qkv, family_field, "fused qkv_proj and gate_up_proj"},
      {o.positions != d.positions, family_field, "learned positions"},
      {o.embed_scale, family_field, "embeddings scaled by √hidden"},
      {o.two_rope_bases, "rope_local_base_freq", "separate local and global RoPE bases"},
      {o.o_bias, "attention_bias", "a bias on o_proj"},
      {o.mlp_bias, "mlp_bias", "biases in the MLP"},
      {o.mlp != d.mlp, "hidden_act", "an MLP other than SwiGLU"},
      {o.partial_rotary != d.partial_rotary, "partial_rotary_factor", "partial rotary"},
      {o.rope_skipped_layers, "no_rope_layers", "layers without RoPE"},
      {o.attn_softcap != 0, "attn_logit_softcapping", "attention logit soft-capping"},
      {o.final_softcap != 0, "final_logit_softcapping", "final logit soft-capping"},
      {o.query_scale != 0, "query_pre_attn_scalar", "an attention scale other than 1/√head_dim"},
      {o.sliding_window > 0 && !o.sliding_every_layer, "layer_types", "sliding-window attention on some layers only"},
  };
  std::vector<OptionAsked> out;
  for (const OptionAsked& x : all)
    if (x.asked) out.push_back(x);
  return out;
}

void refuse_unimplemented(const BlockOptions& o, const std::string& source, const std::string& family_field) {
  // What the CPU walk (models/block.h) does not implement, by its description in options_beyond_llama: nothing
  // today. The hook stays so that an option described before it is implemented is refused naming its field.
  const std::vector<std::string> missing;
  for (const OptionAsked& x : options_beyond_llama(o, family_field))
    for (const std::string& m : missing)
      if (m == x.what) fail_format(source, x.field, "{} is not implemented by edgellm's transformer block yet", x.what);
}

}  // namespace edgellm
