// VulkanLoraGrad: models/vulkan/grad_vulkan.h's VulkanGrad with the adapters attached to a model as its
// parameters, addressed by (layer, linear, A or B). Not a second training path: VulkanGrad does the work.
#include "models/vulkan/lora_grad_vulkan.h"

#include <array>

#include "models/vulkan/grad_vulkan.h"
#include "runtime/error.h"
#include "train/llama_grad.h"

namespace edgellm {

struct VulkanLoraGrad::Impl {
  std::vector<Param> params;  // A then B of each adapter, by layer and linear
  std::vector<std::array<int, kNumLinearKinds>> index;  // (layer, kind) → params index of A, or −1
  std::unique_ptr<VulkanGrad> g;
};

VulkanLoraGrad::VulkanLoraGrad(const LlamaModel& m, int device) : p_(std::make_unique<Impl>()) {
  for (size_t l = 0; l < m.weights.layers.size(); ++l) {
    p_->index.emplace_back();
    for (int k = 0; k < kNumLinearKinds; ++k) {
      const LoraPair& lp = m.weights.layers[l].lora[k];
      p_->index.back()[static_cast<size_t>(k)] = lp.defined() ? static_cast<int>(p_->params.size()) : -1;
      if (!lp.defined()) continue;
      EDGE_CHECK(lp.A.dtype() == DType::F32 && lp.B.dtype() == DType::F32, "Vulkan LoRA: adapters must be f32");
      const auto kind = static_cast<LinearKind>(k);
      p_->params.push_back({peft_lora_name(static_cast<int64_t>(l), kind, 'A'), const_cast<float*>(lp.A.data<float>()), nullptr, lp.A.numel()});
      p_->params.push_back({peft_lora_name(static_cast<int64_t>(l), kind, 'B'), const_cast<float*>(lp.B.data<float>()), nullptr, lp.B.numel()});
    }
  }
  EDGE_CHECK(!p_->params.empty(), "Vulkan LoRA: the model has no adapters attached");
  p_->g = std::make_unique<VulkanGrad>(m, p_->params, false, device);
}
VulkanLoraGrad::~VulkanLoraGrad() = default;

std::pair<double, int64_t> VulkanLoraGrad::forward_backward(const int32_t* ids, const int32_t* targets, int64_t T,
                                                            float loss_scale) {
  return p_->g->forward_backward(ids, targets, 1, T, loss_scale);
}

std::vector<float> VulkanLoraGrad::grad(int64_t layer, LinearKind kind, char which) const {
  const int i = p_->index.at(static_cast<size_t>(layer))[static_cast<size_t>(kind)];
  if (i < 0) return {};
  return p_->g->grad(static_cast<size_t>(i) + (which == 'A' ? 0 : 1));
}

void VulkanLoraGrad::zero_grads() { p_->g->zero_grads(); }
void VulkanLoraGrad::refresh_adapters() { p_->g->upload_params(); }

}  // namespace edgellm
