// The --device option (cpu | vulkan | vulkan:N) and the device lines of `edgellm info`.
// Not the backend: models/vulkan/llama_vulkan.h does the work; a CPU-only build says how to get Vulkan.
#include <fmt/format.h>

#include <algorithm>

#include "runtime/error.h"
#include "tools/edgellm/commands.h"
#include "train/device.h"
#include "train/trainer.h"
#ifdef EDGELLM_HAVE_VULKAN
#include "kernels/vulkan/bandwidth.h"
#include "kernels/vulkan/context.h"
#include "models/vulkan/llama_vulkan.h"
#endif

namespace edgellm::cli {

void add_device_option(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device, "Where the forward runs: cpu, vulkan (the default GPU) or vulkan:N (see `edgellm info`)");
  // `edgellm --device vulkan VERB ...`: the global option, parsed before the verb, is the verb's default
  // (set as the verb's parsing starts; the verb's own --device, parsed after, wins).
  cmd->preparse_callback([&device](std::size_t) {
    if (!global_options().device.empty()) device = global_options().device;
  });
}

void apply_device(LlamaModel& m, const std::string& device) {
  if (device == "cpu" || device.empty()) return;
  int index = -1;
  if (device != "vulkan") {
    const std::string n = device.rfind("vulkan:", 0) == 0 ? device.substr(7) : "";
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos)
      fail("--device '{}': expected cpu, vulkan or vulkan:N", device);
    index = std::stoi(n);
  }
#ifdef EDGELLM_HAVE_VULKAN
  use_vulkan(m, index);
#else
  (void)index;
  fail("--device {}: this edgellm was built without Vulkan (configure with -DEDGELLM_VULKAN=ON)", device);
#endif
}

void apply_train_device(Trainer& tr, LlamaModel& m, const std::string& device) { use_train_device(tr, m, device); }

void run_device_bandwidth(const std::string& device) {
#ifdef EDGELLM_HAVE_VULKAN
  if (device.rfind("vulkan", 0) != 0) fail("--device '{}': the bandwidth probe runs on vulkan[:N]", device);
  const int index = device == "vulkan" ? -1 : std::stoi(device.substr(7));
  vk::Context& c = vk::context(index);
  const size_t bytes = std::min({size_t{256} << 20, c.budget() / 4, c.max_buffer_bytes() / 16 * 16});
  const vk::BandwidthResult r = vk::measure_bandwidth(c, bytes);
  fmt::print("| vulkan device | triad arrays | passes | GB/s |\n|---|---:|---:|---:|\n");
  fmt::print("| {} | 3 x {} | {} | {:.1f} |\n", c.info().name, format_bytes(r.bytes_per_pass / 3), r.passes,
             r.gb_per_s());
  fmt::print("bandwidth_gbs: {:.2f}\n", r.gb_per_s());
#else
  fail("--device {}: this edgellm was built without Vulkan (configure with -DEDGELLM_VULKAN=ON)", device);
#endif
}

std::string device_report() {
#ifdef EDGELLM_HAVE_VULKAN
  // Plain lines, not a table: `info`'s only table is the kernel list (tests parse it).
  std::string s = "\nvulkan devices:";
  try {
    const auto devs = vk::list_devices();
    if (devs.empty()) return s + " none\n";
    s += fmt::format(" {}\n", devs.size());
    for (const auto& d : devs)
      s += fmt::format("  vulkan:{}  {}  ({}, {} device-local, API {}.{}.{}{})\n", d.index, d.name, d.type,
                       format_bytes(d.device_local_bytes), VK_API_VERSION_MAJOR(d.api_version),
                       VK_API_VERSION_MINOR(d.api_version), VK_API_VERSION_PATCH(d.api_version),
                       d.coop_matrix ? ", tensor cores: VK_NV_cooperative_matrix" : "");
  } catch (const Error& e) {
    s += fmt::format(" none ({})\n", e.what());
  }
  return s;
#else
  return "\nvulkan devices: not built (configure with -DEDGELLM_VULKAN=ON)\n";
#endif
}

}  // namespace edgellm::cli
