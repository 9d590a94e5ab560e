// The CPU ops of the transformer block (models/block.h), each forward beside its backward, and their buffers:
// each op one kernel call, with the batch layout (sequences, KV cache or not) and LoRA dropout handled here so
// that the block's sequence stays one. Not the sequence itself (block.h), not the model around it (models/, train/, quant/).
#include "models/block.h"

#include <algorithm>
#include <vector>

#include "kernels/attention.h"
#include "kernels/kernel_table.h"
#include "runtime/error.h"

namespace edgellm {
namespace {

// LoRA dropout: a Bernoulli(keep) mask from a hash of (key, element), so that the backward regenerates the
// forward's mask instead of storing it.
inline bool keep_element(uint64_t key, int64_t i, float p_drop) {
  uint64_t z = key + static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53 >= p_drop;
}

}  // namespace

void check_block_positions(const LlamaConfig& c, int64_t positions) {
  if (c.block.sliding_window > 0 && positions > c.block.sliding_window)
    fail("{} positions exceed the model's sliding_window of {}; attention beyond the window is not implemented here",
         positions, c.block.sliding_window);
}

void refuse_family_options(const LlamaConfig& c, const std::string& who) {
  for (const OptionAsked& x : options_beyond_llama(c.block, "model_type"))
    fail("{} model{}: {} (config field '{}') is not implemented by {}", c.arch, c.name.empty() ? "" : " '" + c.name + "'",
         x.what, x.field, who);
}

namespace {
// Layer-dependent options need the walk to say which layer it is (CpuBlockOps::layer).
int64_t layer_of(const CpuBlockOps& o, const char* what) {
  if (o.layer < 0 && (!o.c.sliding_layers.empty() || !o.c.rope_layers.empty() || o.c.rope_theta_local > 0))
    fail("{}: this walk does not name its layer, so the per-layer {} of '{}' cannot be applied", what, what, o.c.arch);
  return o.layer < 0 ? 0 : o.layer;
}
}  // namespace

void check_block_backward(const LlamaConfig& c, bool family_ops) {
  // Every option of models/arch.h has its mirror step in block_backward (or, outside the block, in
  // train/llama_grad.cpp); a backend without the family steps refuses them all, by their config field.
  if (family_ops) return;
  const BlockOptions& o = c.block;
  const char* field = o.norm != NormKind::RmsNorm ? "norm"
                      : o.norm_bias               ? "norm_bias"
                      : o.norm_plus_one           ? "norm_plus_one"
                      : o.post_norms              ? "post_norms"
                      : o.qk_norm                 ? "qk_norm"
                      : o.o_bias                  ? "o_bias"
                      : o.mlp_bias                ? "mlp_bias"
                      : o.mlp != MlpKind::SwiGlu  ? "mlp"
                      : o.positions != PositionKind::Rope ? "positions"
                      : o.partial_rotary != 1.0   ? "partial_rotary"
                      : o.rope_skipped_layers     ? "rope_skipped_layers"
                      : o.two_rope_bases          ? "two_rope_bases"
                      : o.attn_softcap != 0       ? "attn_softcap"
                      : o.final_softcap != 0      ? "final_softcap"
                      : o.query_scale != 0        ? "query_scale"
                      : o.embed_scale             ? "embed_scale"
                                                  : nullptr;
  if (field)
    fail("training {} ({}): this backend's block backward does not implement its option block.{}", c.name, c.arch, field);
}

namespace {
// The weight and (LayerNorm) bias of a norm of the layer, by its place.
std::pair<const Tensor*, const Tensor*> norm_weights(const LlamaLayer& L, BlockNorm which) {
  switch (which) {
    case BlockNorm::Attn: return {&L.attn_norm, &L.attn_norm_b};
    case BlockNorm::Ffn: return {&L.ffn_norm, &L.ffn_norm_b};
    case BlockNorm::AttnPost: return {&L.attn_post_norm, nullptr};
    case BlockNorm::FfnPost: return {&L.ffn_post_norm, nullptr};
    case BlockNorm::Q: return {&L.q_norm, nullptr};
    case BlockNorm::K: return {&L.k_norm, nullptr};
  }
  return {nullptr, nullptr};
}
}  // namespace

void CpuBlockOps::norm(float* y, float* rstd, const float* x, BlockNorm which, int64_t rows) const {
  if (which == BlockNorm::Q || which == BlockNorm::K) fail("norm: {} is a per-head norm (head_norm)", static_cast<int>(which));
  const auto [w, b] = norm_weights(L, which);
  // Gemma's post-norms are RMSNorms like its others; only GPT-2's (Attn, Ffn) are LayerNorms.
  if (c.block.norm == NormKind::LayerNorm)
    kernels().layernorm_forward(y, rstd, x, w->data<float>(), b->data<float>(), rows, c.dim, c.rms_eps);
  else
    kernels().rmsnorm_forward(y, rstd, x, w->data<float>(), rows, c.dim, c.rms_eps);
}

// RMSNorm: dx += r·w∘dy − (r³/C)·x·Σ dy∘w∘x, dw += Σ_rows dy∘x·r; LayerNorm the same on x − mean, plus
// the mean's share, and db += Σ_rows dy. Norm weights are stored as the factor applied (Gemma's 1 + w), so
// this gradient is also that of Hugging Face's w.
void CpuBlockOps::norm_backward(float* dx, const float* dy, const float* x, const float* rstd, BlockNorm which,
                                int64_t rows) const {
  const auto [w, b] = norm_weights(L, which);
  const int i = static_cast<int>(which);
  float* dw = grads ? grads->norm[i] : nullptr;
  std::vector<float> scratch;  // a frozen norm's weight (and bias) gradient, formed by the kernel and dropped
  if (!dw) scratch.assign(static_cast<size_t>(2 * c.dim), 0.0f), dw = scratch.data();
  if (c.block.norm == NormKind::LayerNorm) {
    float* db = grads && i < 2 ? grads->norm_b[i] : nullptr;
    if (!db) scratch.resize(static_cast<size_t>(2 * c.dim)), db = scratch.data() + c.dim;
    kernels().layernorm_backward(dx, dw, db, dy, x, w->data<float>(), rstd, rows, c.dim);
    return;
  }
  kernels().rmsnorm_backward(dx, dw, dy, x, w->data<float>(), rstd, rows, c.dim);
}

void CpuBlockOps::head_norm(float* y, float* rstd, const float* x, BlockNorm which, int64_t heads, int64_t rows) const {
  // Each (token, head) row of head_dim values is one RMSNorm row, with the weight shared by the heads.
  const Tensor& w = *norm_weights(L, which).first;
  kernels().rmsnorm_forward(y, rstd, x, w.data<float>(), rows * heads, c.head_dim, c.rms_eps);
}

void CpuBlockOps::head_norm_backward(float* dx, const float* dy, const float* x, const float* rstd, BlockNorm which,
                                     int64_t heads, int64_t rows) const {
  const Tensor& w = *norm_weights(L, which).first;
  float* dw = grads ? grads->norm[static_cast<int>(which)] : nullptr;
  std::vector<float> scratch;
  if (!dw) scratch.assign(static_cast<size_t>(c.head_dim), 0.0f), dw = scratch.data();
  kernels().rmsnorm_backward(dx, dw, dy, x, w.data<float>(), rstd, rows * heads, c.head_dim);
}

const float* CpuBlockOps::dropped(const float* x, LinearKind kind, int64_t n, Tensor& keep) const {
  const LoraPair& lp = L.lora[static_cast<int>(kind)];
  if (lora_dropout <= 0 || !lp.defined()) return x;
  const uint64_t key = dropout_key * 8 + static_cast<uint64_t>(lp.dropout_as >= 0 ? lp.dropout_as : static_cast<int>(kind));
  const float inv_keep = 1.0f / (1.0f - lora_dropout);
  keep = Tensor::empty({n});
  float* d = keep.data<float>();
  for (int64_t i = 0; i < n; ++i) d[i] = keep_element(key, i, lora_dropout) ? x[i] * inv_keep : 0.0f;
  return d;
}

// y = x·Wᵀ + b + s·(drop(x)·Aᵀ)·Bᵀ
void CpuBlockOps::linear(float* y, const float* x, LinearKind kind, int64_t rows) const {
  const int kk = static_cast<int>(kind);
  const LoraPair& lp = L.lora[kk];
  if (!lp.defined() || lora_dropout <= 0)
    return linear_with_lora(y, x, L.weight(kind), L.bias(kind), lp, rows, math == QuantMath::Exact);
  const Tensor& W = L.weight(kind);
  linear_forward(y, x, W, L.bias(kind).defined() ? L.bias(kind).data<float>() : nullptr, rows, math);
  const int64_t in = W.shape().cols(), out = W.shape().rows(), r = lp.A.shape()[0];
  Tensor keep, u = Tensor::empty({rows, r}), d = Tensor::empty({rows, out});
  const float* xd = dropped(x, kind, rows * in, keep);
  linear_forward(u.data<float>(), xd, lp.A, nullptr, rows);
  linear_forward(d.data<float>(), u.data<float>(), lp.B, nullptr, rows);
  kernels().scale_backward(y, d.data<float>(), lp.scale, rows * out);  // y += s·d
}

// dx = dy·W (+ dx) + drop'(du·A); dW += dyᵀ·x; db += Σ_rows dy; with u = drop(x)·Aᵀ: dB += s·dyᵀ·u, du = s·dy·B,
// dA += duᵀ·drop(x). dx null: the input gradient is not formed (the weight gradients still are).
void CpuBlockOps::linear_backward(float* dx, const float* dy, const float* x, LinearKind kind, int64_t rows,
                                  bool accumulate) const {
  const int kk = static_cast<int>(kind);
  const Tensor& W = L.weight(kind);
  const int64_t out = W.shape().rows(), in = W.shape().cols();
  if (dx) linear_backward_input(dx, dy, W, rows, accumulate);
  if (grads && grads->w[kk]) linear_backward_weight(grads->w[kk], dy, x, rows, out, in);
  if (grads && grads->bias[kk])
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t n = 0; n < out; ++n) grads->bias[kk][n] += dy[r * out + n];
  const LoraPair& lp = L.lora[kk];
  if (!lp.defined()) return;
  const auto& k = kernels();
  const int64_t r = lp.A.shape()[0];
  Tensor keep;
  const float* xd = dropped(x, kind, rows * in, keep);
  Tensor u = Tensor::empty({rows, r}), dys = Tensor::empty({rows, out}), du = Tensor::zeros({rows, r});
  linear_forward(u.data<float>(), xd, lp.A, nullptr, rows);
  k.scale_forward(dys.data<float>(), dy, lp.scale, rows * out);
  if (grads && grads->lora_b[kk]) linear_backward_weight(grads->lora_b[kk], dys.data<float>(), u.data<float>(), rows, out, r);
  linear_backward_input(du.data<float>(), dys.data<float>(), lp.B, rows);
  if (grads && grads->lora_a[kk]) linear_backward_weight(grads->lora_a[kk], du.data<float>(), xd, rows, r, in);
  if (!dx) return;
  if (lora_dropout <= 0) return linear_backward_input(dx, du.data<float>(), lp.A, rows);
  Tensor dxd = Tensor::zeros({rows, in});
  linear_backward_input(dxd.data<float>(), du.data<float>(), lp.A, rows);
  const uint64_t key = dropout_key * 8 + static_cast<uint64_t>(lp.dropout_as >= 0 ? lp.dropout_as : kk);
  const float inv_keep = 1.0f / (1.0f - lora_dropout);
  for (int64_t i = 0; i < rows * in; ++i)
    if (keep_element(key, i, lora_dropout)) dx[i] += dxd.data<float>()[i] * inv_keep;
}

