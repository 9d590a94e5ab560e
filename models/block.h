// The transformer block, written once: the op sequence of one layer, walked over any backend's buffers
// (the CPU for inference, training and calibration; Vulkan for inference and training), and its backward, the
// same sequence reversed. Not the ops' math (kernels/ and kernels/vulkan/), not the embedding or head (the callers').
#pragma once

#include <cstdint>
#include <string>

#include "kernels/linear.h"
#include "models/llama.h"

namespace edgellm {

// The block's norms, by their place: before attention and MLP; Gemma's after them; QK-norm's per head.
enum class BlockNorm { Attn, Ffn, AttnPost, FfnPost, Q, K };

// The buffers one walk reads and writes, for R = B·T rows. P is a float* on the CPU, a device view on
// Vulkan. Aliasing that the walk allows (inference runs in place): x_mid = x_in, x_out = x_mid, xn2 = xn1,
// h = gate, and the family steps' inputs qr = q, kr = k, o_pre = d_pre = tmp. rstd1, rstd2, lse and the family
// rstds may be null when nothing reads them back (inference, calibration). The family fields come last so that
// a backend without the family steps (FamilyBlockOps) may leave them out.
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
  // ---- the family steps' saved inputs (read by their backward) ----
  P qr, kr;              // (R, NH·HD), (R, KVH·HD): q, k projections before QK-norm
  P rstd_q, rstd_k;      // (R·NH), (R·KVH): QK-norm's rstd per (token, head)
  P o_pre, rstd_op;      // (R, C), (R): o's output before the post-attention norm, and that norm's rstd
  P d_pre, rstd_dp;      // (R, C), (R): down's output before the post-MLP norm, and its rstd
};

// Ops that implement the options of models/arch.h beyond the Llama block (QK-norm, post-norms, the GELU MLPs,
// and, inside their norm/rope/attention, LayerNorm, partial or skipped RoPE, windows and soft-caps) say so
// with `static constexpr bool kFamilyOps = true`. Others (the Vulkan ops, today) get the family refused.
template <class Ops>
concept FamilyBlockOps = Ops::kFamilyOps;

// Throws Error naming `who` and the config field of the first option beyond the Llama block that c asks for.
void refuse_family_options(const LlamaConfig& c, const std::string& who);

// One layer: x_mid = x_in + o(attn(rope(q(n1(x_in))), rope(k(..)), v(..)));  x_out = x_mid + down(glu(gate, up)).
// Ops binds the layer's weights and the batch layout (B sequences of T tokens, where keys come from) and
// provides: norm(y, rstd, x, BlockNorm, rows), linear(y, x, LinearKind, rows), rope(p, heads),
// attention(o, lse, q, k, v), add(y, a, b, n), glu(h, gate, up, n); FamilyBlockOps also head_norm(y, rstd, x,
// BlockNorm, heads, rows) and act(h, up, n). Each family step below is its own line, so the backward can mirror it.
template <class Ops, class P>
void block_forward(Ops& ops, const LlamaConfig& c, const BlockBuffers<P>& a, int64_t R) {
  const int64_t C = c.dim, F = c.ffn_dim;
  const BlockOptions& o = c.block;
  constexpr bool family = FamilyBlockOps<Ops>;
  if constexpr (!family) refuse_family_options(c, "this backend's transformer block");
  const bool qk_norm = family && o.qk_norm, post_norms = family && o.post_norms;
  // ---- attention ----
  ops.norm(a.xn1, a.rstd1, a.x_in, BlockNorm::Attn, R);  // RMSNorm, or LayerNorm with its bias (GPT-2)
  ops.linear(qk_norm ? a.qr : a.q, a.xn1, LinearKind::Q, R);
  ops.linear(qk_norm ? a.kr : a.k, a.xn1, LinearKind::K, R);
  ops.linear(a.v, a.xn1, LinearKind::V, R);
  if constexpr (family) {
    if (o.qk_norm) {  // step: QK-norm, RMSNorm of each head of q and k (Qwen3, Gemma 3)
      ops.head_norm(a.q, a.rstd_q, a.qr, BlockNorm::Q, c.n_heads, R);
      ops.head_norm(a.k, a.rstd_k, a.kr, BlockNorm::K, c.n_kv_heads, R);
    }
  }
  ops.rope(a.q, c.n_heads);  // the layer's base and rotated dims; none on NoPE layers or learned positions
  ops.rope(a.k, c.n_kv_heads);
  ops.attention(a.att, a.lse, a.q, a.k, a.v);  // the layer's window, scale and soft-cap
  ops.linear(post_norms ? a.o_pre : a.tmp, a.att, LinearKind::O, R);
  if constexpr (family) {
    if (o.post_norms) ops.norm(a.tmp, a.rstd_op, a.o_pre, BlockNorm::AttnPost, R);  // step: post-attention norm (Gemma)
  }
  ops.add(a.x_mid, a.x_in, a.tmp, R * C);
  // ---- MLP: down(act(gate(x)) ∘ up(x)), or down(gelu(up(x))) without a gate ----
  ops.norm(a.xn2, a.rstd2, a.x_mid, BlockNorm::Ffn, R);
  if constexpr (family) {
    if (o.mlp == MlpKind::Gelu) {  // step: plain GELU MLP (GPT-2)
      ops.linear(a.up, a.xn2, LinearKind::Up, R);
      ops.act(a.h, a.up, R * F);
    }
  }
  if (o.mlp != MlpKind::Gelu) {
    ops.linear(a.gate, a.xn2, LinearKind::Gate, R);
    ops.linear(a.up, a.xn2, LinearKind::Up, R);
    ops.glu(a.h, a.gate, a.up, R * F);  // silu(gate)·up, or tanh-GELU(gate)·up (GeGLU)
  }
  ops.linear(post_norms ? a.d_pre : a.tmp, a.h, LinearKind::Down, R);
  if constexpr (family) {
    if (o.post_norms) ops.norm(a.tmp, a.rstd_dp, a.d_pre, BlockNorm::FfnPost, R);  // step: post-MLP norm (Gemma)
  }
  ops.add(a.x_out, a.x_mid, a.tmp, R * C);
}

