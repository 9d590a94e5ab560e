// LoRA gradients on a Vulkan device, addressed by (layer, linear, A or B): models/vulkan/grad_vulkan.h's
// VulkanGrad with a model's attached adapters as its parameters (the base frozen, any weight type with a shader).
// Not the optimizer or the training loop (train/trainer.h); one sequence per call.
#pragma once

#include <memory>
#include <vector>

#include "models/llama.h"

namespace edgellm {

class VulkanLoraGrad {
 public:
  // Uploads m's base weights and its attached adapters (LlamaGrad's LoRA setup attaches them). Throws Error
  // for qkv biases (qwen2) and when no layer has an adapter.
  explicit VulkanLoraGrad(const LlamaModel& m, int device = -1);
  ~VulkanLoraGrad();
  // ids, targets (T); a negative target is masked. Returns Σ cross-entropy over unmasked targets and their
  // count; accumulates loss_scale · d(Σ loss)/dθ into the device gradients of every adapter.
  std::pair<double, int64_t> forward_backward(const int32_t* ids, const int32_t* targets, int64_t T, float loss_scale);
  // dA (r, in) and dB (out, r) of (layer, kind), downloaded; empty when that linear has no adapter.
  std::vector<float> grad(int64_t layer, LinearKind kind, char which) const;
  void zero_grads();
  // Uploads the adapters' current values again (after an optimizer step on the CPU).
  void refresh_adapters();

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

}  // namespace edgellm
