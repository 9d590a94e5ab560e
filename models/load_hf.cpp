// Hugging Face directory → LlamaModel: config.json, then model.safetensors or the shards that
// model.safetensors.index.json names. HF keeps q/k rows in rotate-half order, so RoPE pairs (i, i+HD/2).
// GPTQ / AWQ linears (quantization_config) are read as group-int weights by models/hf_quant.h.
// Each family's names map to GGUF's here; fused qkv / gate_up rows are split into views, Gemma's 1 + w norms
// are stored as 1 + w (as llama.cpp's GGUF does) and GPT-2's Conv1D (in, out) weights are transposed.
#include <cmath>
#include <filesystem>

#include "models/hf_config.h"
#include "models/hf_quant.h"
#include "models/load_model.h"
#include "runtime/error.h"
#include "runtime/safetensors.h"

namespace edgellm {

namespace {

// yarn and longrope as transformers (5.17) reads them: the original context is original_max_position_embeddings
// (max_position_embeddings without it); the scaling factor is the config's own "factor" for yarn when it gives one
// (transformers writes original_max_position_embeddings = max_position_embeddings into a saved yarn config, so
// the contexts' ratio would be 1 there), else max_position_embeddings over the original context (longrope; yarn
// without a factor). Checked against transformers' logits: tests/fixtures/rope_scaling.
// Sets c.rope_orig_ctx and c.rope_factor; returns the factor in double for the attention factor's formula.
double set_context_factor(LlamaConfig& c, const RopeScaling& y, bool prefer_given_factor) {
  const bool orig = y.original_max_position_embeddings > 0;
  c.rope_orig_ctx = orig ? y.original_max_position_embeddings : c.max_ctx;
  const double factor = orig && !(prefer_given_factor && y.factor_given)
                            ? static_cast<double>(c.max_ctx) / static_cast<double>(y.original_max_position_embeddings)
                            : y.factor;
  c.rope_factor = static_cast<float>(factor);
  return factor;
}

}  // namespace

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
  } else if (h.rope_scaling.type == "dynamic") {
    c.rope_scaling = RopeScalingKind::Dynamic;
    c.rope_factor = static_cast<float>(h.rope_scaling.factor);
  } else if (h.rope_scaling.type == "yarn") {
    const RopeScaling& y = h.rope_scaling;
    c.rope_scaling = RopeScalingKind::Yarn;
    const double factor = set_context_factor(c, y, true);
    auto mscale = [&](double m) { return factor <= 1 ? 1.0 : 0.1 * m * std::log(factor) + 1.0; };
    c.rope_attn_factor = static_cast<float>(y.attention_factor > 0 ? y.attention_factor
                                            : y.mscale > 0 && y.mscale_all_dim > 0 ? mscale(y.mscale) / mscale(y.mscale_all_dim)
                                                                                    : mscale(1.0));
    c.rope_yarn_beta_fast = static_cast<float>(y.beta_fast);
    c.rope_yarn_beta_slow = static_cast<float>(y.beta_slow);
    c.rope_yarn_truncate = y.truncate;
  } else if (h.rope_scaling.type == "longrope") {
    const RopeScaling& y = h.rope_scaling;
    c.rope_scaling = RopeScalingKind::LongRope;
    const double factor = set_context_factor(c, y, false);
    c.rope_attn_factor = static_cast<float>(
        y.attention_factor > 0 ? y.attention_factor
        : factor <= 1          ? 1.0
                               : std::sqrt(1 + std::log(factor) / std::log(static_cast<double>(c.rope_orig_ctx))));
    c.rope_long_factors.assign(y.long_factor.begin(), y.long_factor.end());
    c.rope_short_factors.assign(y.short_factor.begin(), y.short_factor.end());
  } else if (!h.rope_scaling.type.empty() && h.rope_scaling.type != "default") {
    fail_format(h.path, "rope_scaling.type", "rope scaling '{}' is not supported", h.rope_scaling.type);
  }
  c.qkv_bias = h.qkv_bias;
  c.tied_embeddings = h.tie_word_embeddings;
  c.sliding_layers = h.sliding_layers;
  c.rope_layers = h.rope_layers;
  c.rope_theta_local = static_cast<float>(h.rope_local_theta);
  if (!h.bos_token_ids.empty()) c.bos_id = static_cast<int32_t>(h.bos_token_ids[0]);
  if (!h.eos_token_ids.empty()) c.eos_id = static_cast<int32_t>(h.eos_token_ids[0]);
  c.validate(h.path);
  return c;
}

