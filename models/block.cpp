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
    fail("{} positions exceed the model's sliding_window of {}; attention beyond the window is not implemented",
         positions, c.block.sliding_window);
}

void CpuBlockOps::norm(float* y, float* rstd, const float* x, BlockNorm which, int64_t rows) const {
  const Tensor& w = which == BlockNorm::Attn ? L.attn_norm : L.ffn_norm;
  kernels().rmsnorm_forward(y, rstd, x, w.data<float>(), rows, c.dim, c.rms_eps);
}

void CpuBlockOps::linear(float* y, const float* x, LinearKind kind, int64_t rows) const {
  if (linear_override) return linear_override(y, x, kind, rows);
  linear_with_lora(y, x, L.weight(kind), L.bias(kind), L.lora[static_cast<int>(kind)], rows, math == QuantMath::Exact);
}

void CpuBlockOps::rope(float* p, int64_t heads) const {
  const int64_t HD = c.head_dim;
  for (int64_t b = 0; b < B; ++b)  // each sequence starts at pos0
    kernels().rope_forward(p + b * T * heads * HD, p + b * T * heads * HD, cos, sin, T, heads, HD, c.rope_pairing);
}

void CpuBlockOps::attention(float* o, float* lse, const float* q, const float* k, const float* v) const {
  const int64_t NH = c.n_heads, KVH = c.n_kv_heads, HD = c.head_dim;
  // o = softmax(q·kᵀ/√HD + causal mask)·v over the sequence's keys (the cache's when there is one).
  const AttentionDims d = attention_dims(T, NH, KVH, HD, k_cache ? pos0 : 0);
  EDGE_CHECK(!k_cache || B == 1, "a KV cache holds one sequence, got B={}", B);
  for (int64_t b = 0; b < B; ++b)
    attention_forward(o + b * T * NH * HD, lse ? lse + b * T * NH : nullptr, q + b * T * NH * HD,
                      k_cache ? k_cache : k + b * T * KVH * HD, v_cache ? v_cache : v + b * T * KVH * HD, d);
}

void CpuBlockOps::add(float* y, const float* a, const float* b, int64_t n) const { kernels().add_forward(y, a, b, n); }

void CpuBlockOps::glu(float* h, const float* gate, const float* up, int64_t n) const {
  kernels().swiglu_forward(h, gate, up, n);
}

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
