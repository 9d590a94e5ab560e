// LoRA gradients on Vulkan, read top to bottom: forward (the block of models/block.h, saving what the
// backward needs) → logits → CPU cross-entropy → backward through every layer into dA, dB. Not full
// fine-tuning (the base stays frozen).
#include "models/vulkan/lora_grad_vulkan.h"

#include <cmath>

#include "kernels/attention.h"
#include "kernels/linear.h"
#include "kernels/vulkan/ops.h"
#include "models/block.h"
#include "models/vulkan/device_weight.h"
#include "runtime/error.h"

namespace edgellm {
namespace {

struct Adapter {
  vk::Buffer A, B, dA, dB;  // A (r, in), B (out, r) f32; gradients alike
  uint32_t r = 0;
  float scale = 0;
  bool on() const { return A.defined(); }
};

struct Layer {
  vk::Buffer attn_norm, ffn_norm;
  DeviceWeight w[kNumLinearKinds];
  Adapter ad[kNumLinearKinds];
};

// Saved activations of one layer for T tokens.
struct Acts {
  vk::Buffer xin, xn1, r1, q, k, v, att, L, xmid, xn2, r2, gate, up, h;
  vk::Buffer u[kNumLinearKinds];  // x·Aᵀ (T, r) of each adapter
};

}  // namespace

struct VulkanLoraGrad::Impl {
  const LlamaModel& m;
  vk::Context& c;
  std::vector<Layer> layers;
  vk::Buffer out_norm;
  DeviceWeight output;
  uint32_t tcap = 0;
  std::vector<Acts> acts;  // n_layers + 1 (the last holds only xin: the final hidden state)
  vk::Buffer tmp, xnf, rf, logits, dlogits, dx, dxn, dh, dgate, dup, datt, dq, dk, dv, dqp, dkp, du, dw_scr, cs, sn;

  Impl(const LlamaModel& mm, int device) : m(mm), c(vk::context(device)) {
    EDGE_CHECK(!m.config.qkv_bias, "Vulkan LoRA: models with q/k/v biases (qwen2) are not supported yet");
    bool any = false;
    for (const LlamaLayer& L : m.weights.layers) {
      Layer d;
      d.attn_norm = upload_f32(c, L.attn_norm);
      d.ffn_norm = upload_f32(c, L.ffn_norm);
      for (int i = 0; i < kNumLinearKinds; ++i) {
        d.w[i] = upload_weight(c, L.weight(static_cast<LinearKind>(i)));
        if (!L.lora[i].defined()) continue;
        any = true;
        Adapter& a = d.ad[i];
        a.r = static_cast<uint32_t>(L.lora[i].A.shape()[0]);
        a.A = c.alloc(L.lora[i].A.nbytes()), a.B = c.alloc(L.lora[i].B.nbytes());
        a.dA = c.alloc(L.lora[i].A.nbytes()), a.dB = c.alloc(L.lora[i].B.nbytes());
      }
      layers.push_back(std::move(d));
    }
    EDGE_CHECK(any, "Vulkan LoRA: the model has no adapters attached");
    out_norm = upload_f32(c, m.weights.out_norm);
    output = upload_weight(c, m.weights.output);
  }

  void refresh() {
    for (size_t l = 0; l < layers.size(); ++l)
      for (int i = 0; i < kNumLinearKinds; ++i) {
        Adapter& a = layers[l].ad[i];
        if (!a.on()) continue;
        const LoraPair& lp = m.weights.layers[l].lora[i];
        EDGE_CHECK(lp.A.dtype() == DType::F32 && lp.B.dtype() == DType::F32, "Vulkan LoRA: adapters must be f32");
        c.upload(a.A, lp.A.raw(), lp.A.nbytes());
        c.upload(a.B, lp.B.raw(), lp.B.nbytes());
        a.scale = lp.scale;
      }
  }

  void zero() {
    for (Layer& d : layers)
      for (Adapter& a : d.ad)
        if (a.on()) {
          const std::vector<float> z(a.dA.bytes / 4, 0.0f), zb(a.dB.bytes / 4, 0.0f);
          c.upload(a.dA, z.data(), z.size() * 4);
          c.upload(a.dB, zb.data(), zb.size() * 4);
        }
  }

