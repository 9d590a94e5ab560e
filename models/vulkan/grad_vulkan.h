// Training on a Vulkan device: the Llama-family forward with saved activations, cross-entropy and the whole
// backward on the device, every trainable tensor's gradient accumulated there, and AdamW there too.
// Not the training loop (train/trainer.h drives this through its GradDevice) and not the checkpoint format.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/llama.h"
#include "train/optimizer.h"

namespace edgellm {

struct LossSum;

class VulkanGrad {
 public:
  // `params` are the trainable tensors of m (LlamaGrad::params(): full fine-tuning's f32 weights, or LoRA's
  // adapters), matched to m's weights by their value pointers; every other weight is frozen and may be of any
  // type with a shader. Uploads the base and the params; gradients start at zero. checkpointing: keep only each
  // block's input and recompute the block in backward. Throws Error for q/k/v biases (qwen2) and for family options
  // (models/arch.h) other than QK-norm, naming the config field.
  VulkanGrad(const LlamaModel& m, const std::vector<Param>& params, bool checkpointing = false, int device = -1);
  ~VulkanGrad();
  VulkanGrad(const VulkanGrad&) = delete;
  VulkanGrad& operator=(const VulkanGrad&) = delete;

  // ids, targets (B, T); a negative target is masked. Returns Σ cross-entropy over unmasked targets and their
  // count; accumulates loss_scale · d(Σ loss)/dθ into the device gradients. One submit: B·T rows per GEMM.
  std::pair<double, int64_t> forward_backward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T,
                                              float loss_scale);
  void zero_grads();
  std::vector<float> grad(size_t i) const;  // params[i]'s gradient, downloaded
  // Σ g² over every gradient (partials on the device, the total in double here): the clipping norm's square.
  double grad_sumsq() const;

  // AdamW on the device (moments allocated at the first step, zero), the CPU trainer's update exactly.
  void adamw_step(const AdamWConfig& c, float lr, float grad_scale);
  int64_t optimizer_steps() const;
  // Host ↔ device: params' values (upload after a host update or a resume; download for a checkpoint) and
  // AdamW's state under AdamW::state()'s names.
  void upload_params();
  void download_params() const;
  std::vector<std::pair<std::string, Tensor>> adamw_state() const;
  void load_adamw_state(const std::vector<std::pair<std::string, Tensor>>& s, int64_t steps);

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

}  // namespace edgellm
