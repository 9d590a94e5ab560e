// The per-shader GPU time table (kernels/vulkan/gpu_profile.h); Batch records the timestamps.
// Not a trace: only sums per shader name.
#include "kernels/vulkan/gpu_profile.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

namespace edgellm::vk {
namespace {
struct Sum {
  uint64_t calls = 0;
  double ns = 0;
};
std::mutex g_mu;
// Never destroyed: the exit handler below prints it after static destructors have started.
std::map<std::string, Sum>& sums() {
  static auto* s = new std::map<std::string, Sum>;
  return *s;
}
int env_default() {
  const char* e = std::getenv("EDGELLM_VULKAN_PROFILE");
  const bool on = e && std::string(e) == "1";
  // Programs that never ask (bench_train_vulkan, bench_decode_vulkan, tests) print the table at exit when the
  // environment turned profiling on.
  if (on) std::atexit([] { print_gpu_profile(stderr); });
  return on ? 1 : 0;
}
std::atomic<int>& flag() {
  static std::atomic<int> f{env_default()};
  return f;
}
}  // namespace

bool gpu_profiling() { return flag().load(std::memory_order_relaxed) != 0; }
void set_gpu_profiling(bool on) { flag().store(on ? 1 : 0); }

void gpu_profile_add(const std::string& name, double ns) {
  std::lock_guard<std::mutex> lock(g_mu);
  Sum& s = sums()[name];
  ++s.calls, s.ns += ns;
}

std::vector<ShaderTime> gpu_profile() {
  std::lock_guard<std::mutex> lock(g_mu);
  std::vector<ShaderTime> out;
  for (const auto& [name, s] : sums()) out.push_back({name, s.calls, s.ns * 1e-6});
  std::sort(out.begin(), out.end(), [](const ShaderTime& a, const ShaderTime& b) { return a.ms > b.ms; });
  return out;
}

void reset_gpu_profile() {
  std::lock_guard<std::mutex> lock(g_mu);
  sums().clear();
}

void print_gpu_profile(std::FILE* out) {
  const std::vector<ShaderTime> rows = gpu_profile();
  if (rows.empty()) return;
  double total = 0;
  for (const ShaderTime& r : rows) total += r.ms;
  std::fprintf(out, "\nVulkan GPU time per shader (timestamps around each dispatch; %.3f ms in all)\n", total);
  std::fprintf(out, "%-28s %10s %12s %12s %7s\n", "shader", "calls", "ms", "us/call", "share");
  for (const ShaderTime& r : rows)
    std::fprintf(out, "%-28s %10llu %12.3f %12.2f %6.1f%%\n", r.name.c_str(), static_cast<unsigned long long>(r.calls),
                 r.ms, 1e3 * r.ms / static_cast<double>(r.calls), total > 0 ? 100 * r.ms / total : 0.0);
}

}  // namespace edgellm::vk
