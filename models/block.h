// The transformer block, written once: the op sequence of one layer, walked over any backend's buffers
// (the CPU for inference, training and calibration; Vulkan for inference and LoRA training).
// Not the ops' math (kernels/ and kernels/vulkan/), not the backward (train/llama_grad.cpp reverses this
// sequence step by step), not the embedding or head (the callers' own).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "kernels/linear.h"
#include "models/llama.h"

namespace edgellm {

// The block's two norms, by their place.
enum class BlockNorm { Attn, Ffn };

// The buffers one walk reads and writes, for R = B·T rows. P is a float* on the CPU, a device view on
// Vulkan. Aliasing that the walk allows (inference runs in place): x_mid = x_in, x_out = x_mid, xn2 = xn1,
// h = gate. rstd1, rstd2 and lse may be null when nothing reads them back (inference, calibration).
template <class P>
struct BlockBuffers {
  P x_in, x_mid, x_out;  // (R, C) the residual stream entering, after attention, leaving
  P xn1, rstd1;          // (R, C), (R): attention norm; the input of q, k, v
  P q;                   // (R, NH·HD)
  P k, v;                // (R, KVH·HD) this walk's keys and values (the KV cache rows, for inference)
  P att, lse;            // (R, NH·HD), (R, NH): attention output (the input of o) and its row logsumexp
  P xn2, rstd2;          // (R, C), (R): MLP norm; the input of gate and up
  P gate, up, h;         // (R, F) each; h = silu(gate) ∘ up is the input of down
  P tmp;                 // (R, C) a projection's output before its residual add
};

// One layer: x_mid = x_in + o(attn(rope(q(n1(x_in))), rope(k(..)), v(..)));  x_out = x_mid + down(glu(gate, up)).
// Ops binds the layer's weights and the batch layout (B sequences of T tokens, where keys come from) and
// provides: norm(y, rstd, x, BlockNorm, rows), linear(y, x, LinearKind, rows), rope(p, heads),
// attention(o, lse, q, k, v), add(y, a, b, n), glu(h, gate, up, n). The options of the family
// (LlamaConfig::block) are refused by the loaders until an op here implements them.
template <class Ops, class P>
void block_forward(Ops& ops, const LlamaConfig& c, const BlockBuffers<P>& a, int64_t R) {
  const int64_t C = c.dim, F = c.ffn_dim;
  // ---- attention ----
  ops.norm(a.xn1, a.rstd1, a.x_in, BlockNorm::Attn, R);
  ops.linear(a.q, a.xn1, LinearKind::Q, R);
  ops.linear(a.k, a.xn1, LinearKind::K, R);
  ops.linear(a.v, a.xn1, LinearKind::V, R);
  ops.rope(a.q, c.n_heads);
  ops.rope(a.k, c.n_kv_heads);
  ops.attention(a.att, a.lse, a.q, a.k, a.v);
  ops.linear(a.tmp, a.att, LinearKind::O, R);
  ops.add(a.x_mid, a.x_in, a.tmp, R * C);
  // ---- MLP: down(silu(gate(x)) ∘ up(x)) ----
  ops.norm(a.xn2, a.rstd2, a.x_mid, BlockNorm::Ffn, R);
  ops.linear(a.gate, a.xn2, LinearKind::Gate, R);
  ops.linear(a.up, a.xn2, LinearKind::Up, R);
  ops.glu(a.h, a.gate, a.up, R * F);
  ops.linear(a.tmp, a.h, LinearKind::Down, R);
  ops.add(a.x_out, a.x_mid, a.tmp, R * C);
}

// Throws Error if `positions` (the keys one query may see) exceed what the family's attention covers:
// a sliding window is exact as full attention up to its width, and refused beyond it.
void check_block_positions(const LlamaConfig& c, int64_t positions);

// The CPU ops. B sequences of T tokens at positions pos0 .. pos0+T−1 each; keys and values either the
// walk's own k, v per sequence, or (kv_cache: B = 1) the layer's cache base, which k, v point into at pos0.
struct CpuBlockOps {
  using LinearFn = std::function<void(float* y, const float* x, LinearKind kind, int64_t rows)>;
  const LlamaConfig& c;
  const LlamaLayer& L;
  int64_t B = 1, T = 0, pos0 = 0;
  const float* cos = nullptr;  // (T, HD/2) rope_tables at pos0
  const float* sin = nullptr;
  const float* k_cache = nullptr;  // (pos0 + T, KVH, HD) this layer's cache, or null
  const float* v_cache = nullptr;
  QuantMath math = QuantMath::Fast;
  LinearFn linear_override;  // training's LoRA dropout; empty: linear_with_lora

  void norm(float* y, float* rstd, const float* x, BlockNorm which, int64_t rows) const;
  void linear(float* y, const float* x, LinearKind kind, int64_t rows) const;
  void rope(float* p, int64_t heads) const;
  void attention(float* o, float* lse, const float* q, const float* k, const float* v) const;
  void add(float* y, const float* a, const float* b, int64_t n) const;
  void glu(float* h, const float* gate, const float* up, int64_t n) const;
};

// The CPU buffers of one walk for R rows, each its own allocation (what training and calibration keep).
struct BlockActs {
  Tensor x_mid, xn1, rstd1, q, k, v, att, lse, xn2, rstd2, gate, up, h, tmp;
  void allocate(const LlamaConfig& c, int64_t R);
  BlockBuffers<float*> buffers(float* x_in, float* x_out);
};

}  // namespace edgellm