// The rope of layer l as (tables, rotated dims), or no tables on a layer without RoPE.
namespace {
struct LayerRope {
  const float *cos = nullptr, *sin = nullptr;
  int64_t D = 0;
};
LayerRope layer_rope(const CpuBlockOps& o) {
  const int64_t l = layer_of(o, "RoPE");
  if (!o.c.layer_ropes(l)) return {};  // learned positions (GPT-2) or a NoPE layer (SmolLM3)
  const bool local = o.c.layer_local_rope(l);
  LayerRope r{local ? o.cos_local : o.cos, local ? o.sin_local : o.sin, o.c.rope_dims()};
  EDGE_CHECK(r.cos && r.sin, "rope: layer {} needs the {} RoPE tables, which this walk lacks", l, local ? "local" : "global");
  return r;
}
}  // namespace

void CpuBlockOps::rope(float* p, int64_t heads) const {
  const LayerRope r = layer_rope(*this);
  if (!r.cos) return;
  const int64_t HD = c.head_dim, D = r.D;
  if (D == HD) {
    for (int64_t b = 0; b < B; ++b)  // each sequence starts at pos0
      kernels().rope_forward(p + b * T * heads * HD, p + b * T * heads * HD, r.cos, r.sin, T, heads, HD, c.rope_pairing);
    return;
  }
  // Partial rotary (Phi-3): the first D dims of each head rotate as a head of D, the rest pass through. The
  // kernel takes contiguous heads, so each (token, head) goes alone, its table row that of its token.
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        float* x = p + ((b * T + t) * heads + h) * HD;
        kernels().rope_forward(x, x, r.cos + t * (D / 2), r.sin + t * (D / 2), 1, 1, D, c.rope_pairing);
      }
}

