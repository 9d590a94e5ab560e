// Training on Vulkan, read top to bottom: embedding → the blocks (models/block.h's forward, saving what the
// backward needs) → norm → logits → cross-entropy → models/block.h's backward walk → embedding, all recorded into
// one submit per micro-batch; then the gradient norm and AdamW on the device. Not the block's math (block.h walks it).
#include "models/vulkan/grad_vulkan.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "kernels/attention.h"
#include "kernels/linear.h"
#include "kernels/vulkan/ops.h"
#include "models/block.h"
#include "models/vulkan/block_vulkan.h"
#include "models/vulkan/device_weight.h"
#include "runtime/error.h"

namespace edgellm {
namespace {

struct Adapter {
  vk::Buffer A, B;  // A (r, in), B (out, r) f32
  uint32_t r = 0;
  float scale = 0;
  bool on() const { return A.defined(); }
};

// One layer's weights on the device, and where its trainable ones' gradients are (null: frozen).
struct Layer {
  vk::Buffer attn_norm, ffn_norm, q_norm, k_norm;  // q_norm, k_norm: QK-norm's (HD), shared by the heads
  DeviceWeight w[kNumLinearKinds];
  Adapter ad[kNumLinearKinds];
  const vk::Buffer* dnorm[6] = {};  // by BlockNorm
  const vk::Buffer* dw[kNumLinearKinds] = {};
  const vk::Buffer *dA[kNumLinearKinds] = {}, *dB[kNumLinearKinds] = {};
};

// Saved activations of one layer for R = B·T rows (its input is the residual stream's xs[l]).
struct Acts {
  vk::Buffer xn1, r1, q, k, v, att, L, xmid, xn2, r2, gate, up, h;
  vk::Buffer qr, kr, rq, rk;  // QK-norm: q, k before it (R, NH·HD), (R, KVH·HD) and its rstd (R·NH), (R·KVH)
  vk::Buffer u[kNumLinearKinds];  // x·Aᵀ (T, r) of each adapter
};

// A trainable tensor: the host Param it mirrors, its value on the device (owned by a Layer or the head),
// its gradient and AdamW's moments.
struct DevParam {
  Param host;
  vk::Buffer* value = nullptr;
  vk::Buffer grad, m, v;
};

vk::View view(const vk::Buffer& b) { return {&b, 0}; }
vk::View view_or_null(const vk::Buffer& b) { return b.defined() ? view(b) : vk::View{}; }

}  // namespace

struct VulkanGrad::Impl {
  const LlamaModel& m;
  vk::Context& c;
  bool checkpointing;
  std::vector<DevParam> params;
  std::vector<Layer> layers;
  vk::Buffer out_norm;
  const vk::Buffer* dout_norm = nullptr;
  DeviceWeight embed, output;  // embed: only when the embedding trains (else rows come from the host)
  const DeviceWeight* out = nullptr;  // output, or embed when tied and training
  const vk::Buffer *dembed = nullptr, *doutput = nullptr;
  int64_t opt_steps = 0;

  uint32_t rcap = 0, tcap = 0;  // rows and sequence length the buffers below hold
  std::vector<vk::Buffer> xs;  // n_layers + 1: the residual stream entering each block, and the final one
  std::vector<Acts> acts;      // n_layers, or 1 when checkpointing (recomputed per layer in backward)
  vk::Buffer ids, tgt, loss, tmp, xnf, rf, logits, dx, dxn, dh, dgate, dup, datt, dq, dk, dv, dqp, dkp, du, dw_scr, cs,
      sn, partials;
  vk::Buffer dqr, dkr;  // QK-norm: ∂/∂ q, k before it

