// The Llama-family training graph, written out by hand: a forward that saves what the backward
// needs, and the backward in reverse order, block by block. Chain-rule terms are noted per step.
#include "train/llama_grad.h"

#include <cmath>

#include "kernels/attention.h"
#include "kernels/kernel_table.h"
#include "kernels/linear.h"
#include "models/block.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm {

std::string hf_weight_name(int64_t layer, LinearKind k) {
  const bool attn = k == LinearKind::Q || k == LinearKind::K || k == LinearKind::V || k == LinearKind::O;
  return fmt::format("model.layers.{}.{}.{}.weight", layer, attn ? "self_attn" : "mlp", peft_module_name(k));
}

std::string peft_lora_name(int64_t layer, LinearKind k, char which) {
  const bool attn = k == LinearKind::Q || k == LinearKind::K || k == LinearKind::V || k == LinearKind::O;
  return fmt::format("base_model.model.model.layers.{}.{}.{}.lora_{}.weight", layer, attn ? "self_attn" : "mlp",
                     peft_module_name(k), which);
}

namespace {

constexpr int32_t kIgnore = -100;

// LoRA dropout: a Bernoulli(keep) mask from a hash of (seed, step, layer, module, element), so the
// backward regenerates the forward's mask instead of storing it.
inline bool keep_element(uint64_t key, int64_t i, float p_drop) {
  uint64_t z = key + static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53 >= p_drop;
}

void colsum_add(float* db, const float* dy, int64_t R, int64_t N) {
  for (int64_t r = 0; r < R; ++r)
    for (int64_t n = 0; n < N; ++n) db[n] += dy[r * N + n];
}

}  // namespace

// Activations of one block for rows R = B·T (models/block.h): what its backward reads.
struct LlamaGrad::LayerActs : BlockActs {};

void LlamaGrad::add_param(const std::string& name, Tensor& value) {
  EDGE_CHECK(value.dtype() == DType::F32 && value.is_contiguous() && value.storage()->writable(),
             "parameter '{}' must be a writable contiguous f32 tensor", name);
  Tensor g = Tensor::zeros(value.shape());
  params_.push_back({name, value.data<float>(), g.data<float>(), value.numel()});
  grads_.push_back(std::move(g));
}

