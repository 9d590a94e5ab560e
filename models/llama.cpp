// The Llama-family forward pass, read top to bottom: embed → N × block (models/block.h) → norm → logits.
// Not the training path (train/ keeps activations for backward); this one keeps only the KV cache.
#include "models/llama.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/linear.h"
#include "models/block.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm {

const char* peft_module_name(LinearKind k) {
  static const char* names[kNumLinearKinds] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return names[static_cast<int>(k)];
}

LinearKind linear_kind_from_peft(const std::string& name) {
  for (int i = 0; i < kNumLinearKinds; ++i)
    if (name == peft_module_name(static_cast<LinearKind>(i))) return static_cast<LinearKind>(i);
  fail("unknown target module '{}': expected q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj or down_proj", name.substr(0, 64));
}

const Tensor& LlamaLayer::weight(LinearKind k) const {
  switch (k) {
    case LinearKind::Q: return wq;
    case LinearKind::K: return wk;
    case LinearKind::V: return wv;
    case LinearKind::O: return wo;
    case LinearKind::Gate: return w_gate;
    case LinearKind::Up: return w_up;
    case LinearKind::Down: return w_down;
  }
  return wq;
}
Tensor& LlamaLayer::weight(LinearKind k) { return const_cast<Tensor&>(static_cast<const LlamaLayer*>(this)->weight(k)); }

const Tensor& LlamaLayer::bias(LinearKind k) const {
  static const Tensor none;
  switch (k) {
    case LinearKind::Q: return bq;
    case LinearKind::K: return bk;
    case LinearKind::V: return bv;
    case LinearKind::O: return bo;
    case LinearKind::Gate: return b_gate;
    case LinearKind::Up: return b_up;
    case LinearKind::Down: return b_down;
  }
  return none;
}

Tensor& LlamaLayer::bias(LinearKind k) { return const_cast<Tensor&>(static_cast<const LlamaLayer*>(this)->bias(k)); }

std::vector<const Tensor*> LlamaLayer::small_tensors() const {
  return {&attn_norm, &attn_norm_b, &bq,     &bk,     &bv,         &bo,          &ffn_norm,
          &ffn_norm_b, &b_gate,     &b_up,   &b_down, &attn_post_norm, &ffn_post_norm, &q_norm, &k_norm};
}

void linear_with_lora(float* y, const float* x, const Tensor& W, const Tensor& bias, const LoraPair& lora, int64_t M,
                      bool exact) {
  linear_forward(y, x, W, bias.defined() ? bias.data<float>() : nullptr, M, exact ? QuantMath::Exact : QuantMath::Fast);
  if (!lora.defined()) return;
  const int64_t r = lora.A.shape()[0], N = W.shape().rows();
  Tensor u = Tensor::empty({M, r}), delta = Tensor::empty({M, N});
  linear_forward(u.data<float>(), x, lora.A, nullptr, M);
  linear_forward(delta.data<float>(), u.data<float>(), lora.B, nullptr, M);
  const auto& k = kernels();
  k.scale_backward(y, delta.data<float>(), lora.scale, M * N);  // y += scale · delta
}

void LlamaModel::validate() const {
  const LlamaConfig& c = config;
  const BlockOptions& o = c.block;
  auto check = [&](const Tensor& t, const std::string& name, Shape want) {
    if (!t.defined()) fail_format(source, name, "required tensor is missing");
    if (t.shape() != want)
      fail_format(source, name, "shape {} disagrees with the hyperparameters, which need {}", t.shape().str(),
                  want.str());
  };
  auto f32 = [&](const Tensor& t, const std::string& name) {
    if (t.defined() && t.dtype() != DType::F32)
      fail_format(source, name, "norms and biases must be f32, got {}", dtype_name(t.dtype()));
  };
  check(weights.tok_embd, "token_embd.weight", {c.vocab, c.dim});
  check(weights.out_norm, "output_norm.weight", {c.dim});
  check(weights.output, "output.weight", {c.vocab, c.dim});
  if (o.norm_bias) check(weights.out_norm_b, "output_norm.bias", {c.dim});
  if (o.positions == PositionKind::Learned) check(weights.pos_embd, "position_embd.weight", {c.max_ctx, c.dim});
  EDGE_CHECK(static_cast<int64_t>(weights.layers.size()) == c.n_layers, "{}: {} layers loaded, config says {}",
             source, weights.layers.size(), c.n_layers);
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const LlamaLayer& L = weights.layers[static_cast<size_t>(i)];
    const std::string p = "blk." + std::to_string(i) + ".";
    check(L.attn_norm, p + "attn_norm.weight", {c.dim});
    check(L.wq, p + "attn_q.weight", {c.q_dim(), c.dim});
    check(L.wk, p + "attn_k.weight", {c.kv_dim(), c.dim});
    check(L.wv, p + "attn_v.weight", {c.kv_dim(), c.dim});
    check(L.wo, p + "attn_output.weight", {c.dim, c.q_dim()});
    check(L.ffn_norm, p + "ffn_norm.weight", {c.dim});
    if (o.mlp != MlpKind::Gelu) check(L.w_gate, p + "ffn_gate.weight", {c.ffn_dim, c.dim});
    check(L.w_up, p + "ffn_up.weight", {c.ffn_dim, c.dim});
    check(L.w_down, p + "ffn_down.weight", {c.dim, c.ffn_dim});
    if (c.qkv_bias) {
      check(L.bq, p + "attn_q.bias", {c.q_dim()});
      check(L.bk, p + "attn_k.bias", {c.kv_dim()});
      check(L.bv, p + "attn_v.bias", {c.kv_dim()});
    }
    if (o.o_bias) check(L.bo, p + "attn_output.bias", {c.dim});
    if (o.mlp_bias) {
      if (o.mlp != MlpKind::Gelu) check(L.b_gate, p + "ffn_gate.bias", {c.ffn_dim});
      check(L.b_up, p + "ffn_up.bias", {c.ffn_dim});
      check(L.b_down, p + "ffn_down.bias", {c.dim});
    }
    if (o.norm_bias) {
      check(L.attn_norm_b, p + "attn_norm.bias", {c.dim});
      check(L.ffn_norm_b, p + "ffn_norm.bias", {c.dim});
    }
    if (o.post_norms) {
      check(L.attn_post_norm, p + "post_attention_norm.weight", {c.dim});
      check(L.ffn_post_norm, p + "post_ffw_norm.weight", {c.dim});
    }
    if (o.qk_norm) {
      check(L.q_norm, p + "attn_q_norm.weight", {c.head_dim});
      check(L.k_norm, p + "attn_k_norm.weight", {c.head_dim});
    }
    for (const Tensor* t : L.small_tensors()) f32(*t, t->name);
  }
  f32(weights.out_norm, "output_norm.weight");
  f32(weights.out_norm_b, "output_norm.bias");
}

