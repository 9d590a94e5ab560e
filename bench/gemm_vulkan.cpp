// The Vulkan f32 GEMM on the training shapes of a Llama model (default: the study's 16M base, dim 512, ffn 1536,
// vocab 8192): GFLOP/s and % of a given fp32 peak of every kernel and split (kernels/vulkan/gemm.cpp) against the
// generic one, per forward, input-gradient and weight-gradient product, and the GEMM time of one training step.
// Not a correctness test (tests/vulkan/test_vulkan_matmul.cpp) and not the whole step (bench_train_vulkan).
// Usage: bench_gemm_vulkan [peak_tflops=66.9] [tokens=2048] [dim=512] [ffn=1536] [vocab=8192] [layers=4] [device=-1]
// Time: wall clock of one submit of back-to-back dispatches of the same GEMM (each waits on the last: it writes the
// same C, as training's chain of products does), best of 3, after a warm-up that builds the pipelines.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/vulkan/context.h"
#include "kernels/vulkan/ops.h"
#include "vulkan_timing.h"

using namespace edgellm;

namespace {

struct Shape {
  std::string name;
  const char* op;     // fwd: y = x·Wᵀ (A·Bᵀ); dx: dy·W (A·B); dW: dyᵀ·x (Aᵀ·B, accumulated)
  uint32_t M, N, K;
  int per_step;       // how many of this product a training step runs
};

struct Bufs {
  vk::Buffer a, b, c;
};

// Seconds per GEMM of `ch` on shape s (buffers big enough for every shape).
double time_gemm(vk::Context& ctx, Bufs& bf, const Shape& s, vk::GemmChoice ch) {
  auto record = [&](vk::Batch& b) {
    const std::string op = s.op;
    if (op == "fwd")  // A (M, K), B stored (N, K)
      vk::gemm_f32_with(ch, b, {&bf.c, 0}, s.N, {&bf.a, 0}, s.K, 1, {&bf.b, 0}, 1, s.K, s.M, s.N, s.K, 1, 0);
    else if (op == "dx")  // A (M, K), B (K, N)
      vk::gemm_f32_with(ch, b, {&bf.c, 0}, s.N, {&bf.a, 0}, s.K, 1, {&bf.b, 0}, s.N, 1, s.M, s.N, s.K, 1, 0);
    else  // A stored (K, M), B (K, N), C += A·B
      vk::gemm_f32_with(ch, b, {&bf.c, 0}, s.N, {&bf.a, 0}, 1, s.M, {&bf.b, 0}, s.N, 1, s.M, s.N, s.K, 1, 1);
  };
  return bench::seconds_per_call(ctx, record, 3, 5, 500);
}

}  // namespace