// rope is a rotation of the first D dims of each head: ∂/∂(pre-rope) += Rᵀ·∂/∂(post-rope) there, and the
// identity's ∂ on the dims it leaves alone (all of them on a layer without RoPE).
void CpuBlockOps::rope_backward(float* dp, const float* dp_rot, int64_t heads) const {
  const LayerRope r = layer_rope(*this);
  const int64_t HD = c.head_dim, D = r.D, n = B * T * heads * HD;
  if (!r.cos) return kernels().add_forward(dp, dp, dp_rot, n);
  if (D == HD) {
    for (int64_t b = 0; b < B; ++b)
      kernels().rope_backward(dp + b * T * heads * HD, dp_rot + b * T * heads * HD, r.cos, r.sin, T, heads, HD,
                              c.rope_pairing);
    return;
  }
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t at = ((b * T + t) * heads + h) * HD;
        kernels().rope_backward(dp + at, dp_rot + at, r.cos + t * (D / 2), r.sin + t * (D / 2), 1, 1, D, c.rope_pairing);
        kernels().add_forward(dp + at + D, dp + at + D, dp_rot + at + D, HD - D);
      }
}

// The layer's attention: its window (a window no wider than the keys changes nothing, and is left off),
// scale and soft-cap, for T queries after pos0 cached positions.
static AttentionDims layer_attention(const CpuBlockOps& o, int64_t pos0) {
  AttentionDims d = attention_dims(o.T, o.c.n_heads, o.c.n_kv_heads, o.c.head_dim, pos0);
  const int64_t l = layer_of(o, "sliding window");
  if (o.c.layer_slides(l) && d.pos0 + o.T > o.c.block.sliding_window) d.window = o.c.block.sliding_window;
  d.softcap = o.c.block.attn_softcap;
  if (o.c.block.query_scale > 0) d.scale = o.c.block.query_scale;
  return d;
}