int64_t LlamaModel::n_params() const {
  auto numel = [](const Tensor& t) { return t.defined() ? t.numel() : 0; };
  int64_t n = numel(weights.tok_embd) + numel(weights.out_norm) + numel(weights.out_norm_b) + numel(weights.pos_embd);
  if (!config.tied_embeddings) n += numel(weights.output);
  for (const auto& L : weights.layers) {
    for (int k = 0; k < kNumLinearKinds; ++k) n += numel(L.weight(static_cast<LinearKind>(k)));
    for (const Tensor* t : L.small_tensors()) n += numel(*t);
  }
  return n;
}

size_t LlamaModel::weight_bytes() const {
  auto bytes = [](const Tensor& t) { return t.defined() ? t.nbytes() : size_t{0}; };
  size_t n = bytes(weights.tok_embd) + bytes(weights.out_norm) + bytes(weights.out_norm_b) + bytes(weights.pos_embd);
  if (!config.tied_embeddings) n += bytes(weights.output);
  for (const auto& L : weights.layers) {
    for (int k = 0; k < kNumLinearKinds; ++k) n += bytes(L.weight(static_cast<LinearKind>(k)));
    for (const Tensor* t : L.small_tensors()) n += bytes(*t);
  }
  return n;
}

KvCache::KvCache(const LlamaConfig& c, int64_t cap, MemoryArena* arena) : capacity(cap) {
  EDGE_CHECK(cap > 0, "KV cache capacity must be positive, got {}", cap);
  k = Tensor::empty({c.n_layers, cap, c.n_kv_heads, c.head_dim}, DType::F32, arena);
  v = Tensor::empty({c.n_layers, cap, c.n_kv_heads, c.head_dim}, DType::F32, arena);
}

void rope_tables(const LlamaConfig& c, int64_t pos0, int64_t T, float* cos, float* sin, bool local) {
  // The frequencies of a call reaching position pos0 + T (dynamic and longrope depend on it, as in transformers).
  const std::vector<float> inv = c.rope_inv_freq(local, pos0 + T);
  const float scale = c.rope_attention_factor(local);  // yarn, longrope: transformers' attention_scaling
  const int64_t half = c.rope_dims() / 2;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < half; ++i) {
      // In f32, as Hugging Face computes position × inv_freq.
      const float ang = static_cast<float>(pos0 + t) * inv[static_cast<size_t>(i)];
      cos[t * half + i] = std::cos(ang) * scale;
      sin[t * half + i] = std::sin(ang) * scale;
    }
}

void embed_tokens(const LlamaModel& m, const int32_t* ids, int64_t T, int64_t pos0, float* x) {
  const LlamaConfig& c = m.config;
  const int64_t C = c.dim;
  const auto& k = kernels();
  for (int64_t t = 0; t < T; ++t) dequantize_row(x + t * C, m.weights.tok_embd, ids[t]);
  if (c.block.embed_scale)  // Hugging Face rounds √C to the activations' dtype first
    k.scale_forward(x, x, static_cast<float>(std::sqrt(static_cast<double>(C))), T * C);
  if (c.block.positions == PositionKind::Learned) {
    std::vector<float> row(static_cast<size_t>(C));
    for (int64_t t = 0; t < T; ++t) {
      dequantize_row(row.data(), m.weights.pos_embd, pos0 + t);
      k.add_forward(x + t * C, x + t * C, row.data(), C);
    }
  }
}

