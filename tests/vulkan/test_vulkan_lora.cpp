// LoRA gradients on Vulkan against the CPU's LlamaGrad: the loss and every adapter gradient (dA, dB of all
// seven linears of every layer) of one sequence with masked targets, on tiny-llama at F32 and Q4_0.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "models/runner.h"
#include "models/vulkan/lora_grad_vulkan.h"
#include "train/llama_grad.h"

using namespace edgellm;

namespace {

void check_lora(const std::string& path, int64_t T) {
  Model model = load_model(path);
  GradSetup setup;
  setup.lora = true;
  setup.lora_config.rank = 4;
  LlamaGrad g(model.llama, setup);
  // B starts at zero (PEFT's init), which would make every dA zero: give it random values.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-0.2f, 0.2f);
  for (auto& L : model.llama.weights.layers)
    for (auto& lp : L.lora)
      if (lp.defined())
        for (int64_t i = 0; i < lp.B.numel(); ++i) lp.B.data<float>()[i] = u(rng);
  const int64_t V = model.llama.config.vocab;
  std::vector<int32_t> ids(T), targets(T);
  for (int64_t t = 0; t < T; ++t) ids[t] = int32_t((t * 131 + 7) % V), targets[t] = t % 5 == 4 ? -1 : int32_t((t * 71 + 3) % V);
  int64_t n = 0;
  for (int32_t y : targets) n += y >= 0;
  const float scale = 1.0f / float(n);
  for (const Param& p : g.params()) std::fill(p.grad, p.grad + p.n, 0.0f);
  const LossSum cpu = g.forward_backward(ids.data(), targets.data(), 1, T, scale);

  VulkanLoraGrad vg(model.llama);
  const auto [loss, count] = vg.forward_backward(ids.data(), targets.data(), T, scale);
  MESSAGE(path << ": loss cpu " << cpu.sum / double(cpu.count) << " vulkan " << loss / double(count));
  CHECK(count == cpu.count);
  CHECK(std::fabs(loss - cpu.sum) <= 1e-4 * std::fabs(cpu.sum));

  double worst = 0;
  int checked = 0;
  for (int64_t l = 0; l < model.llama.config.n_layers; ++l)
    for (int k = 0; k < kNumLinearKinds; ++k)
      for (char which : {'A', 'B'}) {
        const std::string name = peft_lora_name(l, LinearKind(k), which);
        const Param* p = nullptr;
        for (const Param& q : g.params())
          if (q.name == name) p = &q;
        REQUIRE(p != nullptr);
        const std::vector<float> got = vg.grad(l, LinearKind(k), which);
        REQUIRE(int64_t(got.size()) == p->n);
        double e = 0, mag = 0;
        for (int64_t i = 0; i < p->n; ++i) e = std::max(e, std::fabs(double(got[i]) - p->grad[i])), mag = std::max(mag, std::fabs(double(p->grad[i])));
        INFO(name << " max err " << e << " max |grad| " << mag);
        CHECK(mag > 0);
        CHECK(e <= 1e-3 * mag + 1e-7);
        worst = std::max(worst, e / mag);
        ++checked;
      }
  MESSAGE(path << ": " << checked << " adapter gradients, worst max-err / max|grad| " << worst);
}

}  // namespace

TEST_CASE("vulkan LoRA gradients match LlamaGrad (CPU) on tiny-llama F32 and Q4_0") {
  const std::string fx = EDGELLM_FIXTURES_DIR;
  check_lora(fx + "/tiny-llama/gguf/tiny-llama-f32.gguf", 24);
  // 40 tokens: from 32 rows the CPU's quantized matmul dequantizes W (as the shaders do) instead of rounding
  // the activations to 8 bits, so both sides compute with the same weights.
  check_lora(fx + "/tiny-llama/gguf/tiny-llama-q4_0.gguf", 40);
}