// The gradients one backward walk reads and writes, for R = B·T rows. dx is the residual stream's gradient,
// in place: ∂loss/∂x_out on entry, ∂loss/∂x_in on return.
template <class P>
struct BlockGrads {
  P dx;               // (R, C) ∂/∂x_out in, ∂/∂x_in out (and ∂/∂x_mid between the halves)
  P dxn;              // (R, C) ∂/∂xn2, then ∂/∂xn1
  P datt;             // (R, NH·HD) ∂/∂att
  P dq, dk, dv;       // (R, NH·HD), (R, KVH·HD) ×2: ∂/∂ q, k after rope, and v
  P dq0, dk0;         // the same before rope: the q and k projections' output gradients (after QK-norm if any)
  P dh, dgate, dup;   // (R, F) each
  // ---- the family steps' (last, as in BlockBuffers) ----
  P dqr, dkr;         // (R, NH·HD), (R, KVH·HD): ∂/∂ q, k before QK-norm
  P dpre;             // (R, C): ∂/∂ o's or down's output before its post-norm
};

// The reverse of block_forward: each forward step's mirror, last step first, over the forward's saved
// buffers `a` (the residual adds have no op: their gradient is dx itself, passed on unchanged). Ops adds the
// backward of each op, accumulating (+=) into its outputs and into the gradients of the weights it binds
// (frozen ones skipped): norm_backward(dx, dy, x, rstd, BlockNorm, rows), linear_backward(dx, dy, x,
// LinearKind, rows, accumulate) (dx = dy·W when !accumulate; dx null (P{}): no input gradient wanted),
// rope_backward(dp, dp_rot, heads), attention_backward(dq, dk, dv, do, q, k, v, o, lse),
// glu_backward(dgate, dup, dh, gate, up, n), and zero(p, n); FamilyBlockOps also head_norm_backward(dx, dy, x,
// rstd, BlockNorm, heads, rows) and act_backward(dup, dh, up, n). need_dx_in false: nothing reads ∂/∂x_in (the
// first block under a frozen embedding and attention norm), so q, k, v's input gradients are not formed.
// Throws Error naming the first option of c.block (models/arch.h) that block_backward has no mirror step for:
// with family_ops false (a backend without FamilyBlockOps) every option beyond the Llama block, by its config
// field; training such a family would differentiate another function than its forward.
void check_block_backward(const LlamaConfig& c, bool family_ops = false);

