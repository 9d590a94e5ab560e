// Optimizers with PyTorch's semantics (AdamW with decoupled weight decay and bias correction;
// SGD with momentum), gradient clipping by global norm, and learning-rate schedules.
// Not an autograd: parameters and their gradients are plain f32 buffers the trainer owns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "runtime/tensor.h"

namespace edgellm {

// A trainable buffer: value (n) and its gradient (n).
struct Param {
  std::string name;
  float* value = nullptr;
  float* grad = nullptr;
  int64_t n = 0;
};

struct AdamWConfig {
  // Doubles, as PyTorch keeps them: (1 − β2) rounded from 0.999f differs from torch by 1.3e-5 relative.
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
};

// The coefficients of AdamW step `step` (1-based) for the vector pass (kernels' adamw_f32 and the Vulkan shader):
// in double as PyTorch computes them, rounded once to float.
AdamWCoef adamw_coefficients(const AdamWConfig& c, int64_t step, float lr, float grad_scale);

struct SgdConfig {
  float lr = 1e-2f, momentum = 0.0f, dampening = 0.0f, weight_decay = 0.0f;
  bool nesterov = false;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every parameter with learning rate `lr` (from a schedule); increments step().
  // grad_scale multiplies every gradient as it is read (the clip coefficient, see clip_coefficient), so
  // clipping costs no pass of its own; the gradient buffers are left unscaled.
  virtual void step(std::vector<Param>& params, float lr, float grad_scale) = 0;
  void step(std::vector<Param>& params, float lr) { step(params, lr, 1.0f); }
  // Allocates zeroed state for `params` (done by the first step; needed before load_state).
  virtual void init(const std::vector<Param>& params) = 0;
  int64_t steps() const { return step_; }
  // State tensors by name ("exp_avg.<param>", ...) for checkpoints; load restores them.
  virtual std::vector<std::pair<std::string, Tensor>> state() const = 0;
  virtual void load_state(const std::vector<std::pair<std::string, Tensor>>& s, int64_t steps) = 0;

 protected:
  int64_t step_ = 0;
};

class AdamW final : public Optimizer {
 public:
  explicit AdamW(AdamWConfig c) : c_(c) {}
  //   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  θ ← θ·(1 − lr·λ)
  //   θ ← θ − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
  using Optimizer::step;
  void step(std::vector<Param>& params, float lr, float grad_scale) override;
  void init(const std::vector<Param>& params) override;
  std::vector<std::pair<std::string, Tensor>> state() const override;
  void load_state(const std::vector<std::pair<std::string, Tensor>>& s, int64_t steps) override;
  const AdamWConfig& config() const { return c_; }

 private:
  AdamWConfig c_;
  std::vector<std::string> names_;
  std::vector<Tensor> m_, v_;
};

class Sgd final : public Optimizer {
 public:
  explicit Sgd(SgdConfig c) : c_(c) {}
  // g ← g + λθ;  b ← μ·b + (1−τ)·g (b = g at the first step);  θ ← θ − lr·(nesterov ? g + μb : b)
  using Optimizer::step;
  void step(std::vector<Param>& params, float lr, float grad_scale) override;
  void init(const std::vector<Param>& params) override;
  std::vector<std::pair<std::string, Tensor>> state() const override;
  void load_state(const std::vector<std::pair<std::string, Tensor>>& s, int64_t steps) override;

 private:
  SgdConfig c_;
  std::vector<std::string> names_;
  std::vector<Tensor> buf_;
};

// Scales all gradients so that their global L2 norm is at most max_norm (PyTorch's clip_grad_norm_:
// coefficient max_norm / (norm + 1e-6), capped at 1). Returns the norm before clipping.
double clip_grad_norm(std::vector<Param>& params, double max_norm);
// The two halves of clip_grad_norm for the fused path: the global L2 norm of all gradients (the same for
// every thread count), and the coefficient min(1, max_norm / (norm + 1e-6)) to pass as grad_scale.
double grad_global_norm(const std::vector<Param>& params);
float clip_coefficient(double norm, double max_norm);

void zero_grads(std::vector<Param>& params);

enum class LrSchedule { Constant, Linear, Cosine };
LrSchedule lr_schedule_from_name(const std::string& name);  // constant | linear | cosine

// lr at `step` (0-based) of `total`: linear warm-up over `warmup` steps from 0, then constant, linear
// decay to min_lr, or cosine decay to min_lr.
float lr_at(LrSchedule s, float base_lr, float min_lr, int64_t step, int64_t warmup, int64_t total);

}  // namespace edgellm
