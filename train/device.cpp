// The Trainer's Vulkan devices (train/device.h): LoRA with the optimizer on the CPU, and full training resident
// on the GPU. Not the GPU math (models/vulkan/grad_vulkan.cpp); a build without Vulkan says how to get it.
#include "train/device.h"

#include "runtime/error.h"
#ifdef EDGELLM_HAVE_VULKAN
#include "models/vulkan/grad_vulkan.h"
#endif

namespace edgellm {

int vulkan_device_index(const std::string& device) {
  if (device == "vulkan") return -1;
  const std::string n = device.rfind("vulkan:", 0) == 0 ? device.substr(7) : "";
  if (n.empty() || n.size() > 4 || n.find_first_not_of("0123456789") != std::string::npos)
    fail("--device '{}': expected cpu, vulkan or vulkan:N", device);
  return std::stoi(n);
}

#ifdef EDGELLM_HAVE_VULKAN
namespace {

// LoRA: gradients of each micro-batch computed on the device and added into LlamaGrad's params; the CPU
// optimizer updates them, and the adapters go up again.
class VulkanLoraDevice final : public GradDevice {
 public:
  VulkanLoraDevice(Trainer& tr, LlamaModel& m, int index) : tr_(tr), vg_(m, tr.grad().params(), false, index) {}
  LossSum forward_backward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T, float scale) override {
    const auto [sum, count] = vg_.forward_backward(ids, targets, B, T, scale);
    std::vector<Param>& ps = tr_.grad().params();
    for (size_t i = 0; i < ps.size(); ++i) {
      const std::vector<float> g = vg_.grad(i);
      for (int64_t j = 0; j < ps[i].n; ++j) ps[i].grad[j] += g[static_cast<size_t>(j)];
    }
    vg_.zero_grads();
    return {sum, count};
  }
  void params_updated() override { vg_.upload_params(); }

 private:
  Trainer& tr_;
  VulkanGrad vg_;
};

// Full training resident on the device: the host params and AdamW state are touched only at checkpoints.
class VulkanFullDevice final : public GradDevice {
 public:
  VulkanFullDevice(Trainer& tr, LlamaModel& m, int index)
      : vg_(m, tr.grad().params(), tr.grad().setup().checkpointing, index) {
    from_host(tr.optimizer());
  }
  LossSum forward_backward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T, float scale) override {
    const auto [sum, count] = vg_.forward_backward(ids, targets, B, T, scale);
    return {sum, count};
  }
  void params_updated() override {}
  bool resident() const override { return true; }
  void zero_grads() override { vg_.zero_grads(); }
  double grad_sumsq() override { return vg_.grad_sumsq(); }
  void step(Optimizer& opt, float lr, float grad_scale) override { vg_.adamw_step(adamw(opt).config(), lr, grad_scale); }
  void to_host(Optimizer& opt) override {
    vg_.download_params();
    opt.load_state(vg_.adamw_state(), vg_.optimizer_steps());
  }
  void from_host(const Optimizer& opt) override {
    vg_.upload_params();
    if (opt.steps() > 0) vg_.load_adamw_state(opt.state(), opt.steps());
  }

 private:
  static const AdamW& adamw(const Optimizer& opt) {
    const auto* a = dynamic_cast<const AdamW*>(&opt);
    if (!a) fail("--device vulkan: full training on Vulkan implements AdamW only (use --optimizer adamw)");
    return *a;
  }
  VulkanGrad vg_;
};

}  // namespace
#endif

void use_train_device(Trainer& tr, LlamaModel& m, const std::string& device) {
  if (device == "cpu" || device.empty()) return;
  const int index = vulkan_device_index(device);
  const TrainConfig& c = tr.config();
  if (c.setup.lora && c.setup.lora_config.dropout > 0)
    fail("--device {}: LoRA dropout is not implemented on Vulkan (use --dropout 0)", device);
  if (!c.setup.lora && c.optimizer != "adamw")
    fail("--device {}: full training on Vulkan implements AdamW only, not --optimizer {}", device, c.optimizer);
#ifdef EDGELLM_HAVE_VULKAN
  if (c.setup.lora) tr.device = std::make_shared<VulkanLoraDevice>(tr, m, index);
  else tr.device = std::make_shared<VulkanFullDevice>(tr, m, index);
#else
  (void)index, (void)m;
  fail("--device {}: this edgellm was built without Vulkan (configure with -DEDGELLM_VULKAN=ON)", device);
#endif
}

}  // namespace edgellm