LlamaGrad::LlamaGrad(LlamaModel& m, const GradSetup& setup) : m_(m), setup_(setup) {
  const LlamaConfig& c = m.config;
  const size_t L = static_cast<size_t>(c.n_layers);
  w_index_.assign(L, {-1, -1, -1, -1, -1, -1, -1});
  lora_a_index_ = w_index_;
  lora_b_index_ = w_index_;
  bias_index_.assign(L, {-1, -1, -1});
  norm_index_.assign(L, {-1, -1});
  LlamaWeights& w = m.weights;
  if (!setup.lora) {
    auto own = [](Tensor& t) {
      std::string n = t.name;
      // A quantized base (Q4_0 GGUF) is dequantized: full fine-tuning trains f32 weights.
      t = dtype_info(t.dtype()).quantized ? dequantize(t.contiguous()) : t.to(DType::F32);
      if (!t.storage()->writable() || t.storage().use_count() > 1) t = t.clone();
      t.name = n;
    };
    const bool tied = c.tied_embeddings;
    own(w.tok_embd);
    embed_index_ = static_cast<int>(params_.size());
    add_param("model.embed_tokens.weight", w.tok_embd);
    if (tied) w.output = w.tok_embd;
    for (size_t l = 0; l < L; ++l) {
      LlamaLayer& ly = w.layers[l];
      own(ly.attn_norm);
      norm_index_[l][0] = static_cast<int>(params_.size());
      add_param(fmt::format("model.layers.{}.input_layernorm.weight", l), ly.attn_norm);
      for (int kk = 0; kk < kNumLinearKinds; ++kk) {
        const auto kind = static_cast<LinearKind>(kk);
        own(ly.weight(kind));
        w_index_[l][static_cast<size_t>(kk)] = static_cast<int>(params_.size());
        add_param(hf_weight_name(static_cast<int64_t>(l), kind), ly.weight(kind));
        if (kk < 3 && ly.bias(kind).defined()) {
          Tensor& b = kk == 0 ? ly.bq : kk == 1 ? ly.bk : ly.bv;
          own(b);
          bias_index_[l][static_cast<size_t>(kk)] = static_cast<int>(params_.size());
          add_param(fmt::format("model.layers.{}.self_attn.{}.bias", l, peft_module_name(kind)), b);
        }
      }
      own(ly.ffn_norm);
      norm_index_[l][1] = static_cast<int>(params_.size());
      add_param(fmt::format("model.layers.{}.post_attention_layernorm.weight", l), ly.ffn_norm);
    }
    own(w.out_norm);
    out_norm_index_ = static_cast<int>(params_.size());
    add_param("model.norm.weight", w.out_norm);
    if (!tied) {
      own(w.output);
      output_index_ = static_cast<int>(params_.size());
      add_param("lm_head.weight", w.output);
    }
    return;
  }
  const LoraConfig& lc = setup.lora_config;
  EDGE_CHECK(lc.rank > 0, "LoRA rank must be positive, got {}", lc.rank);
  EDGE_CHECK(lc.dropout >= 0 && lc.dropout < 1, "LoRA dropout must be in [0, 1), got {}", lc.dropout);
  std::array<bool, kNumLinearKinds> targeted{};
  for (const auto& t : lc.targets) targeted[static_cast<size_t>(linear_kind_from_peft(t))] = true;
  uint64_t stream = lc.seed * 7919 + 1;
  for (size_t l = 0; l < L; ++l) {
    for (int kk = 0; kk < kNumLinearKinds; ++kk) {
      if (!targeted[static_cast<size_t>(kk)]) continue;
      const auto kind = static_cast<LinearKind>(kk);
      const Tensor& W = w.layers[l].weight(kind);
      const int64_t out = W.shape().rows(), in = W.shape().cols();
      LoraPair& lp = w.layers[l].lora[kk];
      // PEFT: kaiming_uniform_(a=√5) on A gives U(−1/√in, 1/√in); B starts at zero.
      lp.A = Tensor::empty({lc.rank, in});
      lp.B = Tensor::zeros({out, lc.rank});
      lp.scale = lc.alpha / static_cast<float>(lc.rank);
      const float bound = 1.0f / std::sqrt(static_cast<float>(in));
      float* a = lp.A.data<float>();
      for (int64_t i = 0; i < lp.A.numel(); ++i) {
        uint64_t z = (++stream) * 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        a[i] = bound * (2.0f * static_cast<float>(static_cast<double>(z >> 11) * 0x1.0p-53) - 1.0f);
      }
      lora_a_index_[l][static_cast<size_t>(kk)] = static_cast<int>(params_.size());
      add_param(peft_lora_name(static_cast<int64_t>(l), kind, 'A'), lp.A);
      lora_b_index_[l][static_cast<size_t>(kk)] = static_cast<int>(params_.size());
      add_param(peft_lora_name(static_cast<int64_t>(l), kind, 'B'), lp.B);
    }
  }
}

size_t LlamaGrad::activation_bytes(const LlamaConfig& c, const GradSetup& setup_, int64_t B, int64_t T) {
  const int64_t R = B * T;
  const int64_t per_layer = R * (4 * c.dim + 2 * c.q_dim() + 2 * c.kv_dim() + c.n_heads + 3 * c.ffn_dim + 2);
  const int64_t layers_kept = setup_.checkpointing ? 1 : c.n_layers;
  const int64_t residuals = (c.n_layers + 1) * R * c.dim;
  const int64_t head = std::min<int64_t>(R, setup_.logits_chunk) * c.vocab * 2 + 3 * R * c.dim;
  const int64_t backward = R * (2 * c.dim + 2 * c.q_dim() + 2 * c.kv_dim() + 3 * c.ffn_dim);
  return static_cast<size_t>(per_layer * layers_kept + residuals + head + backward) * sizeof(float);
}

