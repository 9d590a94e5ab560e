// GGUF → LlamaModel: hyperparameters from `<arch>.*` keys, tensors as mmapped views, by llama.cpp's names
// for each family. llama/mistral GGUFs carry llama.cpp's Q/K row permutation, so RoPE pairs adjacent dims there.
// Per-layer choices llama.cpp fixes by architecture (Gemma's sliding pattern, SmolLM3's NoPE step) are its defaults.
#include <cmath>
#include <filesystem>

#include "models/load_model.h"
#include "models/save_gguf.h"
#include "runtime/error.h"
#include "runtime/gguf.h"

namespace edgellm {

namespace {

// The keys llama.cpp writes for the families beyond Llama: soft-caps, sliding windows, the local RoPE base.
void read_family_keys(const GgufFile& f, const std::string& a, LlamaConfig& c) {
  BlockOptions& o = c.block;
  o.attn_softcap = f.get_f32(a + "attn_logit_softcapping", 0.0f);
  o.final_softcap = f.get_f32(a + "final_logit_softcapping", 0.0f);
  for (const auto& [value, key] : {std::pair{o.attn_softcap, "attn_logit_softcapping"}, std::pair{o.final_softcap, "final_logit_softcapping"}})
    if (!(value >= 0) || !std::isfinite(value)) fail_format(f.path(), a + key, "{} is not a finite number >= 0", value);
  // Not a llama.cpp key (it derives the scale from the model size): edgellm writes it where it differs.
  if (const float s = f.get_f32(a + "attention.query_pre_attn_scalar", 0.0f); s > 0) o.query_scale = 1.0 / std::sqrt(s);
  o.sliding_window = static_cast<int64_t>(f.get_u64(a + "attention.sliding_window", 0));
  if (c.arch == "phi3") o.sliding_window = 0;  // llama.cpp ignores Phi-3's window key, as its tensors assume
  const bool gemma = c.arch == "gemma2" || c.arch == "gemma3_text";
  if (o.sliding_window > 0 && gemma) {
    // A per-layer array (1 = sliding) or a period; llama.cpp's defaults: Gemma 2 every other layer, Gemma 3 five of six.
    uint64_t period = c.arch == "gemma2" ? 2 : 6;
    const std::string key = a + "attention.sliding_window_pattern";
    if (const GgufArray* arr = f.find_array(key)) {
      if (static_cast<int64_t>(arr->count) != c.n_layers)
        fail_format(f.path(), key, "{} entries for {} layers", arr->count, c.n_layers);
      for (uint64_t l = 0; l < arr->count; ++l) c.sliding_layers.push_back(arr->i64_at(l) != 0);
    } else {
      period = f.get_u64(key, period);
      if (period == 0) fail_format(f.path(), key, "a period of 0");
      for (int64_t l = 0; l < c.n_layers; ++l) c.sliding_layers.push_back((static_cast<uint64_t>(l) + 1) % period != 0);
    }
    o.sliding_every_layer = false;
  }
  if (c.arch == "gemma3_text") {
    c.rope_theta_local = f.get_f32(a + "rope.freq_base_swa", 10000.0f);
    o.two_rope_bases = true;
  }
  if (c.arch == "smollm3") {  // llama.cpp: no RoPE on every 4th layer
    for (int64_t l = 0; l < c.n_layers; ++l) c.rope_layers.push_back((l + 1) % 4 != 0);
    o.rope_skipped_layers = c.n_layers >= 4;
    if (!o.rope_skipped_layers) c.rope_layers.clear();
  }
}

}  // namespace

LlamaConfig llama_config_from_gguf(const GgufFile& f) {
  LlamaConfig c;
  const std::string gguf_arch = f.get_string("general.architecture");
  const ArchInfo& info = arch_from_gguf(gguf_arch, f.path());
  refuse_unimplemented(info.block, f.path(), "general.architecture");
  c.arch = info.name;
  c.block = info.block;
  const std::string a = gguf_arch + ".";
  c.name = f.get_string("general.name", "");
  c.dim = static_cast<int64_t>(f.get_u64(a + "embedding_length"));
  c.ffn_dim = static_cast<int64_t>(f.get_u64(a + "feed_forward_length"));
  c.n_layers = static_cast<int64_t>(f.get_u64(a + "block_count"));
  c.n_heads = static_cast<int64_t>(f.get_u64(a + "attention.head_count"));
  c.n_kv_heads = static_cast<int64_t>(f.get_u64(a + "attention.head_count_kv", static_cast<uint64_t>(c.n_heads)));
  EDGE_CHECK(c.n_heads > 0, "{}: {}attention.head_count is 0", f.path(), a);
  c.head_dim = static_cast<int64_t>(f.get_u64(a + "attention.key_length", static_cast<uint64_t>(c.dim / c.n_heads)));
  const int64_t rope_dims = static_cast<int64_t>(f.get_u64(a + "rope.dimension_count", static_cast<uint64_t>(c.head_dim)));
  if (rope_dims != c.head_dim) {  // partial rotary (Phi-3): the fraction whose rope_dims() gives the same count
    if (rope_dims <= 0 || rope_dims > c.head_dim || rope_dims % 2 != 0)
      fail_format(f.path(), a + "rope.dimension_count", "{} is not an even count of at most head_dim = {}", rope_dims, c.head_dim);
    c.block.partial_rotary = static_cast<double>(rope_dims) / static_cast<double>(c.head_dim);
  }
  c.max_ctx = static_cast<int64_t>(f.get_u64(a + "context_length", 2048));
  c.rms_eps = c.block.norm == NormKind::LayerNorm ? f.get_f32(a + "attention.layer_norm_epsilon", 1e-5f)
                                                   : f.get_f32(a + "attention.layer_norm_rms_epsilon", 1e-5f);
  read_family_keys(f, a, c);
  c.rope_theta = f.get_f32(a + "rope.freq_base", 10000.0f);
  // llama.cpp's keys; Phi-3's converter marks longrope by its factor tensors alone, without a type.
  const bool longrope_tensors = f.find_tensor("rope_factors_long.weight") || f.find_tensor("rope_factors_short.weight");
  const std::string scaling = f.get_string(a + "rope.scaling.type", longrope_tensors ? "longrope" : "none");
  const std::string orig_key = a + "rope.scaling.original_context_length";
  if (scaling == "linear" || scaling == "dynamic") {  // "dynamic" is edgellm's: llama.cpp has no NTK-aware type
    c.rope_scaling = scaling == "linear" ? RopeScalingKind::Linear : RopeScalingKind::Dynamic;
    c.rope_factor = f.get_f32(a + "rope.scaling.factor", 1.0f);
  } else if (scaling == "yarn") {
    c.rope_scaling = RopeScalingKind::Yarn;
    c.rope_factor = f.get_f32(a + "rope.scaling.factor", 1.0f);
    c.rope_orig_ctx = static_cast<int64_t>(f.get_u64(orig_key, static_cast<uint64_t>(c.max_ctx)));
    c.rope_yarn_beta_fast = f.get_f32(a + "rope.scaling.yarn_beta_fast", 32.0f);
    c.rope_yarn_beta_slow = f.get_f32(a + "rope.scaling.yarn_beta_slow", 1.0f);
    // llama.cpp multiplies its own YaRN magnitude, 1 + 0.1·ln(factor), by attn_factor (1 when absent).
    const double m = c.rope_factor > 1 ? 1 + 0.1 * std::log(static_cast<double>(c.rope_factor)) : 1.0;
    c.rope_attn_factor = static_cast<float>(m * f.get_f32(a + "rope.scaling.attn_factor", 1.0f));
  } else if (scaling == "longrope") {
    c.rope_scaling = RopeScalingKind::LongRope;
    if (!f.has(orig_key)) fail_format(f.path(), orig_key, "required for longrope RoPE scaling");
    c.rope_orig_ctx = static_cast<int64_t>(f.get_u64(orig_key));
    c.rope_factor = static_cast<float>(static_cast<double>(c.max_ctx) / static_cast<double>(c.rope_orig_ctx));
    const double derived = c.rope_factor <= 1 ? 1.0
                           : std::sqrt(1 + std::log(static_cast<double>(c.rope_factor)) / std::log(static_cast<double>(c.rope_orig_ctx)));
    c.rope_attn_factor = f.get_f32(a + "rope.scaling.attn_factor", static_cast<float>(derived));
    auto factors = [&](const char* name) {
      const GgufTensorInfo* info = f.find_tensor(name);
      if (!info) fail_format(f.path(), name, "required for longrope RoPE scaling");
      const Tensor t = f.tensor(*info);
      if (t.dtype() != DType::F32) fail_format(f.path(), name, "expected f32, got {}", dtype_name(t.dtype()));
      return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
    };
    c.rope_long_factors = factors("rope_factors_long.weight");
    c.rope_short_factors = factors("rope_factors_short.weight");
  } else if (scaling != "none") {
    fail_format(f.path(), a + "rope.scaling.type", "rope scaling '{}' is not supported", scaling);
  }
  c.rope_pairing = info.gguf_rope;
  c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr || f.find_tensor("blk.0.attn_qkv.bias") != nullptr;
  c.block.o_bias = f.find_tensor("blk.0.attn_output.bias") != nullptr;
  c.block.mlp_bias = f.find_tensor("blk.0.ffn_up.bias") != nullptr;
  c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  if (const GgufArray* toks = f.find_array("tokenizer.ggml.tokens")) c.vocab = static_cast<int64_t>(toks->count);
  else if (const GgufTensorInfo* e = f.find_tensor("token_embd.weight")) c.vocab = e->shape[0];
  c.bos_id = f.get_i32("tokenizer.ggml.bos_token_id", 1);
  c.eos_id = f.get_i32("tokenizer.ggml.eos_token_id", 2);
  c.validate(f.path());
  return c;
}

void set_in_perm(Tensor& w, std::vector<int32_t> perm, const std::string& file, const std::string& field) {
  if (!dtype_is_gint(w.dtype()))
    fail_format(file, field, "a column order applies to group-int weights only, '{}' is {}", w.name, dtype_name(w.dtype()));
  const int64_t K = w.shape().cols();
  if (static_cast<int64_t>(perm.size()) != K)
    fail_format(file, field, "{} entries for the {} columns of '{}'", perm.size(), K, w.name);
  std::vector<uint8_t> seen(static_cast<size_t>(K), 0);
  for (int32_t p : perm) {
    if (p < 0 || p >= K || seen[static_cast<size_t>(p)])
      fail_format(file, field, "not a permutation of 0..{} (entry {})", K - 1, p);
    seen[static_cast<size_t>(p)] = 1;
  }
  bool identity = true;
  for (int64_t j = 0; j < K && identity; ++j) identity = perm[static_cast<size_t>(j)] == j;
  if (identity) w.in_perm.reset();
  else w.in_perm = std::make_shared<const std::vector<int32_t>>(std::move(perm));
}

LlamaModel load_llama_gguf(const GgufFile& f) {
  LlamaModel m;
  m.config = llama_config_from_gguf(f);
  m.source = f.path();
  m.keep.emplace_back(f.file());
  auto get = [&](const std::string& name) {
    Tensor t = f.tensor(name);
    t.name = name;
    if (f.find_tensor(in_perm_name(name))) {  // a group-int weight's column order (models/save_gguf.h)
      const std::string pn = in_perm_name(name);
      const Tensor p = f.tensor(pn);
      if (p.dtype() != DType::I32 || p.ndim() != 1) fail_format(f.path(), pn, "expected a 1-D i32 tensor");
      set_in_perm(t, std::vector<int32_t>(p.data<int32_t>(), p.data<int32_t>() + p.numel()), f.path(), pn);
    }
    return t;
  };
  auto opt = [&](const std::string& name) { return f.find_tensor(name) ? get(name) : Tensor(); };
  m.weights.tok_embd = get("token_embd.weight");
  m.weights.out_norm = get("output_norm.weight");
  m.weights.output = m.config.tied_embeddings ? m.weights.tok_embd : get("output.weight");
  const BlockOptions& o = m.config.block;
  const int64_t QD = m.config.q_dim(), KD = m.config.kv_dim(), F = m.config.ffn_dim;
  auto rows = [](const Tensor& t, int64_t begin, int64_t end, const std::string& name) {
    Tensor v = t.slice(0, begin, end);
    v.name = name;
    return v;
  };
  if (o.norm_bias) m.weights.out_norm_b = get("output_norm.bias");
  if (o.positions == PositionKind::Learned) m.weights.pos_embd = get("position_embd.weight");
  for (int64_t l = 0; l < m.config.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LlamaLayer L;
    L.attn_norm = get(p + "attn_norm.weight");
    if (f.find_tensor(p + "attn_qkv.weight")) {  // fused q, k, v rows (Phi-3, GPT-2), split into views
      const Tensor qkv = get(p + "attn_qkv.weight");
      if (qkv.shape().rows() != QD + 2 * KD)
        fail_format(f.path(), p + "attn_qkv.weight", "{} rows, not q + k + v = {}", qkv.shape().rows(), QD + 2 * KD);
      L.wq = rows(qkv, 0, QD, p + "attn_q.weight");
      L.wk = rows(qkv, QD, QD + KD, p + "attn_k.weight");
      L.wv = rows(qkv, QD + KD, QD + 2 * KD, p + "attn_v.weight");
      if (f.find_tensor(p + "attn_qkv.bias")) {
        const Tensor b = get(p + "attn_qkv.bias");
        if (b.numel() != QD + 2 * KD) fail_format(f.path(), p + "attn_qkv.bias", "{} values, not {}", b.numel(), QD + 2 * KD);
        L.bq = rows(b, 0, QD, p + "attn_q.bias");
        L.bk = rows(b, QD, QD + KD, p + "attn_k.bias");
        L.bv = rows(b, QD + KD, QD + 2 * KD, p + "attn_v.bias");
      }
    } else {
      L.wq = get(p + "attn_q.weight");
      L.wk = get(p + "attn_k.weight");
      L.wv = get(p + "attn_v.weight");
      L.bq = opt(p + "attn_q.bias");
      L.bk = opt(p + "attn_k.bias");
      L.bv = opt(p + "attn_v.bias");
    }
    L.wo = get(p + "attn_output.weight");
    L.bo = opt(p + "attn_output.bias");
    L.ffn_norm = get(p + "ffn_norm.weight");
    const Tensor up = get(p + "ffn_up.weight");
    if (o.mlp != MlpKind::Gelu && !f.find_tensor(p + "ffn_gate.weight") && up.shape().rows() == 2 * F) {
      L.w_gate = rows(up, 0, F, p + "ffn_gate.weight");  // Phi-3's fused gate_up: gate rows first
      L.w_up = rows(up, F, 2 * F, p + "ffn_up.weight");
    } else {
      L.w_gate = opt(p + "ffn_gate.weight");
      L.w_up = up;
    }
    L.w_down = get(p + "ffn_down.weight");
    L.b_gate = opt(p + "ffn_gate.bias");
    L.b_up = opt(p + "ffn_up.bias");
    L.b_down = opt(p + "ffn_down.bias");
    if (o.norm_bias) {
      L.attn_norm_b = get(p + "attn_norm.bias");
      L.ffn_norm_b = get(p + "ffn_norm.bias");
    }
    if (o.qk_norm) {
      L.q_norm = get(p + "attn_q_norm.weight");
      L.k_norm = get(p + "attn_k_norm.weight");
    }
    if (o.post_norms) {
      L.attn_post_norm = get(p + "post_attention_norm.weight");
      L.ffn_post_norm = get(p + "post_ffw_norm.weight");
    }
    m.weights.layers.push_back(std::move(L));
  }
  // Llama 3.1-style GGUFs store the rope scaling as per-frequency divisors.
  if (const GgufTensorInfo* rf = f.find_tensor("rope_freqs.weight")) {
    Tensor t = f.tensor(*rf);
    if (t.dtype() != DType::F32 || t.numel() != m.config.rope_dims() / 2)
      fail_format(f.path(), "rope_freqs.weight", "expected {} f32 values, got {} {}", m.config.rope_dims() / 2, t.numel(),
                  dtype_name(t.dtype()));
    m.config.rope_freq_factors.assign(t.data<float>(), t.data<float>() + t.numel());
    m.config.validate(f.path());  // the divisors too: each finite and > 0
  }
  m.validate();
  return m;
}

LlamaModel load_llama(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return load_llama_hf(path);
  if (!fs::exists(path, ec)) fail("{}: no such file or directory", path);
  return load_llama_gguf(GgufFile::open(path));
}

}  // namespace edgellm
