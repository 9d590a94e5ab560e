// A whole model on Vulkan against the CPU forward: all-position logits of the fixtures' models (tiny-llama at
// F32/F16/Q8_0/Q4_0, kquant's Q4_K_M/Q6_K/Q2_K), then prompt + token-by-token decoding through the device KV cache.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include "kernels/linear.h"
#include "models/runner.h"
#include "kernels/vulkan/context.h"
#include "models/vulkan/llama_vulkan.h"
#include "runtime/error.h"
#include "train/lora_io.h"

using namespace edgellm;

namespace {

// max |vulkan − cpu| over max |cpu|. The CPU reference is all_logits of the model with its quantized weights
// dequantized to f32 first (dequantized_weights), so both sides evaluate the same weights in f32 and only the
// summation order differs: measured ~1e-6 on lavapipe; the bound is 1e-5 (1e-4 for the LoRA case). (The
// CPU's own quantized matmuls quantize activations to 8 bits, as llama.cpp's do; the shaders do not.)
double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  double e = 0, m = 0;
  for (size_t i = 0; i < a.size(); ++i) e = std::max(e, std::fabs(double(a[i]) - b[i])), m = std::max(m, std::fabs(double(b[i])));
  return e / m;
}

void dequantized_weights(LlamaModel& m) {
  auto to_f32 = [](Tensor& w) {
    if (!dtype_info(w.dtype()).quantized) return;
    const int64_t rows = w.shape().rows(), cols = w.shape().cols();
    Tensor f = Tensor::empty({rows, cols});
    for (int64_t r = 0; r < rows; ++r) dequantize_row(f.data<float>() + r * cols, w, r);
    f.name = w.name;
    w = f;
  };
  for (LlamaLayer& L : m.weights.layers)
    for (int k = 0; k < kNumLinearKinds; ++k) to_f32(L.weight(static_cast<LinearKind>(k)));
  to_f32(m.weights.output);  // a tied head becomes its own f32 copy; lookups still read tok_embd
}

void compare(const std::string& path, double tol, const std::string& lora = "") {
  Model cpu = load_model(path);
  dequantized_weights(cpu.llama);
  if (!lora.empty()) load_lora(cpu.llama, lora);
  Model gpu = load_model(path);
  if (!lora.empty()) load_lora(gpu.llama, lora);
  use_vulkan(gpu.llama);
  const int64_t V = cpu.llama.config.vocab;
  std::vector<int32_t> ids;
  for (int i = 0; i < 37; ++i) ids.push_back(static_cast<int32_t>((i * 7919 + 3) % V));
  const std::vector<float> want = all_logits(cpu, ids), got = all_logits(gpu, ids);
  const std::string label = path + (lora.empty() ? "" : " + lora");
  MESSAGE(label << ": all_logits rel err " << rel_err(got, want));
  CHECK(rel_err(got, want) < tol);
  if (!lora.empty()) {  // the adapter must matter, or this case would test nothing
    const double moved = rel_err(all_logits(load_model(path), ids), want);
    MESSAGE("the adapter moves the logits by " << moved);
    CHECK(moved > 1e-3);
  }

  // Decoding: a prompt of 30, then 7 single tokens (matvec shaders, cache at pos0 > 0); logits of the last.
  KvCache cache(gpu.llama.config, 40);
  std::vector<float> logits(static_cast<size_t>(V));
  llama_forward(gpu.llama, cache, ids.data(), 30, logits.data(), false);
  double worst = 0;
  for (int i = 30; i < 37; ++i) {
    llama_forward(gpu.llama, cache, &ids[static_cast<size_t>(i)], 1, logits.data(), false);
    const std::vector<float> row(want.begin() + int64_t(i) * V, want.begin() + int64_t(i + 1) * V);
    INFO(path << " decode step " << i << " rel err " << rel_err(logits, row));
      CHECK(rel_err(logits, row) < tol);
    worst = std::max(worst, rel_err(logits, row));
  }
  MESSAGE(path << ": decode rel err " << worst);
  CHECK(cache.len == 37);
}

const std::string fx = EDGELLM_FIXTURES_DIR;

}  // namespace

