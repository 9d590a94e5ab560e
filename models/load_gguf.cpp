// GGUF → LlamaModel: hyperparameters from `<arch>.*` keys, tensors as mmapped views.
// llama/mistral GGUFs carry llama.cpp's Q/K row permutation, so RoPE pairs adjacent dims there.
#include <filesystem>

#include "models/load_model.h"
#include "models/save_gguf.h"
#include "runtime/error.h"
#include "runtime/gguf.h"

namespace edgellm {

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
  c.rope_pairing = info.gguf_rope;
  c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
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
