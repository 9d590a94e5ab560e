// The Llama-family training graph: embedding → the blocks (models/block.h's forward, saving what its backward
// needs) → norm → logits in chunks → cross-entropy, and back. Not the block's math (block.h walks it both ways).
#include "train/llama_grad.h"

#include <algorithm>
#include <cmath>

#include "kernels/kernel_table.h"
#include "kernels/linear.h"
#include "models/block.h"
#include "runtime/error.h"
#include "train/peft_modules.h"

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

// The name a full fine-tuning parameter goes by: Hugging Face's for the families whose tensors it keeps one to
// one (Gemma's norms by their place), GGUF's (the tensor's own) for GPT-2, whose q/k/v are rows of a transposed c_attn.
namespace {
std::string layer_norm_name(const LlamaConfig& c, size_t l, BlockNorm which) {
  const bool post = c.block.post_norms;
  const char* n = which == BlockNorm::Attn       ? "input_layernorm"
                  : which == BlockNorm::Ffn      ? (post ? "pre_feedforward_layernorm" : "post_attention_layernorm")
                  : which == BlockNorm::AttnPost ? "post_attention_layernorm"
                  : which == BlockNorm::FfnPost  ? "post_feedforward_layernorm"
                  : which == BlockNorm::Q        ? "self_attn.q_norm"
                                                 : "self_attn.k_norm";
  return fmt::format("model.layers.{}.{}.weight", l, n);
}
}  // namespace

