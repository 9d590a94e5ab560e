// Pretraining throughput on a Vulkan device: tokens/s of full training steps (forward, backward, gradient norm,
// AdamW, all on the GPU) of ~1M, 4M, 16M and 25M-parameter Llama models, and the fraction of the GPU's fp32 peak
// that is. Not a convergence test (random weights and tokens) and not the CPU's (bench_train_step).
// Usage: bench_train_vulkan [peak_tflops=51.2] [seq=256] [micro_batch=8] [steps=5] [device=-1]
// The peak is not queryable through Vulkan: pass the card's fp32 (non-tensor) peak (H100 PCIe 51.2, SXM 66.9).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/vulkan/context.h"
#include "models/builtin.h"
#include "models/vulkan/grad_vulkan.h"
#include "train/llama_grad.h"

using namespace edgellm;

namespace {

struct Size {
  const char* name;
  int64_t vocab, dim, layers, heads, ffn;
};
// Tied embeddings, as the study's bases.
constexpr Size kSizes[] = {{"1M", 1536, 128, 4, 4, 384},
                           {"4M", 2048, 256, 4, 4, 688},
                           {"16M", 8192, 512, 4, 8, 1536},
                           {"25M", 8192, 512, 6, 8, 1536}};

LlamaConfig config(const Size& s) {
  LlamaConfig c;
  c.arch = "llama";
  c.vocab = s.vocab, c.dim = s.dim, c.n_layers = s.layers, c.n_heads = s.heads, c.n_kv_heads = s.heads;
  c.ffn_dim = s.ffn, c.head_dim = s.dim / s.heads, c.max_ctx = 2048, c.tied_embeddings = true;
  c.validate(std::string("bench size ") + s.name);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const double peak = argc > 1 ? std::atof(argv[1]) : 51.2;
  const int64_t T = argc > 2 ? std::atoll(argv[2]) : 256;
  const int64_t B = argc > 3 ? std::atoll(argv[3]) : 8;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 5;
  const int device = argc > 5 ? std::atoi(argv[5]) : -1;
  std::printf("device: %s, seq %lld, micro-batch %lld, fp32 peak assumed %.1f TFLOP/s\n",
              vk::context(device).info().name.c_str(), static_cast<long long>(T), static_cast<long long>(B), peak);
  std::printf("model,params,tokens_per_s,step_s,tflops,fraction_of_peak\n");
  for (const Size& s : kSizes) {
    const LlamaConfig c = config(s);
    LlamaModel m = make_builtin_model(c, 42);
    LlamaGrad g(m, GradSetup{});
    int64_t n = 0;
    for (const Param& p : g.params()) n += p.n;
    VulkanGrad vg(m, g.params(), false, device);
    std::vector<int32_t> ids(static_cast<size_t>(B * T)), tgt(ids.size());
    uint64_t r = 1;
    for (size_t i = 0; i < ids.size(); ++i) {
      r = r * 6364136223846793005ULL + 1442695040888963407ULL;
      ids[i] = static_cast<int32_t>((r >> 33) % static_cast<uint64_t>(c.vocab));
      tgt[i] = static_cast<int32_t>((r >> 13) % static_cast<uint64_t>(c.vocab));
    }
    const float scale = 1.0f / static_cast<float>(B * T);
    auto step = [&] {
      vg.zero_grads();
      vg.forward_backward(ids.data(), tgt.data(), B, T, scale);
      vg.adamw_step(AdamWConfig{}, 1e-4f, static_cast<float>(1.0 / std::max(1.0, std::sqrt(vg.grad_sumsq()))));
    };
    step();  // warm-up: pipelines, allocations
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) step();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps;
    // FLOPs per token: 6 per weight of every matmul (forward 2, backward 4; the head's V·C included, the embedding
    // gather not) plus causal attention's 6·L·T·C (q·kᵀ and p·v, forward and backward, over half the keys).
    const double matmul = static_cast<double>(c.n_layers) * (2.0 * c.dim * c.q_dim() + 2.0 * c.dim * c.kv_dim() +
                                                             3.0 * c.dim * c.ffn_dim) + static_cast<double>(c.vocab) * c.dim;
    const double flops = (6.0 * matmul + 6.0 * c.n_layers * T * c.dim) * B * T;
    const double tflops = flops / dt / 1e12;
    std::printf("%s,%lld,%.0f,%.4f,%.3f,%.4f\n", s.name, static_cast<long long>(n), B * T / dt, dt, tflops,
                tflops / peak);
    std::fflush(stdout);
  }
  return 0;
}
