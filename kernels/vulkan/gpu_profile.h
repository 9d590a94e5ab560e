// GPU time per shader for kernel developers: with profiling on, every Batch writes a timestamp before its first
// dispatch and after each one, and after the fence the differences are summed per shader name here.
// Not the CPU's per-op profile (runtime/profile.h) and not free: a timestamp per dispatch; off by default.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace edgellm::vk {

// On when EDGELLM_VULKAN_PROFILE=1 at the first call, or after set_gpu_profiling(true) (`--profile` does it).
bool gpu_profiling();
void set_gpu_profiling(bool on);

struct ShaderTime {
  std::string name;
  uint64_t calls = 0;
  double ms = 0;  // GPU time from the end of the previous dispatch (or the batch's start) to the end of this one
};
// Adds one dispatch's GPU time.
void gpu_profile_add(const std::string& name, double ns);
// Sorted by time, most first.
std::vector<ShaderTime> gpu_profile();
void reset_gpu_profile();
// The table (shader, calls, ms, ms per call, share); nothing when nothing was recorded.
void print_gpu_profile(std::FILE* out);

}  // namespace edgellm::vk