void LlamaGrad::layer_forward(int64_t l, const float* x_in, float* x_out, LayerActs& a, int64_t B, int64_t T) {
  const LlamaConfig& c = m_.config;
  const LlamaLayer& L = m_.weights.layers[static_cast<size_t>(l)];
  const auto& k = kernels();
  const int64_t R = B * T, HD = c.head_dim;
  a.allocate(c, R);
  const uint64_t key_base = (setup_.lora_config.seed * 1000003ULL + dropout_step_) * 131ULL + static_cast<uint64_t>(l);

  // Linear with LoRA (and LoRA dropout on its input when training).
  auto lin = [&](float* y, const float* x, LinearKind kind, int64_t /* rows: always R */) {
    const int kk = static_cast<int>(kind);
    const LoraPair& lp = L.lora[kk];
    const float p = setup_.lora_config.dropout;
    if (!lp.defined() || p <= 0) return linear_with_lora(y, x, L.weight(kind), L.bias(kind), lp, R, true);
    linear_forward(y, x, L.weight(kind), L.bias(kind).defined() ? L.bias(kind).data<float>() : nullptr, R,
                   QuantMath::Exact);
    const int64_t in = L.weight(kind).shape().cols(), out = L.weight(kind).shape().rows(), r = lp.A.shape()[0];
    Tensor xd = Tensor::empty({R, in}), u = Tensor::empty({R, r}), d = Tensor::empty({R, out});
    const uint64_t key = key_base * 8 + static_cast<uint64_t>(kk);
    const float inv_keep = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < R * in; ++i) xd.data<float>()[i] = keep_element(key, i, p) ? x[i] * inv_keep : 0.0f;
    linear_forward(u.data<float>(), xd.data<float>(), lp.A, nullptr, R);
    linear_forward(d.data<float>(), u.data<float>(), lp.B, nullptr, R);
    k.scale_backward(y, d.data<float>(), lp.scale, R * out);
  };

  std::vector<float> cosb(static_cast<size_t>(T * HD / 2)), sinb(cosb.size());
  rope_tables(c, 0, T, cosb.data(), sinb.data());
  // The block of inference, with f32 math, each sequence its own keys, and LoRA dropout on the linears.
  CpuBlockOps ops{c, L, B, T, 0, cosb.data(), sinb.data(), nullptr, nullptr, QuantMath::Exact, lin};
  block_forward(ops, c, a.buffers(const_cast<float*>(x_in), x_out), R);
}

