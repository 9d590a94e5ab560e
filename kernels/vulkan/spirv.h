// The SPIR-V modules compiled from kernels/vulkan/shaders at build time (cmake/embed_spirv.cmake writes them).
// Not a shader compiler: nothing is compiled at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace edgellm::vk {

struct SpirvModule {
  const uint32_t* words = nullptr;  // null when no module has that name
  size_t n = 0;                     // word count
};
// "gemm_q4_0", "rmsnorm", ...: the file name without .comp, with the weight type for gemm/matvec.
SpirvModule find_spirv(const char* name);
std::vector<std::string> spirv_names();

}  // namespace edgellm::vk