int main(int argc, char** argv) {
  auto arg = [&](int i, double d) { return argc > i ? std::atof(argv[i]) : d; };
  const double peak = arg(1, 66.9);
  const auto T = static_cast<uint32_t>(arg(2, 2048)), C = static_cast<uint32_t>(arg(3, 512));
  const auto F = static_cast<uint32_t>(arg(4, 1536)), V = static_cast<uint32_t>(arg(5, 8192));
  const int L = static_cast<int>(arg(6, 4)), device = static_cast<int>(arg(7, -1));
  vk::Context& ctx = vk::context(device);
  std::printf("device: %s (%s), tokens %u, dim %u, ffn %u, vocab %u, layers %d, fp32 peak assumed %.1f TFLOP/s\n",
              ctx.info().name.c_str(), ctx.info().type.c_str(), T, C, F, V, L, peak);

  // A layer: q, k, v, o (C x C), gate and up (F x C), down (C x F); the head (V x C) once.
  const std::vector<Shape> shapes = {
      {"qkvo", "fwd", T, C, C, 4 * L}, {"gate_up", "fwd", T, F, C, 2 * L}, {"down", "fwd", T, C, F, L},
      {"head", "fwd", T, V, C, 1},     {"qkvo", "dx", T, C, C, 4 * L},     {"gate_up", "dx", T, C, F, 2 * L},
      {"down", "dx", T, F, C, L},      {"head", "dx", T, C, V, 1},         {"qkvo", "dW", C, C, T, 4 * L},
      {"gate_up", "dW", F, C, T, 2 * L}, {"down", "dW", C, F, T, L},       {"head", "dW", V, C, T, 1}};
  size_t most = 0;
  for (const Shape& s : shapes)
    most = std::max({most, size_t{s.M} * s.K, size_t{s.K} * s.N, size_t{s.M} * s.N});
  Bufs bf{ctx.alloc(most * 4), ctx.alloc(most * 4), ctx.alloc(most * 4)};
  {
    std::vector<float> v(most);
    for (size_t i = 0; i < most; ++i) v[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    ctx.upload(bf.a, v.data(), most * 4), ctx.upload(bf.b, v.data(), most * 4), ctx.upload(bf.c, v.data(), most * 4);
  }

  using K = vk::GemmKernel;
  std::vector<vk::GemmChoice> tried;
  for (K k : vk::kGemmKernels)
    for (uint32_t split : {1u, 2u, 4u, 8u})
      if (split == 1 || (k != K::Generic && (split < 8 || k == K::T64x64_4x4))) tried.push_back({k, split});
  double step_old = 0, step_auto = 0, step_best = 0, flops_step = 0;
  std::printf("shape,op,M,N,K,kernel,split,us,gflops,pct_peak,speedup_vs_generic\n");
  for (const Shape& s : shapes) {
    const double flops = 2.0 * s.M * s.N * s.K;
    auto report = [&](const char* kernel, uint32_t split, double t, double base) {
      std::printf("%s,%s,%u,%u,%u,%s,%u,%.1f,%.0f,%.1f,%.2f\n", s.name.c_str(), s.op, s.M, s.N, s.K, kernel, split,
                  t * 1e6, flops / t / 1e9, 100.0 * flops / t / (peak * 1e12), base / t);
      std::fflush(stdout);
    };
    double base = 0, best = 1e30;
    for (const vk::GemmChoice& ch : tried) {
      if (ch.split > 1 && s.K < 256 * ch.split) continue;
      const double t = time_gemm(ctx, bf, s, ch);
      if (ch.kernel == K::Generic) base = t;
      best = std::min(best, t);
      report(vk::gemm_kernel_name(ch.kernel), ch.split, t, base);
    }
    // What gemm_f32 runs for this shape (the strides as time_gemm passes them).
    const std::string op = s.op;
    const vk::GemmChoice a = op == "fwd"  ? vk::gemm_choice(ctx, s.K, 1, 1, s.K, s.M, s.N, s.K)
                             : op == "dx" ? vk::gemm_choice(ctx, s.K, 1, s.N, 1, s.M, s.N, s.K)
                                          : vk::gemm_choice(ctx, 1, s.M, s.N, 1, s.M, s.N, s.K);
    const double t = time_gemm(ctx, bf, s, a);
    const std::string name = std::string("auto=") + vk::gemm_kernel_name(a.kernel);
    report(name.c_str(), a.split, t, base);
    step_old += base * s.per_step, step_auto += t * s.per_step, step_best += best * s.per_step;
    flops_step += flops * s.per_step;
  }
  std::printf("GEMMs of one step (%.1f GFLOP): generic %.2f ms (%.1f%% of peak), auto %.2f ms (%.1f%%), "
              "best per shape %.2f ms (%.1f%%)\n",
              flops_step / 1e9, step_old * 1e3, 100 * flops_step / step_old / (peak * 1e12), step_auto * 1e3,
              100 * flops_step / step_auto / (peak * 1e12), step_best * 1e3,
              100 * flops_step / step_best / (peak * 1e12));
  return 0;
}