  Impl(const LlamaModel& mm, const std::vector<Param>& ps, bool ckpt, int device)
      : m(mm), c(vk::context(device)), checkpointing(ckpt) {
    EDGE_CHECK(!m.config.qkv_bias, "Vulkan training: models with q/k/v biases (qwen2) are not supported yet");
    // Of the family steps (models/arch.h), QK-norm is the one whose backward runs here (Qwen3-style bases).
    LlamaConfig others = m.config;
    others.block.qk_norm = false;
    refuse_family_options(others, "Vulkan training (of the family steps, its backward has QK-norm only)");
    check_block_backward(m.config, true);
    std::map<const float*, size_t> trainable;
    for (size_t i = 0; i < ps.size(); ++i) trainable[ps[i].value] = i;
    params.resize(ps.size());
    for (size_t i = 0; i < ps.size(); ++i) params[i].host = ps[i];
    // Registers `buf` as params[i]'s value when `t` is trainable; returns its gradient buffer or null.
    auto bind = [&](const Tensor& t, vk::Buffer& buf) -> const vk::Buffer* {
      if (!t.defined() || t.dtype() != DType::F32) return nullptr;
      const auto it = trainable.find(t.data<float>());
      if (it == trainable.end()) return nullptr;
      DevParam& p = params[it->second];
      EDGE_CHECK(p.host.n == t.numel(), "Vulkan training: parameter '{}' has {} values, its tensor {}", p.host.name,
                 p.host.n, t.numel());
      p.value = &buf;
      p.grad = c.alloc(static_cast<size_t>(p.host.n) * 4);
      return &p.grad;
    };
    layers.resize(m.weights.layers.size());  // sized once: params point into it
    for (size_t l = 0; l < layers.size(); ++l) {
      const LlamaLayer& L = m.weights.layers[l];
      Layer& d = layers[l];
      d.attn_norm = upload_f32(c, L.attn_norm);
      d.ffn_norm = upload_f32(c, L.ffn_norm);
      d.dnorm[0] = bind(L.attn_norm, d.attn_norm);
      d.dnorm[1] = bind(L.ffn_norm, d.ffn_norm);
      if (m.config.block.qk_norm) {
        d.q_norm = upload_f32(c, L.q_norm), d.k_norm = upload_f32(c, L.k_norm);
        d.dnorm[static_cast<int>(BlockNorm::Q)] = bind(L.q_norm, d.q_norm);
        d.dnorm[static_cast<int>(BlockNorm::K)] = bind(L.k_norm, d.k_norm);
      }
      for (int i = 0; i < kNumLinearKinds; ++i) {
        const Tensor& W = L.weight(static_cast<LinearKind>(i));
        d.w[i] = upload_weight(c, W);
        d.dw[i] = bind(W, d.w[i].buf);
        if (!L.lora[i].defined()) continue;
        Adapter& a = d.ad[i];
        a.r = static_cast<uint32_t>(L.lora[i].A.shape()[0]);
        a.scale = L.lora[i].scale;
        a.A = upload_f32(c, L.lora[i].A), a.B = upload_f32(c, L.lora[i].B);
        d.dA[i] = bind(L.lora[i].A, a.A);
        d.dB[i] = bind(L.lora[i].B, a.B);
      }
    }
    out_norm = upload_f32(c, m.weights.out_norm);
    dout_norm = bind(m.weights.out_norm, out_norm);
    const Tensor& E = m.weights.tok_embd;
    const bool embed_trains = E.dtype() == DType::F32 && trainable.count(E.data<float>()) > 0;
    if (embed_trains) {
      embed = upload_weight(c, m.weights.tok_embd);
      dembed = bind(m.weights.tok_embd, embed.buf);
    }
    if (embed_trains && m.weights.output.raw() == m.weights.tok_embd.raw()) {
      out = &embed, doutput = dembed;  // tied: the head's gradient adds into the embedding's
    } else {
      output = upload_weight(c, m.weights.output);
      doutput = bind(m.weights.output, output.buf);
      out = &output;
    }
    for (const DevParam& p : params)
      EDGE_CHECK(p.value, "Vulkan training: parameter '{}' is none of the model's weights", p.host.name);
    zero();
  }

  void zero() {
    vk::Batch b(c);
    for (DevParam& p : params) vk::fill(b, view(p.grad), static_cast<uint32_t>(p.host.n));
    b.submit();
  }