  void ensure(uint32_t T) {
    if (T <= tcap) return;
    tcap = T;
    const LlamaConfig& cf = m.config;
    auto f = [&](int64_t n) { return c.alloc(static_cast<size_t>(std::max<int64_t>(n, 1)) * 4); };
    const int64_t C = cf.dim, Q = cf.q_dim(), KV = cf.kv_dim(), F = cf.ffn_dim;
    int64_t rmax = 1;
    acts.clear();
    acts.resize(static_cast<size_t>(cf.n_layers) + 1);
    for (size_t l = 0; l <= layers.size(); ++l) {
      Acts& a = acts[l];
      a.xin = f(T * C);
      if (l == layers.size()) break;
      a.xn1 = f(T * C), a.r1 = f(T), a.q = f(T * Q), a.k = f(T * KV), a.v = f(T * KV), a.att = f(T * Q);
      a.L = f(T * cf.n_heads), a.xmid = f(T * C), a.xn2 = f(T * C), a.r2 = f(T);
      a.gate = f(T * F), a.up = f(T * F), a.h = f(T * F);
      for (int i = 0; i < kNumLinearKinds; ++i)
        if (layers[l].ad[i].on()) a.u[i] = f(T * layers[l].ad[i].r), rmax = std::max<int64_t>(rmax, layers[l].ad[i].r);
    }
    tmp = f(T * C), xnf = f(T * C), rf = f(T), logits = f(T * cf.vocab), dlogits = f(T * cf.vocab);
    dx = f(T * C), dxn = f(T * C), dh = f(T * F), dgate = f(T * F), dup = f(T * F), datt = f(T * Q);
    dq = f(T * Q), dk = f(T * KV), dv = f(T * KV), dqp = f(T * Q), dkp = f(T * KV), du = f(T * rmax);
    dw_scr = f(std::max(C, F)), cs = f(T * cf.head_dim / 2), sn = f(T * cf.head_dim / 2);
  }

  // The block's ops (models/block.h) for one layer's forward: T tokens of one sequence from position 0,
  // each linear saving its adapter's u = x·Aᵀ for the backward.
  struct BlockOps {
    Impl& p;
    vk::Batch& b;
    const Layer& d;
    Acts& a;
    uint32_t T;
    const AttentionDims& ad;

    void norm(vk::View y, vk::View rstd, vk::View x, BlockNorm which, int64_t rows) {
      vk::rmsnorm_forward(b, y, rstd.b, x, which == BlockNorm::Attn ? d.attn_norm : d.ffn_norm,
                          static_cast<uint32_t>(rows), static_cast<uint32_t>(p.m.config.dim), p.m.config.rms_eps);
    }
    // y (T, N) = x·Wᵀ + s·(x·Aᵀ)·Bᵀ, saving u = x·Aᵀ.
    void linear(vk::View y, vk::View x, LinearKind kind, int64_t) {
      const int k = static_cast<int>(kind);
      const DeviceWeight& w = d.w[k];
      vk::linear(b, y, x, w.buf, 0, w.type, T, w.N, w.K);
      const Adapter& ad_ = d.ad[k];
      if (!ad_.on()) return;
      const vk::Buffer& u = a.u[k];
      vk::gemm_f32(b, {&u, 0}, ad_.r, x, w.K, 1, {&ad_.A, 0}, 1, w.K, T, ad_.r, w.K);                // u = x·Aᵀ
      vk::gemm_f32(b, y, w.N, {&u, 0}, ad_.r, 1, {&ad_.B, 0}, 1, ad_.r, T, w.N, ad_.r, ad_.scale, 1);  // y += s·u·Bᵀ
    }
    void rope(vk::View q, int64_t heads) {
      const uint32_t HD = static_cast<uint32_t>(p.m.config.head_dim), st = static_cast<uint32_t>(heads) * HD;
      vk::rope(b, q, st, q, st, p.cs, p.sn, T, static_cast<uint32_t>(heads), HD, p.m.config.rope_pairing);
    }
    void attention(vk::View o, vk::View lse, vk::View q, vk::View k, vk::View v) {
      vk::attention_forward(b, o, lse.b, q, k, v, ad);
    }
    void add(vk::View y, vk::View x, vk::View c, int64_t n) {
      vk::elementwise(b, vk::Ew::Add, y, x, c, static_cast<uint32_t>(n));
    }
    void glu(vk::View h, vk::View gate, vk::View up, int64_t n) {
      vk::elementwise(b, vk::Ew::Swiglu, h, gate, up, static_cast<uint32_t>(n));
    }
  };

