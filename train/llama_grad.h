// Forward with saved activations and the full backward of the Llama-family decoder, for full
// fine-tuning (every weight an f32 parameter) or LoRA (adapters on a frozen base of any dtype).
// Not the training loop (train/trainer.h): this computes a loss and accumulates gradients.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/block.h"
#include "models/llama.h"
#include "train/optimizer.h"

namespace edgellm {

struct LoraConfig {
  int rank = 8;
  float alpha = 16;
  float dropout = 0;
  std::vector<std::string> targets = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  uint64_t seed = 0;
};

struct GradSetup {
  bool lora = false;          // false: full fine-tuning
  LoraConfig lora_config;
  bool checkpointing = false;  // keep only each block's input; recompute the block in backward
  int64_t logits_chunk = 256;  // rows of (rows, V) logits alive at once
};

struct LossSum {
  double sum = 0;     // Σ per-token cross-entropy over unmasked targets
  int64_t count = 0;  // unmasked targets
  double mean() const { return count ? sum / static_cast<double>(count) : 0.0; }
};

class LlamaGrad {
 public:
  // Full fine-tuning replaces every weight of `m` by a writable f32 copy (the model then trains in place);
  // LoRA attaches fresh adapters (A Kaiming-uniform as PEFT does, B zero) to the targeted linears.
  LlamaGrad(LlamaModel& m, const GradSetup& setup);
  LlamaGrad(const LlamaGrad&) = delete;
  LlamaGrad& operator=(const LlamaGrad&) = delete;

  // Trainable parameters under Hugging Face names (full) or PEFT adapter names (LoRA).
  std::vector<Param>& params() { return params_; }
  LlamaModel& model() { return m_; }
  const std::vector<Tensor>& grad_tensors() const { return grads_; }  // params()[i]'s gradient, shaped
  const GradSetup& setup() const { return setup_; }

  // ids, targets (B, T); a negative target is masked (no loss). Accumulates loss_scale · d(Σ loss)/dθ
  // into the gradients (pass 1/N for the mean over the N unmasked targets of an optimizer step).
  LossSum forward_backward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T, float loss_scale);
  // A head of the caller's on the final normed hidden states instead of the LM head (an embedder's pooling
  // and contrastive loss): given xnf (B·T, C) it returns its loss and writes ∂loss/∂xnf, already scaled,
  // into dxnf (B·T, C, zeroed); the block stack's gradients accumulate from there. The output matrix gets none.
  using HiddenHead = std::function<double(const float* xnf, float* dxnf, int64_t B, int64_t T)>;
  double forward_backward_hidden(const int32_t* ids, int64_t B, int64_t T, const HiddenHead& head);
  // The loss alone (no activations kept, no gradients).
  LossSum forward_loss(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T);
  // Seeds LoRA dropout masks for the next forward_backward (the trainer passes its step).
  void set_dropout_step(uint64_t step) { dropout_step_ = step; }

  // Bytes of activations forward_backward keeps for (B, T): what budgets plan with.
  size_t activation_bytes(int64_t B, int64_t T) const { return activation_bytes(m_.config, setup_, B, T); }
  // The same before any LlamaGrad exists (budget planning refuses before allocating parameters).
  static size_t activation_bytes(const LlamaConfig& c, const GradSetup& setup, int64_t B, int64_t T);

 private:
  struct LayerActs;
  // The block's ops for layer l over (B, T), with rope tables `cos`, `sin` (T, D/2) and the sliding layers' own
  // (Gemma 3; else null).
  CpuBlockOps layer_ops(int64_t l, int64_t B, int64_t T, const float* cos, const float* sin, const float* cos_local,
                        const float* sin_local) const;
  LossSum run(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T, float loss_scale, bool backward,
              const HiddenHead* head = nullptr);
  void add_param(const std::string& name, Tensor& value);

  LlamaModel& m_;
  GradSetup setup_;
  std::vector<Param> params_;
  std::vector<Tensor> grads_;  // owns the gradient buffers of params_
  uint64_t dropout_step_ = 0;
  // Where each layer's weight gradients go (null: frozen), for the block's backward.
  std::vector<BlockWeightGrads> layer_grads_;
  int embed_index_ = -1, pos_index_ = -1, out_norm_index_ = -1, out_norm_b_index_ = -1, output_index_ = -1;
};

// The Hugging Face name of a weight ("model.layers.0.self_attn.q_proj.weight") and PEFT's name of
// an adapter tensor ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").
std::string hf_weight_name(int64_t layer, LinearKind k);
std::string peft_lora_name(int64_t layer, LinearKind k, char which);

}  // namespace edgellm