namespace {

// GPT-2's checkpoint: transformer.{wte, wpe, h.N, ln_f} (or without "transformer." in OpenAI's own), fused
// c_attn, and Conv1D weights stored (in, out), transposed here to the (out, in) every linear takes.
template <class Get, class GetF32>
void load_gpt2_tensors(LlamaModel& m, const SafetensorsDir& shards, Get& get, GetF32& get_f32) {
  const LlamaConfig& c = m.config;
  const int64_t C = c.dim, F = c.ffn_dim;
  const std::string root = shards.has("transformer.wte.weight") ? "transformer." : "";
  auto conv1d = [&](const std::string& hf, const std::string& gguf_name, int64_t in, int64_t out) {
    const Tensor t = get_f32(hf, gguf_name);
    if (t.shape() != Shape{in, out}) fail_format(m.source, hf, "shape {} is not ({}, {}) (Conv1D: in, out)", t.shape().str(), in, out);
    Tensor w = t.transpose(0, 1).contiguous();
    w.name = gguf_name;
    return w;
  };
  auto rows = [](const Tensor& t, int64_t begin, int64_t end, const std::string& gguf_name) {
    Tensor v = t.slice(0, begin, end);
    v.name = gguf_name;
    return v;
  };
  m.weights.tok_embd = get(root + "wte.weight", "token_embd.weight");
  m.weights.pos_embd = get(root + "wpe.weight", "position_embd.weight");
  m.weights.out_norm = get_f32(root + "ln_f.weight", "output_norm.weight");
  m.weights.out_norm_b = get_f32(root + "ln_f.bias", "output_norm.bias");
  m.weights.output = m.weights.tok_embd;  // GPT-2's head is always the embedding
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = root + "h." + std::to_string(l) + ".";
    const std::string g = "blk." + std::to_string(l) + ".";
    LlamaLayer L;
    L.attn_norm = get_f32(p + "ln_1.weight", g + "attn_norm.weight");
    L.attn_norm_b = get_f32(p + "ln_1.bias", g + "attn_norm.bias");
    const Tensor qkv = conv1d(p + "attn.c_attn.weight", g + "attn_qkv.weight", C, 3 * C);
    L.wq = rows(qkv, 0, C, g + "attn_q.weight");
    L.wk = rows(qkv, C, 2 * C, g + "attn_k.weight");
    L.wv = rows(qkv, 2 * C, 3 * C, g + "attn_v.weight");
    const Tensor qkv_b = get_f32(p + "attn.c_attn.bias", g + "attn_qkv.bias");
    if (qkv_b.numel() != 3 * C) fail_format(m.source, p + "attn.c_attn.bias", "{} values, not {}", qkv_b.numel(), 3 * C);
    L.bq = rows(qkv_b, 0, C, g + "attn_q.bias");
    L.bk = rows(qkv_b, C, 2 * C, g + "attn_k.bias");
    L.bv = rows(qkv_b, 2 * C, 3 * C, g + "attn_v.bias");
    L.wo = conv1d(p + "attn.c_proj.weight", g + "attn_output.weight", C, C);
    L.bo = get_f32(p + "attn.c_proj.bias", g + "attn_output.bias");
    L.ffn_norm = get_f32(p + "ln_2.weight", g + "ffn_norm.weight");
    L.ffn_norm_b = get_f32(p + "ln_2.bias", g + "ffn_norm.bias");
    L.w_up = conv1d(p + "mlp.c_fc.weight", g + "ffn_up.weight", C, F);
    L.b_up = get_f32(p + "mlp.c_fc.bias", g + "ffn_up.bias");
    L.w_down = conv1d(p + "mlp.c_proj.weight", g + "ffn_down.weight", F, C);
    L.b_down = get_f32(p + "mlp.c_proj.bias", g + "ffn_down.bias");
    m.weights.layers.push_back(std::move(L));
  }
}

}  // namespace

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
  const BlockOptions& o = m.config.block;
  if (m.config.arch == "gpt2") {
    load_gpt2_tensors(m, shards, get, get_f32);
  } else {
    // Gemma stores norm weights w for x̂ · (1 + w): kept as 1 + w, the weight the block multiplies by.
    auto norm = [&](const std::string& hf, const std::string& gguf_name) {
      Tensor t = get_f32(hf, gguf_name);
      if (!o.norm_plus_one) return t;
      Tensor u = Tensor::empty(t.shape());
      for (int64_t i = 0; i < t.numel(); ++i) u.data<float>()[i] = t.data<float>()[i] + 1.0f;
      u.name = gguf_name;
      return u;
    };
    // A fused matrix's rows [begin, end) as a view (rows are contiguous in any dtype).
    auto rows = [](const Tensor& t, int64_t begin, int64_t end, const std::string& gguf_name) {
      Tensor v = t.slice(0, begin, end);
      v.name = gguf_name;
      return v;
    };
    m.weights.tok_embd = get("model.embed_tokens.weight", "token_embd.weight");
    m.weights.out_norm = norm("model.norm.weight", "output_norm.weight");
    m.weights.output = m.config.tied_embeddings ? m.weights.tok_embd : linear("lm_head", "output.weight", m.config.vocab, C);
    for (int64_t l = 0; l < m.config.n_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      const std::string g = "blk." + std::to_string(l) + ".";
      LlamaLayer L;
      L.attn_norm = norm(p + "input_layernorm.weight", g + "attn_norm.weight");
      if (o.fused_qkv) {  // Phi-3: qkv_proj (QD + 2·KD, C) and gate_up_proj (2F, C), gate first
        const Tensor qkv = get(p + "self_attn.qkv_proj.weight", g + "attn_qkv.weight");
        if (qkv.shape() != Shape{QD + 2 * KD, C})
          fail_format(dir, p + "self_attn.qkv_proj.weight", "shape {} is not ({}, {})", qkv.shape().str(), QD + 2 * KD, C);
        L.wq = rows(qkv, 0, QD, g + "attn_q.weight");
        L.wk = rows(qkv, QD, QD + KD, g + "attn_k.weight");
        L.wv = rows(qkv, QD + KD, QD + 2 * KD, g + "attn_v.weight");
        const Tensor gu = get(p + "mlp.gate_up_proj.weight", g + "ffn_up.weight");
        if (gu.shape() != Shape{2 * F, C})
          fail_format(dir, p + "mlp.gate_up_proj.weight", "shape {} is not ({}, {})", gu.shape().str(), 2 * F, C);
        L.w_gate = rows(gu, 0, F, g + "ffn_gate.weight");
        L.w_up = rows(gu, F, 2 * F, g + "ffn_up.weight");
      } else {
        L.wq = linear(p + "self_attn.q_proj", g + "attn_q.weight", QD, C);
        L.wk = linear(p + "self_attn.k_proj", g + "attn_k.weight", KD, C);
        L.wv = linear(p + "self_attn.v_proj", g + "attn_v.weight", KD, C);
        L.w_gate = linear(p + "mlp.gate_proj", g + "ffn_gate.weight", F, C);
        L.w_up = linear(p + "mlp.up_proj", g + "ffn_up.weight", F, C);
      }
      L.wo = linear(p + "self_attn.o_proj", g + "attn_output.weight", C, QD);
      L.w_down = linear(p + "mlp.down_proj", g + "ffn_down.weight", C, F);
      if (m.config.qkv_bias) {
        L.bq = get_f32(p + "self_attn.q_proj.bias", g + "attn_q.bias");
        L.bk = get_f32(p + "self_attn.k_proj.bias", g + "attn_k.bias");
        L.bv = get_f32(p + "self_attn.v_proj.bias", g + "attn_v.bias");
      }
      if (o.o_bias) L.bo = get_f32(p + "self_attn.o_proj.bias", g + "attn_output.bias");
      if (o.mlp_bias) {
        L.b_gate = get_f32(p + "mlp.gate_proj.bias", g + "ffn_gate.bias");
        L.b_up = get_f32(p + "mlp.up_proj.bias", g + "ffn_up.bias");
        L.b_down = get_f32(p + "mlp.down_proj.bias", g + "ffn_down.bias");
      }
      if (o.qk_norm) {
        L.q_norm = norm(p + "self_attn.q_norm.weight", g + "attn_q_norm.weight");
        L.k_norm = norm(p + "self_attn.k_norm.weight", g + "attn_k_norm.weight");
      }
      if (o.post_norms) {  // Gemma: post_attention_layernorm is the norm after attention, not before the MLP
        L.attn_post_norm = norm(p + "post_attention_layernorm.weight", g + "post_attention_norm.weight");
        L.ffn_norm = norm(p + "pre_feedforward_layernorm.weight", g + "ffn_norm.weight");
        L.ffn_post_norm = norm(p + "post_feedforward_layernorm.weight", g + "post_ffw_norm.weight");
      } else {
        L.ffn_norm = norm(p + "post_attention_layernorm.weight", g + "ffn_norm.weight");
      }
      m.weights.layers.push_back(std::move(L));
    }
  }
  m.validate();
  return m;
}

}  // namespace edgellm