  void ensure(uint32_t R, uint32_t Tseq) {
    if (Tseq > tcap) {
      tcap = Tseq;
      cs = c.alloc(static_cast<size_t>(Tseq) * m.config.head_dim / 2 * 4), sn = c.alloc(cs.bytes);
    }
    if (R <= rcap) return;
    rcap = R;
    const LlamaConfig& cf = m.config;
    auto f = [&](int64_t n) { return c.alloc(static_cast<size_t>(std::max<int64_t>(n, 1)) * 4); };
    const int64_t C = cf.dim, Q = cf.q_dim(), KV = cf.kv_dim(), F = cf.ffn_dim;
    int64_t rmax = 1;
    xs.clear();
    for (size_t l = 0; l <= layers.size(); ++l) xs.push_back(f(R * C));
    acts.clear();
    acts.resize(checkpointing ? 1 : layers.size());
    for (size_t i = 0; i < acts.size(); ++i) {
      Acts& a = acts[i];
      a.xn1 = f(R * C), a.r1 = f(R), a.q = f(R * Q), a.k = f(R * KV), a.v = f(R * KV), a.att = f(R * Q);
      a.L = f(R * cf.n_heads), a.xmid = f(R * C), a.xn2 = f(R * C), a.r2 = f(R);
      a.gate = f(R * F), a.up = f(R * F), a.h = f(R * F);
      if (cf.block.qk_norm) a.qr = f(R * Q), a.kr = f(R * KV), a.rq = f(R * cf.n_heads), a.rk = f(R * cf.n_kv_heads);
      for (const Layer& d : layers)
        for (int k = 0; k < kNumLinearKinds; ++k)
          if (d.ad[k].on()) {
            rmax = std::max<int64_t>(rmax, d.ad[k].r);
            if (!a.u[k].defined() || a.u[k].bytes < static_cast<size_t>(R) * d.ad[k].r * 4) a.u[k] = f(R * d.ad[k].r);
          }
    }
    ids = f(R), tgt = f(R), loss = f(R);
    tmp = f(R * C), xnf = f(R * C), rf = f(R), logits = f(R * cf.vocab);
    dx = f(R * C), dxn = f(R * C), dh = f(R * F), dgate = f(R * F), dup = f(R * F), datt = f(R * Q);
    dq = f(R * Q), dk = f(R * KV), dv = f(R * KV), dqp = f(R * Q), dkp = f(R * KV), du = f(R * rmax);
    if (cf.block.qk_norm) dqr = f(R * Q), dkr = f(R * KV);
    dw_scr = f(std::max({C, F, cf.head_dim}));
  }

  // The block's buffers and gradients of layer l, as models/block.h walks them.
  BlockBuffers<vk::View> buffers(size_t l) {
    Acts& a = acts[checkpointing ? 0 : l];
    return {view(xs[l]), view(a.xmid), view(xs[l + 1]), view(a.xn1),  view(a.r1),   view(a.q),
            view(a.k),   view(a.v),    view(a.att),     view(a.L),     view(a.xn2),  view(a.r2),
            view(a.gate), view(a.up),  view(a.h),       view(tmp),
            view_or_null(a.qr), view_or_null(a.kr), view_or_null(a.rq), view_or_null(a.rk)};
  }
  BlockGrads<vk::View> grads() {
    return {view(dx),  view(dxn), view(datt), view(dq),    view(dk),  view(dv),           view(dqp),
            view(dkp), view(dh),  view(dgate), view(dup), view_or_null(dqr), view_or_null(dkr)};
  }

  // The block's ops (models/block.h) for one layer, forward and backward, over R = B·T rows: B sequences of T
  // tokens from position 0. Each linear saves its adapter's u = x·Aᵀ for the backward. Buffers are whole (offset 0).
  // Of the family steps, QK-norm (the constructor refuses the others).
  struct BlockOps {
    static constexpr bool kFamilyOps = true;
    Impl& p;
    vk::Batch& b;
    const Layer& d;
    Acts& a;
    uint32_t B, T, R;
    const AttentionDims& ad;

    uint32_t C() const { return static_cast<uint32_t>(p.m.config.dim); }
    const vk::Buffer& norm_weight(BlockNorm which) const {
      switch (which) {
        case BlockNorm::Attn: return d.attn_norm;
        case BlockNorm::Ffn: return d.ffn_norm;
        case BlockNorm::Q: return d.q_norm;
        case BlockNorm::K: return d.k_norm;
        default: fail("Vulkan training: {} has post-norms, which the constructor refuses", p.m.config.arch);
      }
    }

