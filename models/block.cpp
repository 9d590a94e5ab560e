// The CPU ops of the transformer block (models/block.h) and its buffers: each op one kernel call, with the
// batch layout (sequences, KV cache or not) handled here so that the block's sequence stays one.
// Not the sequence itself (block.h) and not the model around it (models/llama.cpp, train/, quant/).
#include "models/block.h"

#include "kernels/attention.h"
#include "kernels/kernel_table.h"
#include "runtime/error.h"

namespace edgellm {

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

void CpuBlockOps::norm(float* y, float* rstd, const float* x, BlockNorm which, int64_t rows) const {
  const Tensor* w = nullptr;
  const Tensor* b = nullptr;
  switch (which) {
    case BlockNorm::Attn: w = &L.attn_norm, b = &L.attn_norm_b; break;
    case BlockNorm::Ffn: w = &L.ffn_norm, b = &L.ffn_norm_b; break;
    case BlockNorm::AttnPost: w = &L.attn_post_norm; break;
    case BlockNorm::FfnPost: w = &L.ffn_post_norm; break;
    case BlockNorm::Q:
    case BlockNorm::K: fail("norm: {} is a per-head norm (head_norm)", static_cast<int>(which));
  }
  if (c.block.norm == NormKind::LayerNorm)
    kernels().layernorm_forward(y, rstd, x, w->data<float>(), b->data<float>(), rows, c.dim, c.rms_eps);
  else
    kernels().rmsnorm_forward(y, rstd, x, w->data<float>(), rows, c.dim, c.rms_eps);
}

void CpuBlockOps::head_norm(float* p, BlockNorm which, int64_t heads, int64_t rows) const {
  // Each (token, head) row of head_dim values is one RMSNorm row, with the weight shared by the heads.
  const Tensor& w = which == BlockNorm::Q ? L.q_norm : L.k_norm;
  kernels().rmsnorm_forward(p, nullptr, p, w.data<float>(), rows * heads, c.head_dim, c.rms_eps);
}

void CpuBlockOps::linear(float* y, const float* x, LinearKind kind, int64_t rows) const {
  if (linear_override) return linear_override(y, x, kind, rows);
  linear_with_lora(y, x, L.weight(kind), L.bias(kind), L.lora[static_cast<int>(kind)], rows, math == QuantMath::Exact);
}

void CpuBlockOps::rope(float* p, int64_t heads) const {
  const int64_t l = layer_of(*this, "RoPE");
  if (!c.layer_ropes(l)) return;  // learned positions (GPT-2) or a NoPE layer (SmolLM3)
  const int64_t HD = c.head_dim, D = c.rope_dims();
  const bool local = c.layer_local_rope(l);
  const float* cs = local ? cos_local : cos;
  const float* sn = local ? sin_local : sin;
  EDGE_CHECK(cs && sn, "rope: layer {} needs the {} RoPE tables, which this walk lacks", l, local ? "local" : "global");
  if (D == HD) {
    for (int64_t b = 0; b < B; ++b)  // each sequence starts at pos0
      kernels().rope_forward(p + b * T * heads * HD, p + b * T * heads * HD, cs, sn, T, heads, HD, c.rope_pairing);
    return;
  }
  // Partial rotary (Phi-3): the first D dims of each head rotate as a head of D, the rest pass through. The
  // kernel takes contiguous heads, so each (token, head) goes alone, its table row that of its token.
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        float* x = p + ((b * T + t) * heads + h) * HD;
        kernels().rope_forward(x, x, cs + t * (D / 2), sn + t * (D / 2), 1, 1, D, c.rope_pairing);
      }
}

void CpuBlockOps::attention(float* o, float* lse, const float* q, const float* k, const float* v) const {
  const int64_t NH = c.n_heads, KVH = c.n_kv_heads, HD = c.head_dim;
  // o = softmax(q·kᵀ/√HD + causal mask)·v over the sequence's keys (the cache's when there is one).
  AttentionDims d = attention_dims(T, NH, KVH, HD, k_cache ? pos0 : 0);
  const int64_t l = layer_of(*this, "sliding window");
  // A window no wider than the keys changes nothing: left off, so walks with a backward keep theirs.
  if (c.layer_slides(l) && d.pos0 + T > c.block.sliding_window) d.window = c.block.sliding_window;
  d.softcap = c.block.attn_softcap;
  if (c.block.query_scale > 0) d.scale = c.block.query_scale;
  EDGE_CHECK(!k_cache || B == 1, "a KV cache holds one sequence, got B={}", B);
  for (int64_t b = 0; b < B; ++b)
    attention_forward(o + b * T * NH * HD, lse ? lse + b * T * NH : nullptr, q + b * T * NH * HD,
                      k_cache ? k_cache : k + b * T * KVH * HD, v_cache ? v_cache : v + b * T * KVH * HD, d);
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
}

BlockBuffers<float*> BlockActs::buffers(float* x_in, float* x_out) {
  auto p = [](Tensor& t) { return t.data<float>(); };
  return {x_in, p(x_mid), x_out, p(xn1), p(rstd1), p(q), p(k), p(v), p(att), p(lse), p(xn2), p(rstd2),
          p(gate), p(up), p(h), p(tmp)};
}

}  // namespace edgellm
