// The --device option (cpu | vulkan | vulkan:N) and the device lines of `edgellm info`.
// Not the backend: models/vulkan/llama_vulkan.h does the work; a CPU-only build says how to get Vulkan.
#include <fmt/format.h>

#include <algorithm>

#include "runtime/error.h"
#include "tools/edgellm/commands.h"
#include "train/trainer.h"
#ifdef EDGELLM_HAVE_VULKAN
#include "models/vulkan/lora_grad_vulkan.h"
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

namespace {
int device_index(const std::string& device) {
  if (device == "vulkan") return -1;
  const std::string n = device.rfind("vulkan:", 0) == 0 ? device.substr(7) : "";
  if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos)
    fail("--device '{}': expected cpu, vulkan or vulkan:N", device);
  return std::stoi(n);
}

#ifdef EDGELLM_HAVE_VULKAN
// LoRA gradients of a micro-batch on the device, one sequence per call, added into LlamaGrad's params.
class VulkanTrainDevice final : public GradDevice {
 public:
  VulkanTrainDevice(Trainer& tr, LlamaModel& m, int index) : tr_(tr), m_(m), vg_(m, index) {}
  LossSum forward_backward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T, float scale) override {
    LossSum s;
    for (int64_t b = 0; b < B; ++b) {
      const auto [sum, count] = vg_.forward_backward(ids + b * T, targets + b * T, T, scale);
      s.sum += sum;
      s.count += count;
    }
    for (Param& p : tr_.grad().params()) {
      const Where w = where(p.name);
      const std::vector<float> g = vg_.grad(w.layer, w.kind, w.which);
      EDGE_CHECK(static_cast<int64_t>(g.size()) == p.n, "Vulkan LoRA: gradient of '{}' has {} values, want {}", p.name,
                 g.size(), p.n);
      for (int64_t i = 0; i < p.n; ++i) p.grad[i] += g[static_cast<size_t>(i)];
    }
    vg_.zero_grads();
    return s;
  }
  void params_updated() override { vg_.refresh_adapters(); }

 private:
  struct Where {
    int64_t layer;
    LinearKind kind;
    char which;
  };
  Where where(const std::string& name) const {
    for (int64_t l = 0; l < m_.config.n_layers; ++l)
      for (int k = 0; k < kNumLinearKinds; ++k)
        for (char c : {'A', 'B'})
          if (peft_lora_name(l, static_cast<LinearKind>(k), c) == name) return {l, static_cast<LinearKind>(k), c};
    fail("Vulkan LoRA: trainable parameter '{}' is not an adapter", name);
  }
  Trainer& tr_;
  LlamaModel& m_;
  VulkanLoraGrad vg_;
};
#endif
}  // namespace

void apply_train_device(Trainer& tr, LlamaModel& m, const std::string& device) {
  if (device == "cpu" || device.empty()) return;
  const int index = device_index(device);
  if (!tr.config().setup.lora) fail("--device {}: only LoRA fine-tuning runs on Vulkan (use --method lora)", device);
  if (tr.config().setup.lora_config.dropout > 0)
    fail("--device {}: LoRA dropout is not implemented on Vulkan (use --dropout 0)", device);
#ifdef EDGELLM_HAVE_VULKAN
  tr.device = std::make_shared<VulkanTrainDevice>(tr, m, index);
#else
  (void)index, (void)m;
  fail("--device {}: this edgellm was built without Vulkan (configure with -DEDGELLM_VULKAN=ON)", device);
#endif
}

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
      s += fmt::format("  vulkan:{}  {}  ({}, {} device-local, API {}.{}.{})\n", d.index, d.name, d.type,
                       format_bytes(d.device_local_bytes), VK_API_VERSION_MAJOR(d.api_version),
                       VK_API_VERSION_MINOR(d.api_version), VK_API_VERSION_PATCH(d.api_version));
  } catch (const Error& e) {
    s += fmt::format(" none ({})\n", e.what());
  }
  return s;
#else
  return "\nvulkan devices: not built (configure with -DEDGELLM_VULKAN=ON)\n";
#endif
}

}  // namespace edgellm::cli