template <class Ops, class P>
void block_backward(Ops& ops, const LlamaConfig& c, const BlockBuffers<P>& a, const BlockGrads<P>& g, int64_t R,
                    bool need_dx_in = true) {
  constexpr bool family = FamilyBlockOps<Ops>;
  check_block_backward(c, family);
  const int64_t C = c.dim, F = c.ffn_dim, Q = c.q_dim(), KV = c.kv_dim();
  const BlockOptions& o = c.block;
  const bool qk_norm = family && o.qk_norm, post_norms = family && o.post_norms;
  // ---- MLP, reversed: x_out = x_mid + post(down(glu(gate(xn2), up(xn2)))), xn2 = n2(x_mid) ----
  if constexpr (family) {
    if (o.post_norms) {  // ← ops.norm(tmp, rstd_dp, d_pre, FfnPost)
      ops.zero(g.dpre, R * C);
      ops.norm_backward(g.dpre, g.dx, a.d_pre, a.rstd_dp, BlockNorm::FfnPost, R);
    }
  }
  ops.linear_backward(g.dh, post_norms ? g.dpre : g.dx, a.h, LinearKind::Down, R, false);  // ← ops.linear(.., h, Down)
  ops.zero(g.dup, R * F);
  if constexpr (family) {
    if (o.mlp == MlpKind::Gelu) {  // ← the plain GELU MLP's two lines
      ops.act_backward(g.dup, g.dh, a.up, R * F);                          // ← ops.act(h, up)
      ops.linear_backward(g.dxn, g.dup, a.xn2, LinearKind::Up, R, false);  // ← ops.linear(up, xn2, Up)
    }
  }
  if (o.mlp != MlpKind::Gelu) {
    ops.zero(g.dgate, R * F);
    ops.glu_backward(g.dgate, g.dup, g.dh, a.gate, a.up, R * F);             // ← ops.glu(h, gate, up)
    ops.linear_backward(g.dxn, g.dgate, a.xn2, LinearKind::Gate, R, false);  // ← ops.linear(gate, xn2, Gate)
    ops.linear_backward(g.dxn, g.dup, a.xn2, LinearKind::Up, R, true);       // ← ops.linear(up, xn2, Up)
  }
  ops.norm_backward(g.dx, g.dxn, a.x_mid, a.rstd2, BlockNorm::Ffn, R);      // dx: now ∂/∂x_mid
  // ---- attention, reversed: x_mid = x_in + post(o(attn(rope(qn(q(xn1))), rope(kn(k(xn1))), v(xn1)))) ----
  if constexpr (family) {
    if (o.post_norms) {  // ← ops.norm(tmp, rstd_op, o_pre, AttnPost)
      ops.zero(g.dpre, R * C);
      ops.norm_backward(g.dpre, g.dx, a.o_pre, a.rstd_op, BlockNorm::AttnPost, R);
    }
  }
  ops.linear_backward(g.datt, post_norms ? g.dpre : g.dx, a.att, LinearKind::O, R, false);  // ← ops.linear(.., att, O)
  ops.zero(g.dq, R * Q);
  ops.zero(g.dk, R * KV);
  ops.zero(g.dv, R * KV);
  ops.attention_backward(g.dq, g.dk, g.dv, g.datt, a.q, a.k, a.v, a.att, a.lse);
  ops.zero(g.dq0, R * Q);
  ops.zero(g.dk0, R * KV);
  ops.rope_backward(g.dq0, g.dq, c.n_heads);     // ← ops.rope(q, NH)
  ops.rope_backward(g.dk0, g.dk, c.n_kv_heads);  // ← ops.rope(k, KVH)
  if constexpr (family) {
    if (o.qk_norm) {  // ← the QK-norm step
      ops.zero(g.dqr, R * Q);
      ops.zero(g.dkr, R * KV);
      ops.head_norm_backward(g.dqr, g.dq0, a.qr, a.rstd_q, BlockNorm::Q, c.n_heads, R);
      ops.head_norm_backward(g.dkr, g.dk0, a.kr, a.rstd_k, BlockNorm::K, c.n_kv_heads, R);
    }
  }
  const P dxn1 = need_dx_in ? g.dxn : P{};
  ops.linear_backward(dxn1, qk_norm ? g.dqr : g.dq0, a.xn1, LinearKind::Q, R, false);
  ops.linear_backward(dxn1, qk_norm ? g.dkr : g.dk0, a.xn1, LinearKind::K, R, true);
  ops.linear_backward(dxn1, g.dv, a.xn1, LinearKind::V, R, true);
  if (need_dx_in) ops.norm_backward(g.dx, g.dxn, a.x_in, a.rstd1, BlockNorm::Attn, R);  // dx: now ∂/∂x_in
}

// For the walks whose attention has no window (Vulkan): throws Error if `positions` exceed the
// sliding window, since full attention is exact only up to its width. The CPU inference ops apply the window.
void check_block_positions(const LlamaConfig& c, int64_t positions);

