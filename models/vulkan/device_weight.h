// Model weights on the device, shared by the Vulkan forward and the Vulkan LoRA gradients: a weight keeps its type
// where a shader multiplies it directly, and is dequantized to f32 on upload where none does.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "kernels/vulkan/context.h"
#include "runtime/tensor.h"

namespace edgellm {

struct DeviceWeight {
  vk::Buffer buf;
  DType type = DType::F32;
  uint32_t N = 0, K = 0;  // rows (output features) and columns (input features)
};

// Uploads weight `t` (N, K). When its type has no shader, it goes up as f32 and, if `converted` is given, counts one
// more tensor of that type there (callers report what was converted).
DeviceWeight upload_weight(vk::Context& c, const Tensor& t, std::map<std::string, int>* converted = nullptr);

// Uploads an f32 vector or matrix (norm weights, biases) as it is.
vk::Buffer upload_f32(vk::Context& c, const Tensor& t);

}  // namespace edgellm