  // Backward of lin: dX (T, K) = dY·W (+ beta·dX); dB += s·dYᵀ·u; du = s·dY·B; dA += duᵀ·X; dX += du·A.
  void lin_back(vk::Batch& b, const vk::Buffer& dX, const vk::Buffer& dY, const vk::Buffer& X, const Layer& d,
                int kind, const vk::Buffer& u, uint32_t T, float beta) {
    const DeviceWeight& w = d.w[kind];
    vk::linear_backward_x(b, {&dX, 0}, {&dY, 0}, w.buf, 0, w.type, T, w.N, w.K, beta);
    const Adapter& a = d.ad[kind];
    if (!a.on()) return;
    const uint32_t N = w.N, K = w.K, r = a.r;
    vk::gemm_f32(b, {&a.dB, 0}, r, {&dY, 0}, 1, N, {&u, 0}, r, 1, N, r, T, a.scale, 1);
    vk::gemm_f32(b, {&du, 0}, r, {&dY, 0}, N, 1, {&a.B, 0}, r, 1, T, r, N, a.scale, 0);
    vk::gemm_f32(b, {&a.dA, 0}, K, {&du, 0}, 1, r, {&X, 0}, K, 1, r, K, T, 1, 1);
    vk::gemm_f32(b, {&dX, 0}, K, {&du, 0}, r, 1, {&a.A, 0}, K, 1, T, K, r, 1, 1);
  }