void CpuBlockOps::attention(float* o, float* lse, const float* q, const float* k, const float* v) const {
  const int64_t NH = c.n_heads, KVH = c.n_kv_heads, HD = c.head_dim;
  // o = softmax(q·kᵀ/√HD + causal mask)·v over the sequence's keys (the cache's when there is one).
  const AttentionDims d = layer_attention(*this, k_cache ? pos0 : 0);
  EDGE_CHECK(!k_cache || B == 1, "a KV cache holds one sequence, got B={}", B);
  for (int64_t b = 0; b < B; ++b)
    attention_forward(o + b * T * NH * HD, lse ? lse + b * T * NH : nullptr, q + b * T * NH * HD,
                      k_cache ? k_cache : k + b * T * KVH * HD, v_cache ? v_cache : v + b * T * KVH * HD, d);
}

// dq, dk, dv += each sequence's attention gradient, the softmax recomputed from q, k and the forward's lse.
void CpuBlockOps::attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                                     const float* k, const float* v, const float* o, const float* lse) const {
  const int64_t NH = c.n_heads, KVH = c.n_kv_heads, HD = c.head_dim;
  EDGE_CHECK(!k_cache && pos0 == 0, "the block's backward runs on whole sequences from position 0, not a KV cache");
  const AttentionDims d = layer_attention(*this, 0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t qo = b * T * NH * HD, ko = b * T * KVH * HD;
    edgellm::attention_backward(dq + qo, dk + ko, dv + ko, dout + qo, q + qo, k + ko, v + ko, o + qo, lse + b * T * NH, d);
  }
}

void CpuBlockOps::add(float* y, const float* a, const float* b, int64_t n) const { kernels().add_forward(y, a, b, n); }

void CpuBlockOps::glu(float* h, const float* gate, const float* up, int64_t n) const {
  if (c.block.mlp == MlpKind::GeluTanhGlu) {  // GeGLU: tanh-GELU(gate) · up
    kernels().gelu_forward(h, gate, n);
    kernels().mul_forward(h, h, up, n);
    return;
  }
  kernels().swiglu_forward(h, gate, up, n);
}

void CpuBlockOps::act(float* h, const float* up, int64_t n) const { kernels().gelu_forward(h, up, n); }
void CpuBlockOps::act_backward(float* dup, const float* dh, const float* up, int64_t n) const {
  kernels().gelu_backward(dup, dh, up, n);
}