LlamaGrad::LlamaGrad(LlamaModel& m, const GradSetup& setup) : m_(m), setup_(setup) {
  check_block_backward(m.config, true);  // refused before any copy is made
  const LlamaConfig& c = m.config;
  const size_t L = static_cast<size_t>(c.n_layers);
  layer_grads_.assign(L, BlockWeightGrads{});
  LlamaWeights& w = m.weights;
  if (!setup.lora) {
    auto own = [](Tensor& t) {
      std::string n = t.name;
      // A quantized base (Q4_0 GGUF) is dequantized: full fine-tuning trains f32 weights.
      t = dtype_info(t.dtype()).quantized ? dequantize(t.contiguous()) : t.to(DType::F32);
      if (!t.storage()->writable() || t.storage().use_count() > 1) t = t.clone();
      t.name = n;
    };
    const bool gguf_names = c.arch == "gpt2";
    // Makes t a trainable parameter named hf (or, for GPT-2, by its GGUF name); returns its gradient.
    auto train = [&](Tensor& t, const std::string& hf) {
      own(t);
      add_param(gguf_names ? t.name : hf, t);
      return params_.back().grad;
    };
    const bool tied = c.tied_embeddings;
    embed_index_ = static_cast<int>(params_.size());
    train(w.tok_embd, "model.embed_tokens.weight");
    if (tied) w.output = w.tok_embd;
    if (w.pos_embd.defined()) {
      pos_index_ = static_cast<int>(params_.size());
      train(w.pos_embd, "model.embed_positions.weight");
    }
    for (size_t l = 0; l < L; ++l) {
      LlamaLayer& ly = w.layers[l];
      BlockWeightGrads& g = layer_grads_[l];
      g.norm[0] = train(ly.attn_norm, layer_norm_name(c, l, BlockNorm::Attn));
      if (ly.attn_norm_b.defined()) g.norm_b[0] = train(ly.attn_norm_b, "attn_norm.bias");
      if (ly.q_norm.defined()) g.norm[4] = train(ly.q_norm, layer_norm_name(c, l, BlockNorm::Q));
      if (ly.k_norm.defined()) g.norm[5] = train(ly.k_norm, layer_norm_name(c, l, BlockNorm::K));
      for (int kk = 0; kk < kNumLinearKinds; ++kk) {
        const auto kind = static_cast<LinearKind>(kk);
        if (!ly.weight(kind).defined()) continue;  // no gate in a plain GELU MLP
        g.w[kk] = train(ly.weight(kind), hf_weight_name(static_cast<int64_t>(l), kind));
        Tensor& b = ly.bias(kind);
        if (b.defined()) {
          const bool attn = kk <= static_cast<int>(LinearKind::O);
          g.bias[kk] = train(b, fmt::format("model.layers.{}.{}.{}.bias", l, attn ? "self_attn" : "mlp", peft_module_name(kind)));
        }
      }
      if (ly.attn_post_norm.defined()) g.norm[2] = train(ly.attn_post_norm, layer_norm_name(c, l, BlockNorm::AttnPost));
      g.norm[1] = train(ly.ffn_norm, layer_norm_name(c, l, BlockNorm::Ffn));
      if (ly.ffn_norm_b.defined()) g.norm_b[1] = train(ly.ffn_norm_b, "ffn_norm.bias");
      if (ly.ffn_post_norm.defined()) g.norm[3] = train(ly.ffn_post_norm, layer_norm_name(c, l, BlockNorm::FfnPost));
    }
    out_norm_index_ = static_cast<int>(params_.size());
    train(w.out_norm, "model.norm.weight");
    if (w.out_norm_b.defined()) {
      out_norm_b_index_ = static_cast<int>(params_.size());
      train(w.out_norm_b, "model.norm.bias");
    }
    if (!tied) {
      output_index_ = static_cast<int>(params_.size());
      train(w.output, "lm_head.weight");
    }
    return;
  }
  const LoraConfig& lc = setup.lora_config;
  EDGE_CHECK(lc.rank > 0, "LoRA rank must be positive, got {}", lc.rank);
  EDGE_CHECK(lc.dropout >= 0 && lc.dropout < 1, "LoRA dropout must be in [0, 1), got {}", lc.dropout);
  // One LoRA pair per targeted PEFT module of the family (train/peft_modules.h): a fused module's linears share
  // its A (and its dropout mask, as PEFT drops the module's one input) and own their rows of its B, so the
  // adapter is exactly PEFT's on the fused weight.
  for (const auto& t : lc.targets) check_peft_target(c, t);
  auto targeted = [&](const PeftModule& pm) { return std::find(lc.targets.begin(), lc.targets.end(), pm.name) != lc.targets.end(); };
  uint64_t stream = lc.seed * 7919 + 1;
  for (size_t l = 0; l < L; ++l) {
    for (const PeftModule& pm : peft_modules(c)) {
      if (!targeted(pm)) continue;
      const LlamaLayer& ly = w.layers[l];
      const int64_t in = ly.weight(pm.kinds[0]).shape().cols();
      const int64_t out = peft_rows_of(c, pm, pm.kinds.back()).second;
      // PEFT: kaiming_uniform_(a=√5) on A gives U(−1/√in, 1/√in); B starts at zero.
      Tensor A = Tensor::empty({lc.rank, in}), B = Tensor::zeros({out, lc.rank});
      const float bound = 1.0f / std::sqrt(static_cast<float>(in));
      float* a = A.data<float>();
      for (int64_t i = 0; i < A.numel(); ++i) {
        uint64_t z = (++stream) * 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        a[i] = bound * (2.0f * static_cast<float>(static_cast<double>(z >> 11) * 0x1.0p-53) - 1.0f);
      }
      const std::string prefix = peft_module_prefix(c, static_cast<int64_t>(l), pm);
      add_param(prefix + ".lora_A.weight", A);
      float* dA = params_.back().grad;
      add_param(prefix + ".lora_B.weight", B);
      float* dB = params_.back().grad;
      for (LinearKind kind : pm.kinds) {
        const int kk = static_cast<int>(kind);
        const auto [r0, r1] = peft_rows_of(c, pm, kind);
        LoraPair& lp = w.layers[l].lora[kk];
        lp.A = A;
        lp.B = B.slice(0, r0, r1);
        lp.scale = lc.alpha / static_cast<float>(lc.rank);
        lp.dropout_as = static_cast<int>(pm.kinds[0]);
        layer_grads_[l].lora_a[kk] = dA;
        layer_grads_[l].lora_b[kk] = dB + r0 * lc.rank;
      }
    }
  }
}

size_t LlamaGrad::activation_bytes(const LlamaConfig& c, const GradSetup& setup_, int64_t B, int64_t T) {
  const int64_t R = B * T;
  int64_t per_layer = R * (4 * c.dim + 2 * c.q_dim() + 2 * c.kv_dim() + c.n_heads + 3 * c.ffn_dim + 2);
  if (c.block.qk_norm) per_layer += R * (c.q_dim() + c.kv_dim() + c.n_heads + c.n_kv_heads);  // qr, kr, their rstd
  if (c.block.post_norms) per_layer += R * (2 * c.dim + 2);                                    // o_pre, d_pre, rstd
  const int64_t layers_kept = setup_.checkpointing ? 1 : c.n_layers;
  const int64_t residuals = (c.n_layers + 1) * R * c.dim;
  const int64_t head = std::min<int64_t>(R, setup_.logits_chunk) * c.vocab * 2 + 3 * R * c.dim;
  int64_t backward = R * (2 * c.dim + 3 * c.q_dim() + 3 * c.kv_dim() + 3 * c.ffn_dim);  // dx + BlockGradActs
  if (c.block.qk_norm) backward += R * (c.q_dim() + c.kv_dim());
  if (c.block.post_norms) backward += R * c.dim;
  return static_cast<size_t>(per_layer * layers_kept + residuals + head + backward) * sizeof(float);
}