// Where the CPU backward accumulates one layer's weight gradients; null: that weight is frozen.
struct BlockWeightGrads {
  float* norm[6] = {};                // by BlockNorm: (C) each, (HD) for Q and K
  float* norm_b[2] = {};              // LayerNorm's biases of Attn, Ffn: (C)
  float* w[kNumLinearKinds] = {};     // (N, K) by LinearKind
  float* bias[kNumLinearKinds] = {};  // (N) by LinearKind
  float* lora_a[kNumLinearKinds] = {};  // (r, K)
  float* lora_b[kNumLinearKinds] = {};  // (N, r)
};

// The CPU ops, forward and backward. B sequences of T tokens at positions pos0 .. pos0+T−1 each; keys and
// values either the walk's own k, v per sequence, or (kv_cache: B = 1, forward only) the layer's cache base,
// which k, v point into at pos0. LoRA dropout (training) drops each adapter's input with probability
// lora_dropout, from a hash of (dropout_key, linear, element) that the backward regenerates.
struct CpuBlockOps {
  const LlamaConfig& c;
  const LlamaLayer& L;
  int64_t B = 1, T = 0, pos0 = 0;
  const float* cos = nullptr;  // (T, HD/2) rope_tables at pos0
  const float* sin = nullptr;
  const float* k_cache = nullptr;  // (pos0 + T, KVH, HD) this layer's cache, or null
  const float* v_cache = nullptr;
  QuantMath math = QuantMath::Fast;
  float lora_dropout = 0;
  uint64_t dropout_key = 0;
  const BlockWeightGrads* grads = nullptr;  // backward only
  // The family options (FamilyBlockOps): which layer this is (its window, RoPE base, RoPE or not) and the
  // sliding layers' RoPE tables when their base differs (Gemma 3). layer < 0: a walk that sets none of these,
  // which refuses per-layer options rather than guess.
  int64_t layer = -1;
  const float* cos_local = nullptr;
  const float* sin_local = nullptr;
  static constexpr bool kFamilyOps = true;

  void norm(float* y, float* rstd, const float* x, BlockNorm which, int64_t rows) const;
  void norm_backward(float* dx, const float* dy, const float* x, const float* rstd, BlockNorm which, int64_t rows) const;
  void linear(float* y, const float* x, LinearKind kind, int64_t rows) const;
  void linear_backward(float* dx, const float* dy, const float* x, LinearKind kind, int64_t rows, bool accumulate) const;
  void rope(float* p, int64_t heads) const;
  void rope_backward(float* dp, const float* dp_rot, int64_t heads) const;
  void attention(float* o, float* lse, const float* q, const float* k, const float* v) const;
  void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                          const float* v, const float* o, const float* lse) const;
  void add(float* y, const float* a, const float* b, int64_t n) const;
  void glu(float* h, const float* gate, const float* up, int64_t n) const;
  void head_norm(float* y, float* rstd, const float* x, BlockNorm which, int64_t heads, int64_t rows) const;
  void head_norm_backward(float* dx, const float* dy, const float* x, const float* rstd, BlockNorm which,
                          int64_t heads, int64_t rows) const;
  void act(float* h, const float* up, int64_t n) const;
  void act_backward(float* dup, const float* dh, const float* up, int64_t n) const;
  void glu_backward(float* dgate, float* dup, const float* dh, const float* gate, const float* up, int64_t n) const;
  void zero(float* p, int64_t n) const;

 private:
  // x with LoRA dropout applied to the adapter of `kind` (x itself when there is none), in `keep`.
  const float* dropped(const float* x, LinearKind kind, int64_t n, Tensor& keep) const;
};

// The CPU buffers of one walk for R rows, each its own allocation (what training and calibration keep).
struct BlockActs {
  Tensor x_mid, xn1, rstd1, q, k, v, att, lse, xn2, rstd2, gate, up, h, tmp;
  Tensor qr, kr, rstd_q, rstd_k, o_pre, rstd_op, d_pre, rstd_dp;  // only what the family's steps use
  void allocate(const LlamaConfig& c, int64_t R);
  BlockBuffers<float*> buffers(float* x_in, float* x_out);
};

// The CPU gradient buffers of one backward walk for R rows (dx is the caller's).
struct BlockGradActs {
  Tensor dxn, datt, dq, dk, dv, dq0, dk0, dh, dgate, dup, dqr, dkr, dpre;
  void allocate(const LlamaConfig& c, int64_t R);
  BlockGrads<float*> grads(float* dx);
};

}  // namespace edgellm
