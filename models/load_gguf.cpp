// GGUF → LlamaModel: hyperparameters from `<arch>.*` keys, tensors as mmapped views.
// llama/mistral GGUFs carry llama.cpp's Q/K row permutation, so RoPE pairs adjacent dims there.
#include <filesystem>

#include "models/load_model.h"
#include "runtime/error.h"
#include "runtime/gguf.h"

namespace edgellm {

LlamaConfig llama_config_from_gguf(const GgufFile& f) {
  LlamaConfig c;
  c.arch = f.get_string("general.architecture");
  if (c.arch != "llama" && c.arch != "mistral" && c.arch != "qwen2")
    fail_format(f.path(), "general.architecture", "'{}' is not a Llama-family architecture edgellm runs (llama, mistral, qwen2)", c.arch);
  const std::string a = c.arch + ".";
  c.name = f.get_string("general.name", "");
  c.dim = static_cast<int64_t>(f.get_u64(a + "embedding_length"));
  c.ffn_dim = static_cast<int64_t>(f.get_u64(a + "feed_forward_length"));
  c.n_layers = static_cast<int64_t>(f.get_u64(a + "block_count"));
  c.n_heads = static_cast<int64_t>(f.get_u64(a + "attention.head_count"));
  c.n_kv_heads = static_cast<int64_t>(f.get_u64(a + "attention.head_count_kv", static_cast<uint64_t>(c.n_heads)));
  EDGE_CHECK(c.n_heads > 0, "{}: {}attention.head_count is 0", f.path(), a);
  c.head_dim = static_cast<int64_t>(f.get_u64(a + "attention.key_length", static_cast<uint64_t>(c.dim / c.n_heads)));
  const int64_t rope_dims = static_cast<int64_t>(f.get_u64(a + "rope.dimension_count", static_cast<uint64_t>(c.head_dim)));
  if (rope_dims != c.head_dim)
    fail_format(f.path(), a + "rope.dimension_count", "partial rotary ({} of {} dims) is not supported", rope_dims, c.head_dim);
  c.max_ctx = static_cast<int64_t>(f.get_u64(a + "context_length", 2048));
  c.rms_eps = f.get_f32(a + "attention.layer_norm_rms_epsilon", 1e-5f);
  c.rope_theta = f.get_f32(a + "rope.freq_base", 10000.0f);
  const std::string scaling = f.get_string(a + "rope.scaling.type", "none");
  if (scaling == "linear") {
    c.rope_scaling = RopeScalingKind::Linear;
    c.rope_factor = f.get_f32(a + "rope.scaling.factor", 1.0f);
  } else if (scaling != "none") {
    fail_format(f.path(), a + "rope.scaling.type", "rope scaling '{}' is not supported", scaling);
  }
  c.rope_pairing = c.arch == "qwen2" ? RopePairing::NeoX : RopePairing::Interleaved;
  c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  if (const GgufArray* toks = f.find_array("tokenizer.ggml.tokens")) c.vocab = static_cast<int64_t>(toks->count);
  else if (const GgufTensorInfo* e = f.find_tensor("token_embd.weight")) c.vocab = e->shape[0];
  c.bos_id = f.get_i32("tokenizer.ggml.bos_token_id", 1);
  c.eos_id = f.get_i32("tokenizer.ggml.eos_token_id", 2);
  c.validate(f.path());
  return c;
}

LlamaModel load_llama_gguf(const GgufFile& f) {
  LlamaModel m;
  m.config = llama_config_from_gguf(f);
  m.source = f.path();
  m.keep.emplace_back(f.file());
  auto get = [&](const std::string& name) {
    Tensor t = f.tensor(name);
    t.name = name;
    return t;
  };
  auto opt = [&](const std::string& name) { return f.find_tensor(name) ? get(name) : Tensor(); };
  m.weights.tok_embd = get("token_embd.weight");
  m.weights.out_norm = get("output_norm.weight");
  m.weights.output = m.config.tied_embeddings ? m.weights.tok_embd : get("output.weight");
  for (int64_t l = 0; l < m.config.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LlamaLayer L;
    L.attn_norm = get(p + "attn_norm.weight");
    L.wq = get(p + "attn_q.weight");
    L.wk = get(p + "attn_k.weight");
    L.wv = get(p + "attn_v.weight");
    L.wo = get(p + "attn_output.weight");
    L.bq = opt(p + "attn_q.bias");
    L.bk = opt(p + "attn_k.bias");
    L.bv = opt(p + "attn_v.bias");
    L.ffn_norm = get(p + "ffn_norm.weight");
    L.w_gate = get(p + "ffn_gate.weight");
    L.w_up = get(p + "ffn_up.weight");
    L.w_down = get(p + "ffn_down.weight");
    m.weights.layers.push_back(std::move(L));
  }
  // Llama 3.1-style GGUFs store the rope scaling as per-frequency divisors.
  if (const GgufTensorInfo* rf = f.find_tensor("rope_freqs.weight")) {
    Tensor t = f.tensor(*rf);
    if (t.dtype() != DType::F32 || t.numel() != m.config.head_dim / 2)
      fail_format(f.path(), "rope_freqs.weight", "expected {} f32 values, got {} {}", m.config.head_dim / 2, t.numel(),
                  dtype_name(t.dtype()));
    m.config.rope_freq_factors.assign(t.data<float>(), t.data<float>() + t.numel());
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
