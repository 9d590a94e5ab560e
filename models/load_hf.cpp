// Hugging Face directory → LlamaModel: config.json, then model.safetensors or the shards that
// model.safetensors.index.json names. HF keeps q/k rows in rotate-half order, so RoPE pairs (i, i+HD/2).
// GPTQ / AWQ linears (quantization_config) are read as group-int weights by models/hf_quant.h.
#include <filesystem>

#include "models/hf_config.h"
#include "models/hf_quant.h"
#include "models/load_model.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"

namespace edgellm {

LlamaConfig llama_config_from_hf(const std::string& dir) {
  const HFConfig h = load_hf_config(dir);
  LlamaConfig c;
  c.arch = h.model_type;  // resolved through models/arch.h by parse_hf_config
  c.block = h.block;
  c.name = std::filesystem::path(dir).filename().string();
  c.vocab = h.vocab_size;
  c.dim = h.hidden_size;
  c.ffn_dim = h.intermediate_size;
  c.n_layers = h.num_hidden_layers;
  c.n_heads = h.num_attention_heads;
  c.n_kv_heads = h.num_key_value_heads;
  c.head_dim = h.head_dim;
  c.max_ctx = h.max_position_embeddings > 0 ? h.max_position_embeddings : 2048;
  c.rms_eps = static_cast<float>(h.rms_norm_eps);
  c.rope_theta = static_cast<float>(h.rope_theta);
  c.rope_pairing = RopePairing::NeoX;
  if (h.rope_scaling.type == "linear") {
    c.rope_scaling = RopeScalingKind::Linear;
    c.rope_factor = static_cast<float>(h.rope_scaling.factor);
  } else if (h.rope_scaling.type == "llama3") {
    c.rope_scaling = RopeScalingKind::Llama3;
    c.rope_factor = static_cast<float>(h.rope_scaling.factor);
    c.rope_low_freq_factor = static_cast<float>(h.rope_scaling.low_freq_factor);
    c.rope_high_freq_factor = static_cast<float>(h.rope_scaling.high_freq_factor);
    c.rope_orig_ctx = h.rope_scaling.original_max_position_embeddings;
  } else if (!h.rope_scaling.type.empty() && h.rope_scaling.type != "default") {
    fail_format(h.path, "rope_scaling.type", "rope scaling '{}' is not supported", h.rope_scaling.type);
  }
  c.qkv_bias = h.qkv_bias;
  c.tied_embeddings = h.tie_word_embeddings;
  if (!h.bos_token_ids.empty()) c.bos_id = static_cast<int32_t>(h.bos_token_ids[0]);
  if (!h.eos_token_ids.empty()) c.eos_id = static_cast<int32_t>(h.eos_token_ids[0]);
  c.validate(h.path);
  return c;
}

LlamaModel load_llama_hf(const std::string& dir) {
  LlamaModel m;
  m.config = llama_config_from_hf(dir);
  m.source = dir;
  const SafetensorsDir shards = SafetensorsDir::open(dir);
  for (const auto& f : shards.files()) m.keep.emplace_back(f.file());
  auto get = [&](const std::string& hf, const std::string& gguf_name) {
    if (!shards.has(hf)) fail_format(dir, hf, "required tensor is missing");
    Tensor t = shards.tensor(hf);
    if (t.dtype() != DType::F32 && t.dtype() != DType::F16 && t.dtype() != DType::BF16)
      fail_format(shards.file_of(hf)->path(), hf, "dtype {} is not a float type", dtype_name(t.dtype()));
    t.name = gguf_name;
    return t;
  };
  // GPTQ / AWQ checkpoints: a linear with `<prefix>.qweight` becomes a group-int weight (models/hf_quant.h).
  const HfQuantConfig qc = hf_quant_config(dir);
  auto linear = [&](const std::string& prefix, const std::string& gguf_name, int64_t N, int64_t K) {
    if (qc.method == HfQuantConfig::Method::None || !shards.has(prefix + ".qweight")) return get(prefix + ".weight", gguf_name);
    if (shards.has(prefix + ".bias")) {  // quantizers keep (zero) biases on every linear; only q/k/v may use one
      const bool qkv = prefix.ends_with(".q_proj") || prefix.ends_with(".k_proj") || prefix.ends_with(".v_proj");
      if (!qkv || !m.config.qkv_bias) {
        const Tensor bias = shards.tensor(prefix + ".bias").to(DType::F32);
        for (int64_t i = 0; i < bias.numel(); ++i)
          if (bias.data<float>()[i] != 0.0f)
            fail_format(shards.file_of(prefix + ".bias")->path(), prefix + ".bias", "a non-zero bias here is not supported");
      }
    }
    return hf_quant_linear(shards, prefix, N, K, qc, gguf_name);
  };
  const int64_t C = m.config.dim, F = m.config.ffn_dim, QD = m.config.q_dim(), KD = m.config.kv_dim();
  // Norms and biases are kept in f32 (the forward pass reads them as f32).
  auto get_f32 = [&](const std::string& hf, const std::string& gguf_name) {
    Tensor t = get(hf, gguf_name);
    if (t.dtype() != DType::F32) {
      t = t.to(DType::F32);
      t.name = gguf_name;
    }
    return t;
  };
  m.weights.tok_embd = get("model.embed_tokens.weight", "token_embd.weight");
  m.weights.out_norm = get_f32("model.norm.weight", "output_norm.weight");
  m.weights.output = m.config.tied_embeddings ? m.weights.tok_embd : linear("lm_head", "output.weight", m.config.vocab, C);
  for (int64_t l = 0; l < m.config.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const std::string g = "blk." + std::to_string(l) + ".";
    LlamaLayer L;
    L.attn_norm = get_f32(p + "input_layernorm.weight", g + "attn_norm.weight");
    L.wq = linear(p + "self_attn.q_proj", g + "attn_q.weight", QD, C);
    L.wk = linear(p + "self_attn.k_proj", g + "attn_k.weight", KD, C);
    L.wv = linear(p + "self_attn.v_proj", g + "attn_v.weight", KD, C);
    L.wo = linear(p + "self_attn.o_proj", g + "attn_output.weight", C, QD);
    if (m.config.qkv_bias) {
      L.bq = get_f32(p + "self_attn.q_proj.bias", g + "attn_q.bias");
      L.bk = get_f32(p + "self_attn.k_proj.bias", g + "attn_k.bias");
      L.bv = get_f32(p + "self_attn.v_proj.bias", g + "attn_v.bias");
    }
    L.ffn_norm = get_f32(p + "post_attention_layernorm.weight", g + "ffn_norm.weight");
    L.w_gate = linear(p + "mlp.gate_proj", g + "ffn_gate.weight", F, C);
    L.w_up = linear(p + "mlp.up_proj", g + "ffn_up.weight", F, C);
    L.w_down = linear(p + "mlp.down_proj", g + "ffn_down.weight", C, F);
    m.weights.layers.push_back(std::move(L));
  }
  m.validate();
  return m;
}

}  // namespace edgellm