void LlamaGrad::layer_backward(int64_t l, float* dx, const float* x_in, const LayerActs& a, int64_t B, int64_t T) {
  // In: dx = ∂loss/∂x_out. Out: dx = ∂loss/∂x_in. x_out = x_mid + h·Wdᵀ, x_mid = x_in + o·Woᵀ.
  const LlamaConfig& c = m_.config;
  const LlamaLayer& L = m_.weights.layers[static_cast<size_t>(l)];
  const auto& k = kernels();
  const int64_t R = B * T, C = c.dim, F = c.ffn_dim, NH = c.n_heads, KVH = c.n_kv_heads, HD = c.head_dim;
  const size_t li = static_cast<size_t>(l);
  const uint64_t key_base = (setup_.lora_config.seed * 1000003ULL + dropout_step_) * 131ULL + static_cast<uint64_t>(l);

  // Backward of y = x·Wᵀ + b + s·(drop(x)·Aᵀ)·Bᵀ: dx_lin += dy·W; dW += dyᵀ·x; db += Σ dy;
  // u = drop(x)·Aᵀ: dB += s·dyᵀ·u; du = s·dy·B; dA += duᵀ·drop(x); dx_lin += drop'(du·A).
  // overwrite: dx_lin = dy·W + ... (dx_lin need not be zeroed). dx_lin == nullptr: nobody needs the
  // input gradient (the first block of a model whose embedding and first norm are frozen).
  auto lin_back = [&](float* dx_lin, const float* dy, const float* x, LinearKind kind, bool overwrite = false) {
    const int kk = static_cast<int>(kind);
    const Tensor& W = L.weight(kind);
    const int64_t out = W.shape().rows(), in = W.shape().cols();
    if (dx_lin) linear_backward_input(dx_lin, dy, W, R, !overwrite);
    if (int wi = w_index_[li][static_cast<size_t>(kk)]; wi >= 0) linear_backward_weight(params_[static_cast<size_t>(wi)].grad, dy, x, R, out, in);
    if (kk < 3)
      if (int bi = bias_index_[li][static_cast<size_t>(kk)]; bi >= 0) colsum_add(params_[static_cast<size_t>(bi)].grad, dy, R, out);
    const LoraPair& lp = L.lora[kk];
    if (!lp.defined()) return;
    const int64_t r = lp.A.shape()[0];
    const float p = setup_.lora_config.dropout;
    Tensor xd_t;
    const float* xd = x;
    const uint64_t key = key_base * 8 + static_cast<uint64_t>(kk);
    const float inv_keep = 1.0f / (1.0f - p);
    if (p > 0) {
      xd_t = Tensor::empty({R, in});
      for (int64_t i = 0; i < R * in; ++i) xd_t.data<float>()[i] = keep_element(key, i, p) ? x[i] * inv_keep : 0.0f;
      xd = xd_t.data<float>();
    }
    Tensor u = Tensor::empty({R, r}), dys = Tensor::empty({R, out}), du = Tensor::zeros({R, r});
    linear_forward(u.data<float>(), xd, lp.A, nullptr, R);
    k.scale_forward(dys.data<float>(), dy, lp.scale, R * out);
    const int ai = lora_a_index_[li][static_cast<size_t>(kk)], bi = lora_b_index_[li][static_cast<size_t>(kk)];
    if (bi >= 0) linear_backward_weight(params_[static_cast<size_t>(bi)].grad, dys.data<float>(), u.data<float>(), R, out, r);
    linear_backward_input(du.data<float>(), dys.data<float>(), lp.B, R);
    if (ai >= 0) linear_backward_weight(params_[static_cast<size_t>(ai)].grad, du.data<float>(), xd, R, r, in);
    if (!dx_lin) return;
    if (p <= 0) {
      linear_backward_input(dx_lin, du.data<float>(), lp.A, R);
    } else {
      Tensor dxd = Tensor::zeros({R, in});
      linear_backward_input(dxd.data<float>(), du.data<float>(), lp.A, R);
      for (int64_t i = 0; i < R * in; ++i)
        if (keep_element(key, i, p)) dx_lin[i] += dxd.data<float>()[i] * inv_keep;
    }
  };
  auto norm_grad = [&](int which) -> float* {
    const int ni = norm_index_[li][static_cast<size_t>(which)];
    return ni >= 0 ? params_[static_cast<size_t>(ni)].grad : nullptr;
  };

  // ---- MLP ----
  Tensor dh = Tensor::empty({R, F}), dgate = Tensor::zeros({R, F}), dup = Tensor::zeros({R, F});
  Tensor dxn = Tensor::empty({R, C});
  lin_back(dh.data<float>(), dx, a.h.data<float>(), LinearKind::Down, true);
  k.swiglu_backward(dgate.data<float>(), dup.data<float>(), dh.data<float>(), a.gate.data<float>(), a.up.data<float>(), R * F);
  dh = Tensor();
  lin_back(dxn.data<float>(), dgate.data<float>(), a.xn2.data<float>(), LinearKind::Gate, true);
  lin_back(dxn.data<float>(), dup.data<float>(), a.xn2.data<float>(), LinearKind::Up);
  dgate = Tensor();
  dup = Tensor();
  // dx now becomes ∂loss/∂x_mid: the residual path plus the norm's input gradient.
  Tensor dw_scratch;
  float* dw2 = norm_grad(1);
  if (!dw2) {
    dw_scratch = Tensor::zeros({C});
    dw2 = dw_scratch.data<float>();
  }
  k.rmsnorm_backward(dx, dw2, dxn.data<float>(), a.x_mid.data<float>(), L.ffn_norm.data<float>(), a.rstd2.data<float>(), R, C);

  // ---- attention ----
  Tensor dout = Tensor::empty({R, NH * HD});
  lin_back(dout.data<float>(), dx, a.att.data<float>(), LinearKind::O, true);
  Tensor dq = Tensor::zeros({R, NH * HD}), dk = Tensor::zeros({R, KVH * HD}), dv = Tensor::zeros({R, KVH * HD});
  for (int64_t b = 0; b < B; ++b) {
    AttentionDims d;
    d.T = T, d.S = T, d.NH = NH, d.KVH = KVH, d.HD = HD, d.pos0 = 0;
    d.q_stride = NH * HD, d.k_stride = KVH * HD, d.v_stride = KVH * HD, d.o_stride = NH * HD;
    d.scale = 1.0 / std::sqrt(static_cast<double>(HD));
    const int64_t qo = b * T * NH * HD, ko = b * T * KVH * HD;
    attention_backward(dq.data<float>() + qo, dk.data<float>() + ko, dv.data<float>() + ko, dout.data<float>() + qo,
                       a.q.data<float>() + qo, a.k.data<float>() + ko, a.v.data<float>() + ko, a.att.data<float>() + qo,
                       a.lse.data<float>() + b * T * NH, d);
  }
  dout = Tensor();
  // rope is a rotation: ∂/∂(pre-rope) = Rᵀ·∂/∂(post-rope)
  std::vector<float> cosb(static_cast<size_t>(T * HD / 2)), sinb(cosb.size());
  rope_tables(c, 0, T, cosb.data(), sinb.data());
  Tensor dq0 = Tensor::zeros({R, NH * HD}), dk0 = Tensor::zeros({R, KVH * HD});
  for (int64_t b = 0; b < B; ++b) {
    k.rope_backward(dq0.data<float>() + b * T * NH * HD, dq.data<float>() + b * T * NH * HD, cosb.data(), sinb.data(),
                    T, NH, HD, c.rope_pairing);
    k.rope_backward(dk0.data<float>() + b * T * KVH * HD, dk.data<float>() + b * T * KVH * HD, cosb.data(),
                    sinb.data(), T, KVH, HD, c.rope_pairing);
  }
  dq = Tensor();
  dk = Tensor();
  float* dw1 = norm_grad(0);
  // x_in's gradient (through this norm) is needed below the first block, or by a trainable embedding
  // or attention norm; otherwise q/k/v's input gradients (3 GEMMs) are not formed.
  const bool need_dx_in = l > 0 || embed_index_ >= 0 || dw1 != nullptr;
  float* dxn_qkv = need_dx_in ? dxn.data<float>() : nullptr;
  lin_back(dxn_qkv, dq0.data<float>(), a.xn1.data<float>(), LinearKind::Q, true);
  lin_back(dxn_qkv, dk0.data<float>(), a.xn1.data<float>(), LinearKind::K);
  lin_back(dxn_qkv, dv.data<float>(), a.xn1.data<float>(), LinearKind::V);
  if (!need_dx_in) return;
  if (!dw1) {
    if (!dw_scratch.defined()) dw_scratch = Tensor::zeros({C});
    dw1 = dw_scratch.data<float>();
  }
  // dx (= ∂loss/∂x_mid) flows unchanged to x_in, plus the attention norm's input gradient.
  k.rmsnorm_backward(dx, dw1, dxn.data<float>(), x_in, L.attn_norm.data<float>(), a.rstd1.data<float>(), R, C);
}

