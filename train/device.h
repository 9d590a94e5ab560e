// Where training's forward and backward run: `--device cpu | vulkan | vulkan:N` for a Trainer. LoRA on Vulkan
// accumulates the adapters' gradients into the host params (the optimizer stays on the CPU); full training on
// Vulkan keeps the weights, gradients and AdamW's moments on the device (models/vulkan/grad_vulkan.h).
// Not the training loop (train/trainer.h) and not inference's --device (models/vulkan/llama_vulkan.h).
#pragma once

#include <string>

#include "models/llama.h"
#include "train/trainer.h"

namespace edgellm {

// "vulkan" → −1 (the default GPU), "vulkan:N" → N; throws Error naming the option for anything else but "cpu".
int vulkan_device_index(const std::string& device);

// Sets tr.device for `device` (nothing for "cpu" or ""): after tr.resume(), whose params and optimizer state
// it uploads. Throws Error for what the device does not implement (LoRA dropout, SGD, a build without Vulkan).
void use_train_device(Trainer& tr, LlamaModel& m, const std::string& device);

}  // namespace edgellm