CpuBlockOps LlamaGrad::layer_ops(int64_t l, int64_t B, int64_t T, const float* cos, const float* sin,
                                  const float* cos_local, const float* sin_local) const {
  const LlamaConfig& c = m_.config;
  const uint64_t dropout_key = (setup_.lora_config.seed * 1000003ULL + dropout_step_) * 131ULL + static_cast<uint64_t>(l);
  // The block of inference with f32 math, each sequence its own keys, LoRA dropout, and this layer's gradients.
  CpuBlockOps ops{c,       m_.weights.layers[static_cast<size_t>(l)], B, T, 0, cos, sin, nullptr, nullptr,
                  QuantMath::Exact, setup_.lora_config.dropout, dropout_key, &layer_grads_[static_cast<size_t>(l)]};
  ops.layer = l;  // its window, RoPE base, RoPE or not
  ops.cos_local = cos_local;
  ops.sin_local = sin_local;
  return ops;
}

LossSum LlamaGrad::run(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T, float loss_scale,
                       bool backward, const HiddenHead* head) {
  const LlamaConfig& c = m_.config;
  const auto& k = kernels();
  const int64_t R = B * T, C = c.dim, V = c.vocab, NL = c.n_layers;
  EDGE_CHECK(B > 0 && T > 0, "a batch needs B > 0 and T > 0, got B={} T={}", B, T);
  if (c.block.positions == PositionKind::Learned && T > c.max_ctx)
    fail("{} positions exceed the {} learned position embeddings", T, c.max_ctx);
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
  // ---- embed: token rows, × √C (Gemma), + learned positions (GPT-2), as llama_forward ----
  float* x0 = xs[0].data<float>();
  for (int64_t r = 0; r < R; ++r) dequantize_row(x0 + r * C, m_.weights.tok_embd, ids[r]);
  const float embed_scale = c.block.embed_scale ? static_cast<float>(std::sqrt(static_cast<double>(C))) : 1.0f;
  if (c.block.embed_scale) k.scale_forward(x0, x0, embed_scale, R * C);
  if (c.block.positions == PositionKind::Learned) {
    std::vector<float> row(static_cast<size_t>(C));
    for (int64_t r = 0; r < R; ++r) {
      dequantize_row(row.data(), m_.weights.pos_embd, r % T);
      k.add_forward(x0 + r * C, x0 + r * C, row.data(), C);
    }
  }
  const bool keep_all = backward && !setup_.checkpointing;
  std::vector<LayerActs> acts(static_cast<size_t>(keep_all ? NL : 1));
  const size_t half = static_cast<size_t>(c.rope_dims() / 2);
  std::vector<float> cosb(static_cast<size_t>(T) * half), sinb(cosb.size()), cosl, sinl;
  rope_tables(c, 0, T, cosb.data(), sinb.data());
  if (c.rope_theta_local > 0) {  // the sliding layers' own base (Gemma 3)
    cosl.resize(cosb.size());
    sinl.resize(cosb.size());
    rope_tables(c, 0, T, cosl.data(), sinl.data(), true);
  }
  // The block's forward, keeping every layer's activations or (checkpointing) only its input xs[l].
  auto forward_layer = [&](int64_t l, float* x_out) {
    LayerActs& a = acts[keep_all ? static_cast<size_t>(l) : 0];
    a.allocate(c, R);
    CpuBlockOps ops = layer_ops(l, B, T, cosb.data(), sinb.data(), cosl.empty() ? nullptr : cosl.data(),
                                sinl.empty() ? nullptr : sinl.data());
    block_forward(ops, c, a.buffers(xs[static_cast<size_t>(l)].data<float>(), x_out), R);
    return &a;
  };
  for (int64_t l = 0; l < NL; ++l) forward_layer(l, xs[static_cast<size_t>(l + 1)].data<float>());

  // ---- head: final norm, logits in row chunks, cross-entropy (and its backward) ----
  Tensor xnf = Tensor::empty({R, C}), rstdf = Tensor::empty({R});
  const float* x_last = xs[static_cast<size_t>(NL)].data<float>();
  const bool layernorm = c.block.norm == NormKind::LayerNorm;
  if (layernorm)
    k.layernorm_forward(xnf.data<float>(), rstdf.data<float>(), x_last, m_.weights.out_norm.data<float>(),
                        m_.weights.out_norm_b.data<float>(), R, C, c.rms_eps);
  else
    k.rmsnorm_forward(xnf.data<float>(), rstdf.data<float>(), x_last, m_.weights.out_norm.data<float>(), R, C, c.rms_eps);
  Tensor dxnf = backward ? Tensor::zeros({R, C}) : Tensor();
  LossSum total;
  if (head) total = {(*head)(xnf.data<float>(), dxnf.data<float>(), B, T), 1};
  const int64_t chunk = head ? 1 : std::max<int64_t>(1, std::min(R, setup_.logits_chunk));
  Tensor logits = Tensor::empty({chunk, V}), dlogits = backward ? Tensor::empty({chunk, V}) : Tensor();
  std::vector<float> loss(static_cast<size_t>(chunk)), lse(static_cast<size_t>(chunk));
  const float softcap = static_cast<float>(c.block.final_softcap);
  Tensor dcapped = backward && softcap > 0 ? Tensor::empty({chunk, V}) : Tensor();
  const int out_grad = output_index_ >= 0 ? output_index_ : (c.tied_embeddings ? embed_index_ : -1);
  for (int64_t r0 = 0; head == nullptr && r0 < R; r0 += chunk) {
    const int64_t n = std::min(chunk, R - r0);
    const float* xr = xnf.data<float>() + r0 * C;
    linear_forward(logits.data<float>(), xr, m_.weights.output, nullptr, n, QuantMath::Exact);
    if (softcap > 0) k.softcap_forward(logits.data<float>(), logits.data<float>(), softcap, n * V);  // Gemma 2
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
    if (softcap > 0) {  // ← the soft-cap: ∂/∂(uncapped) = ∂/∂logits · (1 − (logits/cap)²)
      std::fill(dcapped.data<float>(), dcapped.data<float>() + n * V, 0.0f);
      k.softcap_backward(dcapped.data<float>(), dlogits.data<float>(), logits.data<float>(), softcap, n * V);
      std::swap(dlogits, dcapped);
    }
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
  if (layernorm) {
    Tensor db_scratch;
    float* dbf = out_norm_b_index_ >= 0 ? params_[static_cast<size_t>(out_norm_b_index_)].grad : nullptr;
    if (!dbf) db_scratch = Tensor::zeros({C}), dbf = db_scratch.data<float>();
    k.layernorm_backward(dx.data<float>(), dwf, dbf, dxnf.data<float>(), x_last, m_.weights.out_norm.data<float>(),
                         rstdf.data<float>(), R, C);
  } else {
    k.rmsnorm_backward(dx.data<float>(), dwf, dxnf.data<float>(), x_last, m_.weights.out_norm.data<float>(),
                       rstdf.data<float>(), R, C);
  }
  dxnf = Tensor();
  BlockGradActs g;
  g.allocate(c, R);
  Tensor scratch = keep_all ? Tensor() : Tensor::empty({R, C});
  for (int64_t l = NL - 1; l >= 0; --l) {
    // Checkpointing recomputes the block from its input; the output is discarded (xs[l+1] is already known).
    LayerActs& a = keep_all ? acts[static_cast<size_t>(l)] : *forward_layer(l, scratch.data<float>());
    CpuBlockOps ops = layer_ops(l, B, T, cosb.data(), sinb.data(), cosl.empty() ? nullptr : cosl.data(),
                                sinl.empty() ? nullptr : sinl.data());
    // x_in's gradient (through this block's attention norm) is needed below the first block, or by a trainable
    // embedding or attention norm; otherwise q, k, v's input gradients (3 GEMMs) are not formed.
    const bool need_dx_in = l > 0 || embed_index_ >= 0 || pos_index_ >= 0 || layer_grads_[static_cast<size_t>(l)].norm[0];
    block_backward(ops, c, a.buffers(xs[static_cast<size_t>(l)].data<float>(), nullptr), g.grads(dx.data<float>()), R,
                   need_dx_in);
    if (keep_all) a = LayerActs();  // free this block's activations as soon as they are consumed
    xs[static_cast<size_t>(l + 1)] = Tensor();
  }
  // ---- embed, reversed: ∂/∂wpe[t] += Σ_b ∂/∂x0; ∂/∂wte[id] += √C·∂/∂x0 (Gemma's scale) ----
  if (pos_index_ >= 0) {
    float* g = params_[static_cast<size_t>(pos_index_)].grad;
    for (int64_t r = 0; r < R; ++r) k.add_forward(g + (r % T) * C, g + (r % T) * C, dx.data<float>() + r * C, C);
  }
  if (embed_index_ >= 0) {
    float* g = params_[static_cast<size_t>(embed_index_)].grad;
    if (c.block.embed_scale) k.scale_forward(dx.data<float>(), dx.data<float>(), embed_scale, R * C);
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