// SwiGLU's kernel; GeGLU h = gelu(gate)·up: dup += dh·gelu(gate), dgate += gelu'(gate)·(dh·up).
void CpuBlockOps::glu_backward(float* dgate, float* dup, const float* dh, const float* gate, const float* up,
                               int64_t n) const {
  if (c.block.mlp != MlpKind::GeluTanhGlu) return kernels().swiglu_backward(dgate, dup, dh, gate, up, n);
  const auto& k = kernels();
  std::vector<float> act(static_cast<size_t>(n)), dact(static_cast<size_t>(n), 0.0f);
  k.gelu_forward(act.data(), gate, n);
  k.mul_backward(dact.data(), dup, dh, act.data(), up, n);  // d(act·up): dact += dh·up, dup += dh·act
  k.gelu_backward(dgate, dact.data(), gate, n);
}

void CpuBlockOps::zero(float* p, int64_t n) const { std::fill(p, p + n, 0.0f); }

void BlockActs::allocate(const LlamaConfig& c, int64_t R) {
  if (xn1.defined() && xn1.dim(0) == R) return;
  x_mid = Tensor::empty({R, c.dim});
  xn1 = Tensor::empty({R, c.dim});
  rstd1 = Tensor::empty({R});
  q = Tensor::empty({R, c.q_dim()});
  k = Tensor::empty({R, c.kv_dim()});
  v = Tensor::empty({R, c.kv_dim()});
  att = Tensor::empty({R, c.q_dim()});
  lse = Tensor::empty({R, c.n_heads});
  xn2 = Tensor::empty({R, c.dim});
  rstd2 = Tensor::empty({R});
  gate = Tensor::empty({R, c.ffn_dim});
  up = Tensor::empty({R, c.ffn_dim});
  h = Tensor::empty({R, c.ffn_dim});
  tmp = Tensor::empty({R, c.dim});
  if (c.block.qk_norm) {
    qr = Tensor::empty({R, c.q_dim()});
    kr = Tensor::empty({R, c.kv_dim()});
    rstd_q = Tensor::empty({R * c.n_heads});
    rstd_k = Tensor::empty({R * c.n_kv_heads});
  }
  if (c.block.post_norms) {
    o_pre = Tensor::empty({R, c.dim});
    rstd_op = Tensor::empty({R});
    d_pre = Tensor::empty({R, c.dim});
    rstd_dp = Tensor::empty({R});
  }
}

BlockBuffers<float*> BlockActs::buffers(float* x_in, float* x_out) {
  auto p = [](Tensor& t) { return t.defined() ? t.data<float>() : nullptr; };
  return {x_in,   p(x_mid), x_out,     p(xn1),    p(rstd1), p(q),     p(k),       p(v),
          p(att), p(lse),   p(xn2),    p(rstd2),  p(gate),  p(up),    p(h),       p(tmp),
          p(qr),  p(kr),    p(rstd_q), p(rstd_k), p(o_pre), p(rstd_op), p(d_pre), p(rstd_dp)};
}

void BlockGradActs::allocate(const LlamaConfig& c, int64_t R) {
  if (dxn.defined() && dxn.dim(0) == R) return;
  dxn = Tensor::empty({R, c.dim});
  datt = Tensor::empty({R, c.q_dim()});
  dq = Tensor::empty({R, c.q_dim()});
  dk = Tensor::empty({R, c.kv_dim()});
  dv = Tensor::empty({R, c.kv_dim()});
  dq0 = Tensor::empty({R, c.q_dim()});
  dk0 = Tensor::empty({R, c.kv_dim()});
  dh = Tensor::empty({R, c.ffn_dim});
  dgate = Tensor::empty({R, c.ffn_dim});
  dup = Tensor::empty({R, c.ffn_dim});
  if (c.block.qk_norm) {
    dqr = Tensor::empty({R, c.q_dim()});
    dkr = Tensor::empty({R, c.kv_dim()});
  }
  if (c.block.post_norms) dpre = Tensor::empty({R, c.dim});
}

BlockGrads<float*> BlockGradActs::grads(float* dx) {
  auto p = [](Tensor& t) { return t.defined() ? t.data<float>() : nullptr; };
  return {dx, p(dxn), p(datt), p(dq), p(dk), p(dv), p(dq0), p(dk0), p(dh), p(dgate), p(dup), p(dqr), p(dkr), p(dpre)};
}

}  // namespace edgellm