    void norm(vk::View y, vk::View rstd, vk::View x, BlockNorm which, int64_t rows) {
      vk::rmsnorm_forward(b, y, rstd.b, x, norm_weight(which), static_cast<uint32_t>(rows), C(), p.m.config.rms_eps);
    }
    // dx += ∂/∂x; dw += ∂/∂w (a scratch buffer when the norm is frozen).
    void norm_backward(vk::View dx, vk::View dy, vk::View x, vk::View rstd, BlockNorm which, int64_t rows) {
      const vk::Buffer* dw = d.dnorm[static_cast<int>(which)];
      vk::rmsnorm_backward(b, *dx.b, dw ? *dw : p.dw_scr, *dy.b, *x.b, norm_weight(which), *rstd.b,
                           static_cast<uint32_t>(rows), C());
    }
    // QK-norm (block_vulkan.h), saving rstd; its backward adds into dw (a scratch buffer when the norm is frozen).
    void head_norm(vk::View y, vk::View rstd, vk::View x, BlockNorm which, int64_t heads, int64_t rows) {
      block_head_norm(b, p.m.config, norm_weight(which), y, rstd.b, x, static_cast<uint32_t>(heads),
                      static_cast<uint32_t>(rows));
    }
    void head_norm_backward(vk::View dx, vk::View dy, vk::View x, vk::View rstd, BlockNorm which, int64_t heads,
                            int64_t rows) {
      const vk::Buffer* dw = d.dnorm[static_cast<int>(which)];
      block_head_norm_backward(b, p.m.config, norm_weight(which), dw ? *dw : p.dw_scr, dx, dy, x, rstd,
                               static_cast<uint32_t>(heads), static_cast<uint32_t>(rows));
    }
    // The plain GELU MLP (GPT-2) has no backward shader here; the constructor refuses it.
    void act(vk::View, vk::View, int64_t) { fail("Vulkan training: {} has a plain GELU MLP", p.m.config.arch); }
    void act_backward(vk::View, vk::View, vk::View, int64_t) { act({}, {}, 0); }
    // y (T, N) = x·Wᵀ + s·(x·Aᵀ)·Bᵀ, saving u = x·Aᵀ.
    void linear(vk::View y, vk::View x, LinearKind kind, int64_t) {
      const int k = static_cast<int>(kind);
      const DeviceWeight& w = d.w[k];
      vk::linear(b, y, x, w.buf, 0, w.type, R, w.N, w.K);
      const Adapter& ad_ = d.ad[k];
      if (!ad_.on()) return;
      const vk::Buffer& u = a.u[k];
      vk::gemm_f32(b, view(u), ad_.r, x, w.K, 1, view(ad_.A), 1, w.K, R, ad_.r, w.K);                // u = x·Aᵀ
      vk::gemm_f32(b, y, w.N, view(u), ad_.r, 1, view(ad_.B), 1, ad_.r, R, w.N, ad_.r, ad_.scale, 1);  // y += s·u·Bᵀ
    }
    // dx (T, K) = dy·W (+ dx when accumulating); dW += dyᵀ·x; dB += s·dyᵀ·u; du = s·dy·B; dA += duᵀ·x; dx += du·A.
    void linear_backward(vk::View dx, vk::View dy, vk::View x, LinearKind kind, int64_t, bool accumulate) {
      const int k = static_cast<int>(kind);
      const DeviceWeight& w = d.w[k];
      const uint32_t N = w.N, K = w.K;
      if (dx.b) vk::linear_backward_x(b, dx, dy, w.buf, 0, w.type, R, N, K, accumulate ? 1.0f : 0.0f);
      if (d.dw[k]) vk::gemm_f32(b, view(*d.dw[k]), K, dy, 1, N, x, K, 1, N, K, R, 1, 1);
      const Adapter& ad_ = d.ad[k];
      if (!ad_.on()) return;
      const uint32_t r = ad_.r;
      const vk::Buffer &u = a.u[k], &du = p.du;
      if (d.dB[k]) vk::gemm_f32(b, view(*d.dB[k]), r, dy, 1, N, view(u), r, 1, N, r, R, ad_.scale, 1);
      vk::gemm_f32(b, view(du), r, dy, N, 1, view(ad_.B), r, 1, R, r, N, ad_.scale, 0);
      if (d.dA[k]) vk::gemm_f32(b, view(*d.dA[k]), K, view(du), 1, r, x, K, 1, r, K, R, 1, 1);
      if (dx.b) vk::gemm_f32(b, dx, K, view(du), r, 1, view(ad_.A), K, 1, R, K, r, 1, 1);
    }
    // Each sequence's rows from position 0 (the tables hold T positions).
    void rope(vk::View q, int64_t heads) { rope_rows(q, q, heads, false); }
    // rope is a rotation: dp += Rᵀ·dp_rot
    void rope_backward(vk::View dp, vk::View dp_rot, int64_t heads) { rope_rows(dp, dp_rot, heads, true); }
    void rope_rows(vk::View y, vk::View x, int64_t heads, bool backward) {
      const uint32_t HD = static_cast<uint32_t>(p.m.config.head_dim), st = static_cast<uint32_t>(heads) * HD;
      vk::rope(b, y, st, x, st, p.cs, p.sn, T, static_cast<uint32_t>(heads), HD, p.m.config.rope_pairing, backward,
               0, B);
    }
    void attention(vk::View o, vk::View lse, vk::View q, vk::View k, vk::View v) {
      vk::attention_forward(b, o, lse.b, q, k, v, ad, B);
    }
    void attention_backward(vk::View dq, vk::View dk, vk::View dv, vk::View dout, vk::View q, vk::View k, vk::View v,
                            vk::View o, vk::View lse) {
      vk::attention_backward(b, *dq.b, *dk.b, *dv.b, *dout.b, *q.b, *k.b, *v.b, *o.b, *lse.b, ad, B);
    }
    void add(vk::View y, vk::View x, vk::View c, int64_t n) {
      vk::elementwise(b, vk::Ew::Add, y, x, c, static_cast<uint32_t>(n));
    }
    void glu(vk::View h, vk::View gate, vk::View up, int64_t n) {
      vk::elementwise(b, vk::Ew::Swiglu, h, gate, up, static_cast<uint32_t>(n));
    }
    void glu_backward(vk::View dgate, vk::View dup, vk::View dh, vk::View gate, vk::View up, int64_t n) {
      vk::swiglu_backward(b, *dgate.b, *dup.b, *dh.b, *gate.b, *up.b, static_cast<uint32_t>(n));
    }
    void zero(vk::View y, int64_t n) { vk::fill(b, y, static_cast<uint32_t>(n)); }
  };

