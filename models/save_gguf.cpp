// GGUF export: hyperparameters under `<arch>.*`, the tokenizer under tokenizer.ggml.*, tensors by
// GGUF names. A model whose RoPE pairs rotate-half dims (Hugging Face order) gets its Q/K rows
// permuted to llama.cpp's adjacent-pair order when written as `llama`.
#include "models/save_gguf.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "kernels/linear.h"
#include "models/file_type.h"
#include "kernels/quant/gint.h"
#include "kernels/quant_convert.h"
#include "runtime/error.h"
#include "runtime/gguf.h"

namespace edgellm {
namespace {

// HF row order (rotate-half) → llama.cpp's: within each head, HF row j → 2j and HD/2 + j → 2j + 1.
// Rows move whole, so any dtype (quantized too) is permuted without conversion.
Tensor permute_qk_rows(const Tensor& w, int64_t heads) {
  const Tensor src = w.contiguous();
  const int64_t rows = src.shape()[0], hd = rows / heads, half = hd / 2;
  const size_t rb = static_cast<size_t>(dtype_row_bytes(src.dtype(), src.shape().cols()));
  Tensor out = Tensor::empty(src.shape(), src.dtype());
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t j = 0; j < half; ++j) {
      std::memcpy(out.raw() + (h * hd + 2 * j) * rb, src.raw() + (h * hd + j) * rb, rb);
      std::memcpy(out.raw() + (h * hd + 2 * j + 1) * rb, src.raw() + (h * hd + half + j) * rb, rb);
    }
  out.in_perm = src.in_perm;  // columns do not move
  return out;
}

// Rows of same-dtype matrices one after another: llama.cpp's fused attn_qkv and Phi-3's gate-then-up ffn_up.
Tensor concat_rows(const std::vector<Tensor>& parts) {
  int64_t rows = 0;
  for (const Tensor& t : parts) {
    EDGE_CHECK(t.dtype() == parts[0].dtype() && t.shape().cols() == parts[0].shape().cols(),
               "fusing {} with {}: dtypes or widths differ", t.name, parts[0].name);
    EDGE_CHECK(!t.in_perm, "{}: a column order cannot be fused", t.name);
    rows += t.ndim() == 1 ? t.numel() : t.shape().rows();
  }
  const bool vec = parts[0].ndim() == 1;
  Tensor out = vec ? Tensor::empty({rows}, parts[0].dtype()) : Tensor::empty({rows, parts[0].shape().cols()}, parts[0].dtype());
  size_t at = 0;
  for (const Tensor& t : parts) {
    const Tensor c = t.contiguous();
    std::memcpy(out.raw() + at, c.raw(), c.nbytes());
    at += c.nbytes();
  }
  return out;
}

// The RoPE divisors llama.cpp's converter writes for Llama 3 scaling (rope_freqs.weight): unscaled / scaled
// inverse frequency, so that a reader dividing θ^(−2i/D) by them gets the scaled table back.
std::vector<float> llama3_freq_factors(const LlamaConfig& c) {
  LlamaConfig plain = c;
  plain.rope_scaling = RopeScalingKind::None;
  const std::vector<float> a = plain.rope_inv_freq(), b = c.rope_inv_freq();
  std::vector<float> f(a.size());
  for (size_t i = 0; i < a.size(); ++i) f[i] = static_cast<float>(static_cast<double>(a[i]) / static_cast<double>(b[i]));
  return f;
}

// The keys of the families beyond Llama (models/load_gguf.cpp reads them back).
void write_family_keys(GgufWriter& g, const LlamaConfig& c, const std::string& a, const std::string& path) {
  const BlockOptions& o = c.block;
  if (o.attn_softcap > 0) g.set_f32(a + "attn_logit_softcapping", static_cast<float>(o.attn_softcap));
  if (o.final_softcap > 0) g.set_f32(a + "final_logit_softcapping", static_cast<float>(o.final_softcap));
  if (o.query_scale > 0)
    g.set_f32(a + "attention.query_pre_attn_scalar", static_cast<float>(1.0 / (o.query_scale * o.query_scale)));
  if (o.sliding_window > 0) g.set_u32(a + "attention.sliding_window", static_cast<uint32_t>(o.sliding_window));
  if (!c.sliding_layers.empty()) {
    std::vector<bool> pattern;
    for (uint8_t x : c.sliding_layers) pattern.push_back(x != 0);
    g.set_array(a + "attention.sliding_window_pattern", GgufArray::of(pattern));
  }
  if (c.rope_theta_local > 0) g.set_f32(a + "rope.freq_base_swa", c.rope_theta_local);
  if (c.arch == "smollm3")  // llama.cpp has no key for it: a NoPE layer every 4th, nothing else
    for (int64_t l = 0; l < c.n_layers; ++l)
      if (c.layer_ropes(l) != ((l + 1) % 4 != 0))
        fail("{}: llama.cpp's smollm3 has no RoPE on every 4th layer exactly; this model's no_rope_layers differ at layer {}",
             path, l);
}

}  // namespace

