// The Vulkan decode step's per-token overhead: after a prompt, N single-token forwards, with the vkCmd* calls
// and descriptor sets recorded, the dispatches, barriers and copies submitted, and the submits per token, and
// tokens/s; once per-op recorded every token (EDGELLM_VULKAN_FUSED=0, the path before the fused step) and once
// fused and replayed. Not llama-bench's tg (tools/bench-vulkan.sh has that); on lavapipe the t/s mean little.
// With `ab`: the fused step once more per variant (EDGELLM_VULKAN_MATVEC=words|deep|deep8|wide, with and without
// EDGELLM_VULKAN_PREFETCH=32, the split attention; and words with the per-head attention), alternating twice with
// the order flipped, each row with the GPU time per shader of its tokens (timestamps around every dispatch,
// kernels/vulkan/gpu_profile.h: the profile's own cost is in those runs).
// Usage: bench_decode_vulkan MODEL [tokens=32] [prompt=8] [ab]   (MODEL: a .gguf or builtin:<preset>)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>
#include <vector>

#include "kernels/vulkan/gpu_profile.h"
#include "kernels/vulkan/ops.h"
#include "models/runner.h"
#include "models/vulkan/llama_vulkan.h"

using namespace edgellm;

namespace {

double run(Model& model, bool fused, int tokens, int prompt, const char* label = nullptr) {
  setenv("EDGELLM_VULKAN_FUSED", fused ? "1" : "0", 1);
  use_vulkan(model.llama);
  const LlamaConfig& c = model.llama.config;
  KvCache cache(c, prompt + tokens + 1);
  std::vector<int32_t> ids(static_cast<size_t>(prompt));
  for (int i = 0; i < prompt; ++i) ids[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919 + 3) % c.vocab);
  std::vector<float> logits(static_cast<size_t>(c.vocab));
  llama_forward(model.llama, cache, ids.data(), prompt, logits.data(), false);
  int32_t id = 1;
  llama_forward(model.llama, cache, &id, 1, logits.data(), false);  // the first step records (fused: once)
  vk::reset_gpu_profile();  // a profile (ab) counts the timed tokens only
  const vk::BatchStats s0 = vk::batch_stats(vk::context());
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < tokens; ++i) {
    id = static_cast<int32_t>((id * 31 + 7) % c.vocab);
    llama_forward(model.llama, cache, &id, 1, logits.data(), false);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const vk::BatchStats s1 = vk::batch_stats(vk::context());
  auto per = [&](uint64_t a, uint64_t b) { return static_cast<double>(b - a) / tokens; };
  std::printf("| %-22s | %8.1f | %9.1f | %10.1f | %8.1f | %6.1f | %7.2f | %8.1f | %7.2f |\n",
              label ? label : fused ? "fused, replayed" : "per-op, recorded", per(s0.commands, s1.commands),
              per(s0.descriptor_sets, s1.descriptor_sets), per(s0.dispatches, s1.dispatches),
              per(s0.barriers, s1.barriers), per(s0.copies, s1.copies), per(s0.submits, s1.submits), tokens / s,
              1e3 * s / tokens);
  return tokens / s;
}

// The fused step per variant: tokens/s without the profile (twice, alternating), then one profiled run each.
void ab(Model& model, int tokens, int prompt) {
  struct Variant {
    const char *matvec, *attention, *prefetch;
  };
  const Variant vs[] = {{"words", "head", "0"},  {"words", "split", "0"},  {"deep", "split", "0"},
                        {"deep8", "split", "0"}, {"wide", "split", "0"},  {"words", "split", "32"},
                        {"deep", "split", "32"}};
  const int n = static_cast<int>(std::size(vs));
  auto use = [](const Variant& v) {
    setenv("EDGELLM_VULKAN_MATVEC", v.matvec, 1);
    setenv("EDGELLM_VULKAN_ATTENTION_DECODE", v.attention, 1);
    setenv("EDGELLM_VULKAN_PREFETCH", v.prefetch, 1);
    return std::string(v.matvec) + " / " + v.attention + " / " + v.prefetch;
  };
  std::printf("\nvariants (EDGELLM_VULKAN_MATVEC / EDGELLM_VULKAN_ATTENTION_DECODE / EDGELLM_VULKAN_PREFETCH):\n\n"
              "| decode step            | vkCmd* recorded | desc. sets | dispatches | barriers | copies | submits | "
              "tokens/s | ms/token |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < n; ++i) {
      const std::string label = use(vs[round == 0 ? i : n - 1 - i]);
      run(model, true, tokens, prompt, label.c_str());
    }
  vk::set_gpu_profiling(true);
  for (const Variant& v : vs) {
    const std::string label = use(v);
    std::printf("\nGPU time per shader, %s, %d tokens:\n", label.c_str(), tokens);
    run(model, true, tokens, prompt, "profiled");
    vk::print_gpu_profile(stdout);
  }
  vk::set_gpu_profiling(false);
  unsetenv("EDGELLM_VULKAN_MATVEC");
  unsetenv("EDGELLM_VULKAN_ATTENTION_DECODE");
  unsetenv("EDGELLM_VULKAN_PREFETCH");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_decode_vulkan MODEL [tokens=32] [prompt=8] [ab]\n");
    return 2;
  }
  const int tokens = argc > 2 ? std::atoi(argv[2]) : 32, prompt = argc > 3 ? std::atoi(argv[3]) : 8;
  Model model = load_model(argv[1]);
  std::printf("%s on '%s': %d decode tokens after a prompt of %d, per token:\n\n", argv[1],
              vk::context().info().name.c_str(), tokens, prompt);
  std::printf("| decode step            | vkCmd* recorded | desc. sets | dispatches | barriers | copies | submits | "
              "tokens/s | ms/token |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  run(model, false, tokens, prompt);
  run(model, true, tokens, prompt);
  if (argc > 4 && std::string(argv[4]) == "ab") ab(model, tokens, prompt);
  return 0;
}