  // B sequences of T tokens: forward, loss, backward, in one submit.
  std::pair<double, int64_t> run(const int32_t* tok, const int32_t* targets, int64_t Bn, int64_t Tn, float loss_scale) {
    const LlamaConfig& cf = m.config;
    const uint32_t B = static_cast<uint32_t>(Bn), T = static_cast<uint32_t>(Tn), R = B * T;
    const uint32_t C = static_cast<uint32_t>(cf.dim), V = static_cast<uint32_t>(cf.vocab);
    const uint32_t HD = static_cast<uint32_t>(cf.head_dim);
    EDGE_CHECK(Bn > 0 && Tn > 0, "a batch needs B > 0 and T > 0, got B={} T={}", Bn, Tn);
    int64_t count = 0;
    for (int64_t t = 0; t < Bn * Tn; ++t) {
      if (tok[t] < 0 || tok[t] >= cf.vocab) fail("token id {} at position {} is outside the vocabulary of {}", tok[t], t, V);
      if (targets[t] >= cf.vocab) fail("target {} at position {} is outside the vocabulary of {}", targets[t], t, V);
      count += targets[t] >= 0;
    }
    check_block_positions(cf, T);
    EDGE_CHECK(static_cast<uint64_t>(R) * V < (uint64_t{1} << 32) / 4,
               "Vulkan training: {} rows × a vocabulary of {} logits exceed one buffer's 32-bit indexing (a smaller "
               "micro-batch fits)", R, V);
    ensure(R, T);
    std::vector<float> cosv(static_cast<size_t>(T) * HD / 2), sinv(cosv.size()), lossv(R);
    rope_tables(cf, 0, T, cosv.data(), sinv.data());
    const AttentionDims ad = attention_dims(T, cf.n_heads, cf.n_kv_heads, cf.head_dim);
    const size_t NL = layers.size();

    vk::Batch b(c);
    b.upload(ids, tok, static_cast<size_t>(R) * 4);
    b.upload(tgt, targets, static_cast<size_t>(R) * 4);
    b.upload(cs, cosv.data(), cosv.size() * 4);
    b.upload(sn, sinv.data(), sinv.size() * 4);
    if (dembed) {
      vk::embedding(b, xs[0], embed.buf, ids, R, C);
    } else {  // a frozen embedding of any type: its rows dequantized here
      std::vector<float> x(static_cast<size_t>(R) * C);
      for (uint32_t t = 0; t < R; ++t) dequantize_row(x.data() + static_cast<size_t>(t) * C, m.weights.tok_embd, tok[t]);
      b.upload(xs[0], x.data(), x.size() * 4);
    }
    auto ops = [&](size_t l) { return BlockOps{*this, b, layers[l], acts[checkpointing ? 0 : l], B, T, R, ad}; };
    for (size_t l = 0; l < NL; ++l) {
      BlockOps o = ops(l);
      block_forward(o, cf, buffers(l), R);
    }
    // ---- head: final norm, logits, cross-entropy with its gradient in place of the logits ----
    vk::rmsnorm_forward(b, view(xnf), &rf, view(xs[NL]), out_norm, R, C, cf.rms_eps);
    vk::linear(b, view(logits), view(xnf), out->buf, 0, out->type, R, V, C);
    vk::cross_entropy(b, logits, tgt, loss, R, V, loss_scale);
    b.download(loss, lossv.data(), lossv.size() * 4);
    // ∂/∂xnf = dz·Wout;  ∂/∂Wout += dzᵀ·xnf;  then the final norm
    vk::linear_backward_x(b, view(dxn), view(logits), out->buf, 0, out->type, R, V, C);
    if (doutput) vk::gemm_f32(b, view(*doutput), C, view(logits), 1, V, view(xnf), C, 1, V, C, R, 1, 1);
    vk::fill(b, view(dx), R * C);
    vk::rmsnorm_backward(b, dx, dout_norm ? *dout_norm : dw_scr, dxn, xs[NL], out_norm, rf, R, C);
    for (size_t l = NL; l-- > 0;) {
      BlockOps o = ops(l);
      if (checkpointing) block_forward(o, cf, buffers(l), R);  // recompute; x_out rewrites xs[l+1] with its own values
      // Nothing reads the first block's input gradient unless the embedding or its attention norm trains.
      const bool need_dx_in = l > 0 || dembed || layers[0].dnorm[0];
      block_backward(o, cf, buffers(l), grads(), R, need_dx_in);
    }
    if (dembed) vk::embedding_backward(b, *dembed, dx, ids, R, C);
    b.submit();
    double sum = 0;
    for (float x : lossv) sum += x;
    return {sum, count};
  }