TEST_CASE("vulkan llama: logits match the CPU on tiny-llama F32, F16, Q8_0, Q4_0 (and with a LoRA adapter)") {
  compare(fx + "/tiny-llama/gguf/tiny-llama-f32.gguf", 1e-5);
  compare(fx + "/tiny-llama/gguf/tiny-llama-f16.gguf", 1e-5);
  compare(fx + "/tiny-llama/gguf/tiny-llama-q8_0.gguf", 1e-5);
  compare(fx + "/tiny-llama/gguf/tiny-llama-q4_0.gguf", 1e-5);
  compare(fx + "/tiny-llama/gguf/tiny-llama-f32.gguf", 1e-4, fx + "/tiny-llama/gguf/tiny-llama-lora-f32.gguf");
}

// Decoding runs the fused step (models/vulkan/llama_vulkan.cpp DecodeOps, recorded once, replayed per token)
// unless the model has adapters or biases; EDGELLM_VULKAN_FUSED=0 forces the per-op recording.
TEST_CASE("vulkan llama: the fused decode step and the per-op one, interleaved and NeoX RoPE, GQA") {
  compare(fx + "/tiny-llama/model", 1e-5);  // the Hugging Face directory: NeoX pairing (the GGUFs: interleaved)
  setenv("EDGELLM_VULKAN_FUSED", "0", 1);
  compare(fx + "/tiny-llama/gguf/tiny-llama-q4_0.gguf", 1e-5);
  compare(fx + "/tiny-llama/model", 1e-5);
  unsetenv("EDGELLM_VULKAN_FUSED");
}

TEST_CASE("vulkan llama: kquant models (Q4_K_M, Q6_K, Q2_K)") {
  compare(fx + "/kquant/model-q4_k_m.gguf", 1e-5);
  compare(fx + "/kquant/model-q6_k.gguf", 1e-5);
  compare(fx + "/kquant/model-q2_k.gguf", 1e-5);
}

TEST_CASE("vulkan llama: generate and a full context; observers refused") {
  // F32: the CPU's quantized matmuls round activations to 8 bits, which may flip a greedy near-tie.
  Model m = load_model(fx + "/tiny-llama/gguf/tiny-llama-f32.gguf");
  Model c = load_model(fx + "/tiny-llama/gguf/tiny-llama-f32.gguf");
  use_vulkan(m.llama);
  SamplerParams sp;
  sp.temperature = 0;
  Sampler s1(sp), s2(sp);
  KvCache k1(m.llama.config, 24), k2(c.llama.config, 24);
  const std::vector<int32_t> prompt = {1, 100, 200, 300};
  const auto a = generate(m, k1, prompt, 12, s1, {}, true), b = generate(c, k2, prompt, 12, s2, {}, true);
  CHECK(a == b);
  int32_t id = 5;
  std::vector<float> logits(static_cast<size_t>(m.llama.config.vocab));
  KvCache full(m.llama.config, 1);
  llama_forward(m.llama, full, &id, 1, logits.data(), false);
  CHECK_THROWS_AS(llama_forward(m.llama, full, &id, 1, logits.data(), false), Error);
}

TEST_CASE("vulkan llama: out of device memory is a BudgetError naming the sizes, not a crash; the device works after") {
  Model m = load_model(fx + "/tiny-llama/gguf/tiny-llama-q4_0.gguf");
  vk::Context& c = vk::context();
  const size_t old = c.budget();
  c.set_budget(c.used() + 4096);  // the weights do not fit
  CHECK_THROWS_AS(use_vulkan(m.llama), BudgetError);
  c.set_budget(old);
  use_vulkan(m.llama);
  std::vector<float> logits(static_cast<size_t>(m.llama.config.vocab));
  int32_t id = 7;
  {
    KvCache big(m.llama.config, 64);
    c.set_budget(c.used() + 4096);  // the weights fit, the KV cache does not
    try {
      llama_forward(m.llama, big, &id, 1, logits.data(), false);
      FAIL("no error");
    } catch (const BudgetError& e) {
      CHECK(std::string(e.what()).find("budget") != std::string::npos);
    }
    c.set_budget(old);
  }
  KvCache ok(m.llama.config, 8);
  llama_forward(m.llama, ok, &id, 1, logits.data(), false);
  llama_forward(m.llama, ok, &id, 1, logits.data(), false);
  CHECK(ok.len == 2);
  CHECK(std::isfinite(logits[0]));
}
