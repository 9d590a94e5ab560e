// Training-step benchmark: tokens/s and arena peak of full fine-tuning and LoRA steps (forward,
// backward, AdamW) on a built-in model. Not a convergence test: random weights, random tokens.
// Usage: bench_train_step [preset=110m] [seq=256] [threads=2] [steps=3] [methods=full,lora]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "models/builtin.h"
#include "runtime/arena.h"
#include "runtime/parallel.h"
#include "train/llama_grad.h"
#include "train/optimizer.h"

using namespace edgellm;

int main(int argc, char** argv) {
  const std::string preset = argc > 1 ? argv[1] : "110m";
  const int64_t T = argc > 2 ? std::atoll(argv[2]) : 256;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  const int steps = argc > 4 ? std::atoi(argv[4]) : 3;
  const std::string methods = argc > 5 ? argv[5] : "full,lora";
  set_num_threads(threads);
  std::vector<int32_t> ids(static_cast<size_t>(T)), tgt(ids.size());
  uint64_t s = 1;
  for (int64_t t = 0; t < T; ++t) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    ids[static_cast<size_t>(t)] = static_cast<int32_t>((s >> 33) % 32000 % builtin_config(preset).vocab);
  }
  for (int64_t t = 0; t + 1 < T; ++t) tgt[static_cast<size_t>(t)] = ids[static_cast<size_t>(t + 1)];
  tgt[static_cast<size_t>(T - 1)] = -1;
  std::printf("model,method,seq,threads,step_s,tokens_per_s,peak_MiB,trainable_params\n");
  for (const std::string method : {"full", "lora"}) {
    if (methods.find(method) == std::string::npos) continue;
    default_arena().reset_peak();
    const size_t base = default_arena().in_use();
    LlamaModel m = make_builtin_model(builtin_config(preset), 42);
    GradSetup setup;
    setup.lora = method == "lora";
    setup.lora_config.rank = 8;
    setup.lora_config.alpha = 16;
    setup.lora_config.targets = {"q_proj", "v_proj"};
    LlamaGrad g(m, setup);
    AdamW opt(AdamWConfig{});
    int64_t n = 0;
    for (const Param& p : g.params()) n += p.n;
    double best = 1e30;
    for (int i = 0; i <= steps; ++i) {  // step 0 warms up (allocates optimizer state)
      const auto t0 = std::chrono::steady_clock::now();
      zero_grads(g.params());
      g.forward_backward(ids.data(), tgt.data(), 1, T, 1.0f / static_cast<float>(T - 1));
      const auto t1 = std::chrono::steady_clock::now();
      // As the trainer does it: the clip coefficient is folded into the AdamW pass.
      const double norm = grad_global_norm(g.params());
      opt.step(g.params(), 1e-4f, clip_coefficient(norm, 1.0));
      const auto t2 = std::chrono::steady_clock::now();
      const double dt = std::chrono::duration<double>(t2 - t0).count();
      if (i > 0 && dt < best) best = dt;
      std::fprintf(stderr, "%s step %d: %.3f s (forward+backward %.3f s, clip+AdamW %.3f s)\n", method.c_str(), i, dt,
                   std::chrono::duration<double>(t1 - t0).count(), std::chrono::duration<double>(t2 - t1).count());
    }
    std::printf("%s,%s,%lld,%d,%.3f,%.1f,%.1f,%lld\n", preset.c_str(), method.c_str(), static_cast<long long>(T), threads, best,
                static_cast<double>(T) / best, static_cast<double>(default_arena().peak() - base) / (1 << 20),
                static_cast<long long>(n));
  }
  return 0;
}