  double sumsq() {
    uint32_t n = 0;
    for (const DevParam& p : params) n += vk::sumsq_partials(static_cast<uint32_t>(p.host.n));
    if (!partials.defined() || partials.bytes < n * 4u) partials = c.alloc(std::max<size_t>(n, 1) * 4);
    std::vector<float> host(n);
    vk::Batch b(c);
    uint32_t off = 0;
    for (const DevParam& p : params) {
      vk::sumsq(b, partials, off, p.grad, static_cast<uint32_t>(p.host.n));
      off += vk::sumsq_partials(static_cast<uint32_t>(p.host.n));
    }
    b.download(partials, host.data(), n * 4u);
    b.submit();
    double s = 0;
    for (float x : host) s += x;
    return s;
  }

  void moments() {
    for (DevParam& p : params)
      if (!p.m.defined()) {
        p.m = c.alloc(static_cast<size_t>(p.host.n) * 4), p.v = c.alloc(static_cast<size_t>(p.host.n) * 4);
        vk::Batch b(c);
        vk::fill(b, view(p.m), static_cast<uint32_t>(p.host.n));
        vk::fill(b, view(p.v), static_cast<uint32_t>(p.host.n));
        b.submit();
      }
  }

  void adamw(const AdamWConfig& cfg, float lr, float grad_scale) {
    moments();
    ++opt_steps;
    const AdamWCoef k = adamw_coefficients(cfg, opt_steps, lr, grad_scale);  // as AdamW::step
    vk::Batch b(c);
    for (DevParam& p : params) vk::adamw(b, *p.value, p.m, p.v, p.grad, static_cast<uint32_t>(p.host.n), k);
    b.submit();
  }
};

VulkanGrad::VulkanGrad(const LlamaModel& m, const std::vector<Param>& params, bool checkpointing, int device)
    : p_(std::make_unique<Impl>(m, params, checkpointing, device)) {}
VulkanGrad::~VulkanGrad() = default;

std::pair<double, int64_t> VulkanGrad::forward_backward(const int32_t* ids, const int32_t* targets, int64_t B,
                                                        int64_t T, float loss_scale) {
  return p_->run(ids, targets, B, T, loss_scale);
}

void VulkanGrad::zero_grads() { p_->zero(); }

std::vector<float> VulkanGrad::grad(size_t i) const {
  const DevParam& p = p_->params.at(i);
  std::vector<float> out(static_cast<size_t>(p.host.n));
  p_->c.download(p.grad, out.data(), out.size() * 4);
  return out;
}

double VulkanGrad::grad_sumsq() const { return p_->sumsq(); }
void VulkanGrad::adamw_step(const AdamWConfig& c, float lr, float grad_scale) { p_->adamw(c, lr, grad_scale); }
int64_t VulkanGrad::optimizer_steps() const { return p_->opt_steps; }

void VulkanGrad::upload_params() {
  for (DevParam& p : p_->params) p_->c.upload(*p.value, p.host.value, static_cast<size_t>(p.host.n) * 4);
}

void VulkanGrad::download_params() const {
  for (const DevParam& p : p_->params) p_->c.download(*p.value, p.host.value, static_cast<size_t>(p.host.n) * 4);
}

std::vector<std::pair<std::string, Tensor>> VulkanGrad::adamw_state() const {
  p_->moments();
  std::vector<std::pair<std::string, Tensor>> s;
  for (const DevParam& p : p_->params) {
    Tensor m = Tensor::empty({p.host.n}), v = Tensor::empty({p.host.n});
    p_->c.download(p.m, m.data<float>(), static_cast<size_t>(p.host.n) * 4);
    p_->c.download(p.v, v.data<float>(), static_cast<size_t>(p.host.n) * 4);
    s.emplace_back("exp_avg." + p.host.name, std::move(m));
    s.emplace_back("exp_avg_sq." + p.host.name, std::move(v));
  }
  return s;
}

void VulkanGrad::load_adamw_state(const std::vector<std::pair<std::string, Tensor>>& s, int64_t steps) {
  p_->moments();
  auto find = [&](const std::string& name, int64_t n) -> const Tensor& {
    for (const auto& [k, t] : s)
      if (k == name) {
        EDGE_CHECK(t.dtype() == DType::F32 && t.numel() == n, "optimizer state '{}': expected {} f32 values, got {} {}",
                   name, n, t.numel(), dtype_name(t.dtype()));
        return t;
      }
    fail("optimizer state '{}' is missing", name);
  };
  for (DevParam& p : p_->params) {
    p_->c.upload(p.m, find("exp_avg." + p.host.name, p.host.n).raw(), static_cast<size_t>(p.host.n) * 4);
    p_->c.upload(p.v, find("exp_avg_sq." + p.host.name, p.host.n).raw(), static_cast<size_t>(p.host.n) * 4);
  }
  p_->opt_steps = steps;
}

}  // namespace edgellm