  std::pair<double, int64_t> run(const int32_t* ids, const int32_t* targets, int64_t Tn, float loss_scale) {
    const LlamaConfig& cf = m.config;
    const uint32_t T = static_cast<uint32_t>(Tn), C = static_cast<uint32_t>(cf.dim), F = static_cast<uint32_t>(cf.ffn_dim);
    const uint32_t V = static_cast<uint32_t>(cf.vocab), NH = static_cast<uint32_t>(cf.n_heads);
    const uint32_t KVH = static_cast<uint32_t>(cf.n_kv_heads), HD = static_cast<uint32_t>(cf.head_dim);
    for (int64_t t = 0; t < Tn; ++t)
      if (ids[t] < 0 || ids[t] >= cf.vocab) fail("token id {} at position {} is outside the vocabulary of {}", ids[t], t, V);
    ensure(T);
    std::vector<float> x(static_cast<size_t>(T) * C), cosv(static_cast<size_t>(T) * HD / 2), sinv(cosv.size());
    for (uint32_t t = 0; t < T; ++t) dequantize_row(x.data() + static_cast<size_t>(t) * C, m.weights.tok_embd, ids[t]);
    rope_tables(cf, 0, T, cosv.data(), sinv.data());
    check_block_positions(cf, T);
    const AttentionDims ad = attention_dims(T, NH, KVH, HD);

    vk::Batch b(c);
    b.upload(acts[0].xin, x.data(), x.size() * 4);
    b.upload(cs, cosv.data(), cosv.size() * 4);
    b.upload(sn, sinv.data(), sinv.size() * 4);
    for (size_t l = 0; l < layers.size(); ++l) {
      Acts& a = acts[l];
      BlockOps ops{*this, b, layers[l], a, T, ad};
      auto v = [](const vk::Buffer& x) { return vk::View{&x, 0}; };
      const BlockBuffers<vk::View> bufs{v(a.xin), v(a.xmid), v(acts[l + 1].xin), v(a.xn1), v(a.r1), v(a.q),
                                        v(a.k),   v(a.v),    v(a.att),          v(a.L),   v(a.xn2), v(a.r2),
                                        v(a.gate), v(a.up),  v(a.h),            v(tmp)};
      block_forward(ops, cf, bufs, T);
    }
    const vk::Buffer& xL = acts[layers.size()].xin;
    vk::rmsnorm_forward(b, {&xnf, 0}, &rf, {&xL, 0}, out_norm, T, C, cf.rms_eps);
    vk::linear(b, {&logits, 0}, {&xnf, 0}, output.buf, 0, output.type, T, V, C);
    std::vector<float> lg(static_cast<size_t>(T) * V);
    b.download(logits, lg.data(), lg.size() * 4);
    b.submit();

    // Cross-entropy on the CPU: loss_t = lse_t − z_t[y_t]; dz = (softmax − onehot) · loss_scale, 0 when masked.
    double loss = 0;
    int64_t count = 0;
    for (uint32_t t = 0; t < T; ++t) {
      float* z = lg.data() + static_cast<size_t>(t) * V;
      const int32_t y = targets[t];
      if (y < 0) {
        std::fill(z, z + V, 0.0f);
        continue;
      }
      EDGE_CHECK(y < cf.vocab, "target {} at position {} is outside the vocabulary of {}", y, t, V);
      double mx = z[0];
      for (uint32_t i = 1; i < V; ++i) mx = std::max(mx, double(z[i]));
      double se = 0;
      for (uint32_t i = 0; i < V; ++i) se += std::exp(double(z[i]) - mx);
      const double lse = mx + std::log(se);
      loss += lse - z[y];
      ++count;
      for (uint32_t i = 0; i < V; ++i) z[i] = static_cast<float>(std::exp(double(z[i]) - lse) * loss_scale);
      z[y] -= loss_scale;
    }

    // ---- backward ----
    const std::vector<float> zeros(static_cast<size_t>(T) * std::max({C, F, NH * HD}), 0.0f);
    b.upload(dlogits, lg.data(), lg.size() * 4);
    b.upload(dx, zeros.data(), static_cast<size_t>(T) * C * 4);
    vk::linear_backward_x(b, {&dxn, 0}, {&dlogits, 0}, output.buf, 0, output.type, T, V, C);
    vk::rmsnorm_backward(b, dx, dw_scr, dxn, xL, out_norm, rf, T, C);
    for (size_t l = layers.size(); l-- > 0;) {
      const Layer& d = layers[l];
      const Acts& a = acts[l];
      // MLP: dx is dL/d(layer output) = dL/dxmid's residual part.
      lin_back(b, dh, dx, a.h, d, 6, a.u[6], T, 0);
      b.upload(dgate, zeros.data(), static_cast<size_t>(T) * F * 4);
      b.upload(dup, zeros.data(), static_cast<size_t>(T) * F * 4);
      vk::swiglu_backward(b, dgate, dup, dh, a.gate, a.up, T * F);
      lin_back(b, dxn, dgate, a.xn2, d, 4, a.u[4], T, 0);
      lin_back(b, dxn, dup, a.xn2, d, 5, a.u[5], T, 1);
      vk::rmsnorm_backward(b, dx, dw_scr, dxn, a.xmid, d.ffn_norm, a.r2, T, C);
      // attention
      lin_back(b, datt, dx, a.att, d, 3, a.u[3], T, 0);
      b.upload(dq, zeros.data(), static_cast<size_t>(T) * NH * HD * 4);
      b.upload(dk, zeros.data(), static_cast<size_t>(T) * KVH * HD * 4);
      b.upload(dv, zeros.data(), static_cast<size_t>(T) * KVH * HD * 4);
      vk::attention_backward(b, dq, dk, dv, datt, a.q, a.k, a.v, a.att, a.L, ad);
      b.upload(dqp, zeros.data(), static_cast<size_t>(T) * NH * HD * 4);
      b.upload(dkp, zeros.data(), static_cast<size_t>(T) * KVH * HD * 4);
      vk::rope(b, {&dqp, 0}, NH * HD, {&dq, 0}, NH * HD, cs, sn, T, NH, HD, cf.rope_pairing, true);
      vk::rope(b, {&dkp, 0}, KVH * HD, {&dk, 0}, KVH * HD, cs, sn, T, KVH, HD, cf.rope_pairing, true);
      lin_back(b, dxn, dqp, a.xn1, d, 0, a.u[0], T, 0);
      lin_back(b, dxn, dkp, a.xn1, d, 1, a.u[1], T, 1);
      lin_back(b, dxn, dv, a.xn1, d, 2, a.u[2], T, 1);
      vk::rmsnorm_backward(b, dx, dw_scr, dxn, a.xin, d.attn_norm, a.r1, T, C);
    }
    b.submit();
    return {loss, count};
  }
};

VulkanLoraGrad::VulkanLoraGrad(const LlamaModel& m, int device) : p_(std::make_unique<Impl>(m, device)) {
  p_->refresh();
  p_->zero();
}
VulkanLoraGrad::~VulkanLoraGrad() = default;

std::pair<double, int64_t> VulkanLoraGrad::forward_backward(const int32_t* ids, const int32_t* targets, int64_t T,
                                                            float loss_scale) {
  return p_->run(ids, targets, T, loss_scale);
}

std::vector<float> VulkanLoraGrad::grad(int64_t layer, LinearKind kind, char which) const {
  const Adapter& a = p_->layers.at(static_cast<size_t>(layer)).ad[static_cast<int>(kind)];
  if (!a.on()) return {};
  const vk::Buffer& g = which == 'A' ? a.dA : a.dB;
  std::vector<float> out(g.bytes / 4);
  p_->c.download(g, out.data(), g.bytes);
  return out;
}

void VulkanLoraGrad::zero_grads() { p_->zero(); }
void VulkanLoraGrad::refresh_adapters() { p_->refresh(); }

}  // namespace edgellm