std::string in_perm_name(const std::string& weight_name) {
  const std::string suffix = ".weight";
  const bool w = weight_name.size() > suffix.size() &&
                 weight_name.compare(weight_name.size() - suffix.size(), suffix.size(), suffix) == 0;
  return (w ? weight_name.substr(0, weight_name.size() - suffix.size()) : weight_name) + ".in_perm";
}

Tensor convert_matrix(const Tensor& src, DType t) {
  if (src.dtype() == t) return src;
  const Tensor f = dequantize(src);
  if (t == DType::F32) return f;
  if (t == DType::F16 || t == DType::BF16) return f.to(t);
  const int64_t rows = f.shape().rows(), cols = f.shape().cols();
  if (cols % dtype_info(t).block != 0) return f.to(DType::F16);
  Tensor out = Tensor::empty(f.shape(), t);
  const int64_t rb = dtype_row_bytes(t, cols);
  if (dtype_is_gint(t)) {  // asymmetric round-to-nearest per group
    const quant::GintParams p{gint_bits(t), gint_group(t)};
    for (int64_t r = 0; r < rows; ++r) quant::quantize_row_gint_ref(out.raw() + r * rb, f.data<float>() + r * cols, cols, p, false);
    return out;
  }
  for (int64_t r = 0; r < rows; ++r) quantize_row_to(t, out.raw() + r * rb, f.data<float>() + r * cols, cols);
  return out;
}

SaveGgufOptions file_type_options(const FileTypeInfo& ft, const LlamaConfig& c) {
  SaveGgufOptions o;
  o.tensor_type = [ft, c](const std::string& name, DType) { return file_type_tensor_type(ft, name, c); };
  o.file_type = ft.ftype;
  return o;
}

std::string save_llama_gguf_as(const Model& m, const std::string& path, const std::string& type, bool pure,
                               SaveGgufOptions opt) {
  const auto ft = file_type_from_name(type);
  if (ft && !pure) {
    SaveGgufOptions mix = file_type_options(*ft, m.llama.config);
    mix.metadata = opt.metadata;
    save_llama_gguf(m, path, ft->base, mix);
    return std::string(ft->name);
  }
  const DType t = ft ? ft->base : dtype_from_name(type);
  save_llama_gguf(m, path, t, opt);
  return fmt::format("{} (pure)", dtype_name(t));
}