void llama_forward(const LlamaModel& m, KvCache& cache, const int32_t* ids, int64_t T, float* logits,
                   bool all_logits, const ActivationObserver* observer) {
  const LlamaConfig& c = m.config;
  const auto& k = kernels();
  const int64_t C = c.dim, F = c.ffn_dim, V = c.vocab, NH = c.n_heads, KVH = c.n_kv_heads, HD = c.head_dim;
  const int64_t pos0 = cache.len;
  if (T <= 0) return;
  if (pos0 + T > cache.capacity)
    fail("context full: {} cached + {} new tokens exceed the KV cache's {} positions", pos0, T, cache.capacity);
  for (int64_t t = 0; t < T; ++t)
    if (ids[t] < 0 || ids[t] >= V) fail("token id {} at position {} is outside the vocabulary of {}", ids[t], t, V);
  if (c.block.positions == PositionKind::Learned && pos0 + T > c.max_ctx)
    fail("{} positions exceed the {} learned position embeddings", pos0 + T, c.max_ctx);
  if (m.backend) {
    if (observer) fail("activation observers need the CPU forward; the model runs on {}", m.backend->name());
    m.backend->forward(m, cache, ids, T, logits, all_logits);
    return;
  }

  // Activations for this call only: (T, ·). The block runs in place on x; h is gate.
  const int64_t half = c.rope_dims() / 2;
  Tensor x = Tensor::empty({T, C}), xn = Tensor::empty({T, C});
  Tensor q = Tensor::empty({T, NH * HD}), att = Tensor::empty({T, NH * HD});
  Tensor gate = Tensor::empty({T, F}), up = Tensor::empty({T, F});
  Tensor tmp = Tensor::empty({T, C});
  Tensor cosb = Tensor::empty({T, half}), sinb = Tensor::empty({T, half});
  Tensor lse = Tensor::empty({T, NH});
  float *xp = x.data<float>(), *xnp = xn.data<float>();
  rope_tables(c, pos0, T, cosb.data<float>(), sinb.data<float>());
  Tensor cosl, sinl;  // the sliding layers' own base (Gemma 3)
  if (c.rope_theta_local > 0) {
    cosl = Tensor::empty({T, half});
    sinl = Tensor::empty({T, half});
    rope_tables(c, pos0, T, cosl.data<float>(), sinl.data<float>(), true);
  }

  // ---- embed: token rows, × √C (Gemma), + learned positions (GPT-2) ----
  embed_tokens(m, ids, T, pos0, xp);
  if (observer) (*observer)("embed", xp, T, C);

  const int64_t kv_row = KVH * HD;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    // Keys and values of the new tokens go straight into the cache: (T, KVH, HD) at pos0.
    float* kc = cache.k.data<float>() + (l * cache.capacity) * kv_row;
    float* vc = cache.v.data<float>() + (l * cache.capacity) * kv_row;
    CpuBlockOps ops{c, m.weights.layers[static_cast<size_t>(l)], 1, T, pos0, cosb.data<float>(), sinb.data<float>(),
                    kc, vc, QuantMath::Fast};
    ops.layer = l;
    if (cosl.defined()) {
      ops.cos_local = cosl.data<float>();
      ops.sin_local = sinl.data<float>();
    }
    // The family steps run in place too: q, k before QK-norm are q, k; the outputs before post-norms are tmp.
    BlockBuffers<float*> a{xp, xp, xp, xnp, nullptr, q.data<float>(), kc + pos0 * kv_row, vc + pos0 * kv_row,
                           att.data<float>(), lse.data<float>(), xnp, nullptr, gate.data<float>(), up.data<float>(),
                           gate.data<float>(), tmp.data<float>(), q.data<float>(), kc + pos0 * kv_row, nullptr, nullptr,
                           tmp.data<float>(), nullptr, tmp.data<float>(), nullptr};
    block_forward(ops, c, a, T);
    if (observer) (*observer)("layer" + std::to_string(l) + "_out", xp, T, C);
  }
  cache.len = pos0 + T;

  // ---- head: final norm, logits, soft-cap (Gemma 2) ----
  if (c.block.norm == NormKind::LayerNorm)
    k.layernorm_forward(xnp, nullptr, xp, m.weights.out_norm.data<float>(), m.weights.out_norm_b.data<float>(), T, C,
                        c.rms_eps);
  else
    k.rmsnorm_forward(xnp, nullptr, xp, m.weights.out_norm.data<float>(), T, C, c.rms_eps);
  if (observer) (*observer)("final_norm_out", xnp, T, C);
  const int64_t rows = all_logits ? T : 1;
  linear_forward(logits, all_logits ? xnp : xnp + (T - 1) * C, m.weights.output, nullptr, rows);
  if (c.block.final_softcap > 0) k.softcap_forward(logits, logits, static_cast<float>(c.block.final_softcap), rows * V);
}

}  // namespace edgellm