LossSum LlamaGrad::run(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T, float loss_scale,
                       bool backward, const HiddenHead* head) {
  const LlamaConfig& c = m_.config;
  const auto& k = kernels();
  const int64_t R = B * T, C = c.dim, V = c.vocab, NL = c.n_layers;
  EDGE_CHECK(B > 0 && T > 0, "a batch needs B > 0 and T > 0, got B={} T={}", B, T);
  check_block_positions(c, T);
  std::vector<int32_t> tgt(static_cast<size_t>(R));
  for (int64_t r = 0; r < R; ++r) {
    EDGE_CHECK(ids[r] >= 0 && ids[r] < V, "token id {} at row {} is outside the vocabulary of {}", ids[r], r, V);
    if (head) continue;  // no targets: the caller's head scores the hidden states
    EDGE_CHECK(targets[r] < V, "target {} at row {} is outside the vocabulary of {}", targets[r], r, V);
    tgt[static_cast<size_t>(r)] = targets[r] < 0 ? kIgnore : targets[r];
  }

  // Residual stream entering each block, and after the last: (NL+1) × (R, C). These are also the
  // checkpoints when blocks are recomputed in backward.
  std::vector<Tensor> xs;
  for (int64_t l = 0; l <= NL; ++l) xs.push_back(Tensor::empty({R, C}));
  for (int64_t r = 0; r < R; ++r) dequantize_row(xs[0].data<float>() + r * C, m_.weights.tok_embd, ids[r]);
  const bool keep_all = backward && !setup_.checkpointing;
  std::vector<LayerActs> acts(static_cast<size_t>(keep_all ? NL : 1));
  for (int64_t l = 0; l < NL; ++l)
    layer_forward(l, xs[static_cast<size_t>(l)].data<float>(), xs[static_cast<size_t>(l + 1)].data<float>(),
                  acts[keep_all ? static_cast<size_t>(l) : 0], B, T);

  // ---- head: final norm, logits in row chunks, cross-entropy (and its backward) ----
  Tensor xnf = Tensor::empty({R, C}), rstdf = Tensor::empty({R});
  const float* x_last = xs[static_cast<size_t>(NL)].data<float>();
  k.rmsnorm_forward(xnf.data<float>(), rstdf.data<float>(), x_last, m_.weights.out_norm.data<float>(), R, C, c.rms_eps);
  Tensor dxnf = backward ? Tensor::zeros({R, C}) : Tensor();
  LossSum total;
  if (head) total = {(*head)(xnf.data<float>(), dxnf.data<float>(), B, T), 1};
  const int64_t chunk = head ? 1 : std::max<int64_t>(1, std::min(R, setup_.logits_chunk));
  Tensor logits = Tensor::empty({chunk, V}), dlogits = backward ? Tensor::empty({chunk, V}) : Tensor();
  std::vector<float> loss(static_cast<size_t>(chunk)), lse(static_cast<size_t>(chunk));
  const int out_grad = output_index_ >= 0 ? output_index_ : (c.tied_embeddings ? embed_index_ : -1);
  for (int64_t r0 = 0; head == nullptr && r0 < R; r0 += chunk) {
    const int64_t n = std::min(chunk, R - r0);
    const float* xr = xnf.data<float>() + r0 * C;
    linear_forward(logits.data<float>(), xr, m_.weights.output, nullptr, n, QuantMath::Exact);
    k.cross_entropy_forward(loss.data(), lse.data(), logits.data<float>(), tgt.data() + r0, n, V, kIgnore);
    for (int64_t i = 0; i < n; ++i)
      if (tgt[static_cast<size_t>(r0 + i)] != kIgnore) {
        total.sum += loss[static_cast<size_t>(i)];
        ++total.count;
      }
    if (!backward) continue;
    // ∂/∂logits = (softmax − onehot)·loss_scale;  ∂/∂xnf += dlogits·Wout;  ∂/∂Wout += dlogitsᵀ·xnf
    std::fill(dlogits.data<float>(), dlogits.data<float>() + n * V, 0.0f);
    k.cross_entropy_backward(dlogits.data<float>(), logits.data<float>(), lse.data(), tgt.data() + r0, loss_scale, n,
                             V, kIgnore);
    linear_backward_input(dxnf.data<float>() + r0 * C, dlogits.data<float>(), m_.weights.output, n);
    if (out_grad >= 0)
      linear_backward_weight(params_[static_cast<size_t>(out_grad)].grad, dlogits.data<float>(), xr, n, V, C);
  }
  if (!backward) return total;
  logits = Tensor();
  dlogits = Tensor();

  Tensor dx = Tensor::zeros({R, C});
  Tensor dw_scratch;
  float* dwf = out_norm_index_ >= 0 ? params_[static_cast<size_t>(out_norm_index_)].grad : nullptr;
  if (!dwf) {
    dw_scratch = Tensor::zeros({C});
    dwf = dw_scratch.data<float>();
  }
  k.rmsnorm_backward(dx.data<float>(), dwf, dxnf.data<float>(), x_last, m_.weights.out_norm.data<float>(),
                     rstdf.data<float>(), R, C);
  dxnf = Tensor();
  for (int64_t l = NL - 1; l >= 0; --l) {
    LayerActs& a = acts[keep_all ? static_cast<size_t>(l) : 0];
    if (!keep_all) {
      // Recompute the block from its checkpoint; its output is discarded (xs[l+1] is already known).
      Tensor scratch = Tensor::empty({R, C});
      layer_forward(l, xs[static_cast<size_t>(l)].data<float>(), scratch.data<float>(), a, B, T);
    }
    layer_backward(l, dx.data<float>(), xs[static_cast<size_t>(l)].data<float>(), a, B, T);
    if (keep_all) a = LayerActs();  // free this block's activations as soon as they are consumed
    xs[static_cast<size_t>(l + 1)] = Tensor();
  }
  if (embed_index_ >= 0) {
    float* g = params_[static_cast<size_t>(embed_index_)].grad;
    k.embedding_backward(g, dx.data<float>(), ids, R, C, C);
  }
  return total;
}

LossSum LlamaGrad::forward_backward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T,
                                    float loss_scale) {
  return run(ids, targets, B, T, loss_scale, true);
}

double LlamaGrad::forward_backward_hidden(const int32_t* ids, int64_t B, int64_t T, const HiddenHead& head) {
  return run(ids, nullptr, B, T, 0.0f, true, &head).sum;
}

LossSum LlamaGrad::forward_loss(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T) {
  return run(ids, targets, B, T, 0.0f, false);
}

}  // namespace edgellm