void save_llama_gguf(const Model& m, const std::string& path, std::optional<DType> matrix_type,
                     const SaveGgufOptions& opt) {
  const LlamaConfig& c = m.llama.config;
  const LlamaWeights& w = m.llama.weights;
  for (const auto& L : w.layers)
    for (const auto& lp : L.lora)
      EDGE_CHECK(!lp.defined(), "{}: merge or drop the LoRA adapters before writing GGUF", path);
  GgufWriter g;
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool from_gguf = m.llama.source.size() > 5 &&
                         m.llama.source.substr(m.llama.source.size() - 5) == ".gguf" &&
                         fs::is_regular_file(m.llama.source, ec);
  if (from_gguf) {
    // Keys edgellm does not model (chat template, licence, ...) survive a round trip.
    GgufFile src = GgufFile::open(m.llama.source);
    for (const auto& [k, v] : src.metadata())
      if (k != "general.alignment" && k != "general.file_type") g.set(k, v);
  }
  const ArchInfo& info = arch_by_name(c.arch);
  const std::string arch = info.gguf;
  const std::string a = arch + ".";
  g.set_string("general.architecture", arch);
  if (!c.name.empty()) g.set_string("general.name", c.name);
  else if (!from_gguf) g.set_string("general.name", "edgellm");
  const DType dominant = matrix_type ? *matrix_type : w.layers.empty() ? w.output.dtype() : w.layers[0].w_up.dtype();
  // The label of what is written: the caller's file type (a mix), else the pure file's, else none (a file of
  // Q4_K is not Q4_K_M; group-int files have no llama.cpp file type, their tensor type ids are edgellm's own).
  if (const auto ft = opt.file_type ? opt.file_type : pure_file_type(dominant))
    g.set_u32("general.file_type", static_cast<uint32_t>(*ft));
  g.set_u32(a + "context_length", static_cast<uint32_t>(c.max_ctx));
  g.set_u32(a + "embedding_length", static_cast<uint32_t>(c.dim));
  g.set_u32(a + "block_count", static_cast<uint32_t>(c.n_layers));
  g.set_u32(a + "feed_forward_length", static_cast<uint32_t>(c.ffn_dim));
  g.set_u32(a + "attention.head_count", static_cast<uint32_t>(c.n_heads));
  g.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(c.n_kv_heads));
  g.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(c.rope_dims()));
  g.set_u32(a + "attention.key_length", static_cast<uint32_t>(c.head_dim));
  g.set_u32(a + "attention.value_length", static_cast<uint32_t>(c.head_dim));
  g.set_f32(a + "rope.freq_base", c.rope_theta);
  g.set_f32(a + (c.block.norm == NormKind::LayerNorm ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon"),
            c.rms_eps);
  write_family_keys(g, c, a, path);
  g.set_u32(a + "vocab_size", static_cast<uint32_t>(c.vocab));
  // RoPE scaling under llama.cpp's keys (rope.scaling.*); "dynamic" is edgellm's own (llama.cpp has no NTK-aware
  // type and refuses the file rather than run it unscaled).
  const std::string orig_key = a + "rope.scaling.original_context_length";
  switch (c.rope_scaling) {
    case RopeScalingKind::None:
    case RopeScalingKind::Llama3: break;  // rope_freqs.weight below
    case RopeScalingKind::Linear:
    case RopeScalingKind::Dynamic:
      g.set_string(a + "rope.scaling.type", c.rope_scaling == RopeScalingKind::Linear ? "linear" : "dynamic");
      g.set_f32(a + "rope.scaling.factor", c.rope_factor);
      break;
    case RopeScalingKind::Yarn: {
      if (!c.rope_yarn_truncate)
        fail("{}: yarn RoPE scaling with truncate = false has no GGUF key in llama.cpp; not written", path);
      g.set_string(a + "rope.scaling.type", "yarn");
      g.set_f32(a + "rope.scaling.factor", c.rope_factor);
      g.set_u32(orig_key, static_cast<uint32_t>(c.rope_orig_ctx));
      g.set_f32(a + "rope.scaling.yarn_beta_fast", c.rope_yarn_beta_fast);
      g.set_f32(a + "rope.scaling.yarn_beta_slow", c.rope_yarn_beta_slow);
      // llama.cpp's attn_factor multiplies its own magnitude 1 + 0.1·ln(factor) (load_gguf.cpp reads it back so).
      const double m = c.rope_factor > 1 ? 1 + 0.1 * std::log(static_cast<double>(c.rope_factor)) : 1.0;
      g.set_f32(a + "rope.scaling.attn_factor", static_cast<float>(c.rope_attn_factor / m));
      break;
    }
    case RopeScalingKind::LongRope:  // as llama.cpp's Phi-3 converter: the factors as tensors, below
      g.set_string(a + "rope.scaling.type", "longrope");
      g.set_u32(orig_key, static_cast<uint32_t>(c.rope_orig_ctx));
      g.set_f32(a + "rope.scaling.attn_factor", c.rope_attn_factor);
      break;
  }
  // Llama 3 scaling travels as llama.cpp's per-frequency divisors (a file loaded from GGUF already has them).
  const std::vector<float> freq_factors =
      c.rope_scaling == RopeScalingKind::Llama3 && c.rope_freq_factors.empty() ? llama3_freq_factors(c) : c.rope_freq_factors;

  // Tokenizer: the record the loaded tokenizer was built from, so llama.cpp sees the same vocabulary.
  const TokenizerVocab& v = m.tokenizer->vocab();
  g.set_string("tokenizer.ggml.model", v.model);
  g.set_string("tokenizer.ggml.pre", v.pre.empty() ? "default" : v.pre);
  g.set_array("tokenizer.ggml.tokens", GgufArray::of_strings(v.tokens));
  if (!v.scores.empty()) g.set_array("tokenizer.ggml.scores", GgufArray::of(v.scores));
  std::vector<int32_t> types = v.types;
  if (types.empty()) types.assign(v.tokens.size(), static_cast<int32_t>(TokenType::Normal));
  g.set_array("tokenizer.ggml.token_type", GgufArray::of(types));
  if (!v.merges.empty()) g.set_array("tokenizer.ggml.merges", GgufArray::of_strings(v.merges));
  auto set_id = [&](const char* key, int32_t id) {
    if (id >= 0) g.set_u32(key, static_cast<uint32_t>(id));
  };
  set_id("tokenizer.ggml.bos_token_id", v.bos_id);
  set_id("tokenizer.ggml.eos_token_id", v.eos_id);
  set_id("tokenizer.ggml.unknown_token_id", v.unk_id);
  set_id("tokenizer.ggml.padding_token_id", v.pad_id);
  g.set_bool("tokenizer.ggml.add_bos_token", m.tokenizer->add_bos_default());
  if (v.add_eos) g.set_bool("tokenizer.ggml.add_eos_token", *v.add_eos);
  if (v.add_space_prefix) g.set_bool("tokenizer.ggml.add_space_prefix", *v.add_space_prefix);

  std::vector<Tensor> keep;  // converted tensors must outlive write()
  auto add = [&](const std::string& name, const Tensor& t) {
    keep.push_back(t);
    g.add_tensor(name, keep.back());
    if (t.in_perm) {  // a group-int column order: "blk.N.attn_q.in_perm", I32 (K)
      const std::vector<int32_t>& perm = *t.in_perm;
      Tensor p = Tensor::empty({static_cast<int64_t>(perm.size())}, DType::I32);
      std::copy(perm.begin(), perm.end(), p.data<int32_t>());
      keep.push_back(p);
      g.add_tensor(in_perm_name(name), keep.back());
    }
  };
  // llama.cpp's GGUF of this family pairs adjacent dims: HF's rotate-half rows are permuted into that order.
  const bool permute = info.gguf_rope == RopePairing::Interleaved && c.rope_pairing == RopePairing::NeoX;
  auto conv = [&](const std::string& name, const Tensor& t) {
    const DType def = matrix_type ? *matrix_type : t.dtype();
    const DType want = opt.tensor_type ? opt.tensor_type(name, def) : def;
    return want == t.dtype() ? t.contiguous() : convert_matrix(t, want);
  };
  add("token_embd.weight", conv("token_embd.weight", w.tok_embd));
  if (!freq_factors.empty()) {
    Tensor f = Tensor::empty({static_cast<int64_t>(freq_factors.size())});
    std::copy(freq_factors.begin(), freq_factors.end(), f.data<float>());
    add("rope_freqs.weight", f);
  }
  if (c.rope_scaling == RopeScalingKind::LongRope)
    for (const auto* v : {&c.rope_long_factors, &c.rope_short_factors}) {
      Tensor f = Tensor::empty({static_cast<int64_t>(v->size())});
      std::copy(v->begin(), v->end(), f.data<float>());
      add(v == &c.rope_long_factors ? "rope_factors_long.weight" : "rope_factors_short.weight", f);
    }
  if (w.pos_embd.defined()) add("position_embd.weight", conv("position_embd.weight", w.pos_embd));
  const BlockOptions& o = c.block;
  // llama.cpp's phi3 and gpt2 read q, k, v as one attn_qkv, and phi3 its gate and up as one ffn_up.
  const bool fuse_qkv = o.fused_qkv || c.arch == "gpt2";
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LlamaLayer& L = w.layers[static_cast<size_t>(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_norm.weight", L.attn_norm);
    if (L.attn_norm_b.defined()) add(p + "attn_norm.bias", L.attn_norm_b);
    if (fuse_qkv) {
      add(p + "attn_qkv.weight", conv(p + "attn_qkv.weight", concat_rows({L.wq, L.wk, L.wv})));
      if (L.bq.defined()) add(p + "attn_qkv.bias", concat_rows({L.bq, L.bk, L.bv}));
    } else {
      add(p + "attn_q.weight", conv(p + "attn_q.weight", permute ? permute_qk_rows(L.wq, c.n_heads) : L.wq));
      add(p + "attn_k.weight", conv(p + "attn_k.weight", permute ? permute_qk_rows(L.wk, c.n_kv_heads) : L.wk));
      add(p + "attn_v.weight", conv(p + "attn_v.weight", L.wv));
      if (L.bq.defined()) {
        add(p + "attn_q.bias", L.bq);
        add(p + "attn_k.bias", L.bk);
        add(p + "attn_v.bias", L.bv);
      }
    }
    if (L.q_norm.defined()) {
      add(p + "attn_q_norm.weight", L.q_norm);
      add(p + "attn_k_norm.weight", L.k_norm);
    }
    add(p + "attn_output.weight", conv(p + "attn_output.weight", L.wo));
    if (L.bo.defined()) add(p + "attn_output.bias", L.bo);
    if (L.attn_post_norm.defined()) add(p + "post_attention_norm.weight", L.attn_post_norm);
    add(p + "ffn_norm.weight", L.ffn_norm);
    if (L.ffn_norm_b.defined()) add(p + "ffn_norm.bias", L.ffn_norm_b);
    if (o.fused_qkv) {
      add(p + "ffn_up.weight", conv(p + "ffn_up.weight", concat_rows({L.w_gate, L.w_up})));
    } else {
      if (L.w_gate.defined()) add(p + "ffn_gate.weight", conv(p + "ffn_gate.weight", L.w_gate));
      add(p + "ffn_up.weight", conv(p + "ffn_up.weight", L.w_up));
    }
    if (L.b_gate.defined()) add(p + "ffn_gate.bias", L.b_gate);
    if (L.b_up.defined()) add(p + "ffn_up.bias", L.b_up);
    add(p + "ffn_down.weight", conv(p + "ffn_down.weight", L.w_down));
    if (L.b_down.defined()) add(p + "ffn_down.bias", L.b_down);
    if (L.ffn_post_norm.defined()) add(p + "post_ffw_norm.weight", L.ffn_post_norm);
  }
  add("output_norm.weight", w.out_norm);
  if (w.out_norm_b.defined()) add("output_norm.bias", w.out_norm_b);
  if (!c.tied_embeddings) add("output.weight", conv("output.weight", w.output));
  if (opt.metadata) opt.metadata(g);
  g.write(path);
}

}  // namespace edgellm
