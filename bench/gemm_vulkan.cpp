// The Vulkan f32 GEMM on the training shapes of a Llama model (default: the study's 16M base, dim 512, ffn 1536,
// vocab 8192): GFLOP/s and % of a given fp32 peak of every kernel and split (kernels/vulkan/gemm.cpp) against the
// generic one, per forward, input-gradient and weight-gradient product, and the GEMM time of one training step.
// Not a correctness test (tests/vulkan/test_vulkan_matmul.cpp) and not the whole step (bench_train_vulkan).
// Usage: bench_gemm_vulkan [peak_tflops=66.9] [tokens=2048] [dim=512] [ffn=1536] [vocab=8192] [layers=4] [device=-1]
//        bench_gemm_vulkan prompt [peak_tflops=66.9] [types=q4_0,q8_0] [tokens=512] [device=-1]
// The prompt mode: the dequantizing GEMM of a prompt's linear layers (y = x·Wᵀ, W quantized) at the 1.1B
// (dim 2048, ffn 5632, kv 256) and 110m (dim 768, ffn 2048) shapes: gemm.comp (EDGELLM_VULKAN_QGEMM=old) against
// the tiles (every tile and split, and what qgemm_choice picks), and the layers' GEMM time per prompt. Where the
// device has cooperative matrices, also the tensor-core tiles (f16 operands: their "best" is not the f32 tiles'
// precision) and their pick by shape (EDGELLM_VULKAN_QGEMM=coop); pct_peak stays against the fp32 peak given.
// Time: wall clock of one submit of back-to-back dispatches of the same GEMM (each waits on the last: it writes the
// same C, as training's chain of products does), best of 3, after a warm-up that builds the pipelines.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/quant_convert.h"
#include "kernels/vulkan/context.h"
#include "kernels/vulkan/ops.h"
#include "runtime/dtype.h"
#include "runtime/error.h"
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

// ---- prompt mode ----
struct QShape {
  const char* name;
  uint32_t N, K;
  int per_layer;
};
struct QModel {
  const char* name;
  int layers;
  std::vector<QShape> shapes;
};

int prompt_mode(int argc, char** argv) {
  auto arg = [&](int i, const char* d) { return argc > i ? argv[i] : d; };
  const double peak = std::atof(arg(2, "66.9"));
  const std::string types = arg(3, "q4_0,q8_0");
  const auto M = static_cast<uint32_t>(std::atoi(arg(4, "512")));
  vk::Context& ctx = vk::context(std::atoi(arg(5, "-1")));
  std::printf("device: %s (%s), prompt of %u tokens, fp32 peak assumed %.1f TFLOP/s\n", ctx.info().name.c_str(),
              ctx.info().type.c_str(), M, peak);
  const std::vector<QModel> models = {
      {"1.1b", 22, {{"q", 2048, 2048, 1}, {"k|v", 256, 2048, 2}, {"o", 2048, 2048, 1}, {"gate|up", 5632, 2048, 2},
                    {"down", 2048, 5632, 1}}},
      {"110m", 12, {{"q|k|v", 768, 768, 3}, {"o", 768, 768, 1}, {"gate|up", 2048, 768, 2}, {"down", 768, 2048, 1}}}};
  uint32_t most_n = 0, most_k = 0;
  for (const QModel& m : models)
    for (const QShape& s : m.shapes) most_n = std::max(most_n, s.N), most_k = std::max(most_k, s.K);
  std::vector<float> v(size_t{most_n} * most_k);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
  vk::Buffer x = ctx.alloc(size_t{M} * most_k * 4), y = ctx.alloc(size_t{M} * most_n * 4);
  ctx.upload(x, v.data(), size_t{M} * most_k * 4);

  using K = vk::GemmKernel;
  std::vector<vk::GemmChoice> tried = {{K::Generic, 1}};
  for (K k : {K::T64x64_4x4, K::T128x64_8x4})
    for (uint32_t split : {1u, 2u, 4u, 8u}) tried.push_back({k, split});
  // The tensor-core tiles where the device has them (or their plain-code twin, EDGELLM_VULKAN_COOPMAT=emulate).
  const vk::Context::Coop coop = ctx.coop();
  std::printf("tensor-core tiles (VK_NV_cooperative_matrix): %s\n",
              coop == vk::Context::Coop::Hardware ? "yes" : coop == vk::Context::Coop::Emulated ? "emulated" : "no");
  if (coop != vk::Context::Coop::None)
    for (K k : vk::kCoopKernels)
      for (uint32_t split : {1u, 2u, 4u, 8u}) tried.push_back({k, split});
  std::printf("model,type,shape,M,N,K,kernel,split,us,tflops,pct_peak,speedup_vs_old\n");
  std::vector<std::string> summary;
  for (size_t at = 0; at <= types.size();) {
    const size_t comma = std::min(types.find(',', at), types.size());
    const std::string tn = types.substr(at, comma - at);
    at = comma + 1;
    const DType t = dtype_from_name(tn);
    EDGE_CHECK(vk::weight_type_supported(t) && t != DType::F32 && !dtype_is_gint(t),
               "bench_gemm_vulkan prompt: '{}' is not a quantized type with Vulkan shaders", tn);
    for (const QModel& m : models) {
      double layer_old = 0, layer_auto = 0, layer_best = 0, layer_flops = 0;
      for (const QShape& s : m.shapes) {
        // W (N, K) of type t, quantized from v.
        const size_t rb = static_cast<size_t>(dtype_row_bytes(t, s.K));
        std::vector<uint8_t> raw(rb * s.N);
        for (uint32_t n = 0; n < s.N; ++n) quantize_row_to(t, raw.data() + n * rb, v.data() + size_t{n} * s.K, s.K);
        vk::Buffer w = ctx.alloc(raw.size());
        ctx.upload(w, raw.data(), raw.size());
        const double flops = 2.0 * M * s.N * s.K;
        auto time_with = [&](vk::GemmChoice ch) {
          auto record = [&](vk::Batch& b) {
            vk::linear_with(true, b, {&y, 0}, {&x, 0}, w, 0, t, M, s.N, s.K, 0, 4, 128, ch);
          };
          return bench::seconds_per_call(ctx, record, 3, 5, 500);
        };
        double old = 0, best = 1e30;
        auto report = [&](const std::string& kernel, uint32_t split, double sec) {
          std::printf("%s,%s,%s,%u,%u,%u,%s,%u,%.1f,%.2f,%.1f,%.2f\n", m.name, tn.c_str(), s.name, M, s.N, s.K,
                      kernel.c_str(), split, sec * 1e6, flops / sec / 1e12, 100.0 * flops / sec / (peak * 1e12),
                      old / sec);
          std::fflush(stdout);
        };
        for (const vk::GemmChoice& ch : tried) {
          if (ch.split > 1 && s.K < 256 * ch.split) continue;
          const double sec = time_with(ch);
          if (ch.kernel == K::Generic) old = sec;
          else best = std::min(best, sec);
          report(ch.kernel == K::Generic ? "old" : vk::gemm_kernel_name(ch.kernel), ch.split, sec);
        }
        const vk::GemmChoice a = vk::qgemm_choice(ctx, M, s.N, s.K);
        const double sec = time_with(a);
        report(std::string("auto=") + (a.kernel == K::Generic ? "old" : vk::gemm_kernel_name(a.kernel)), a.split, sec);
        if (coop != vk::Context::Coop::None) {
          const vk::GemmChoice c = vk::coop_choice(M, s.N, s.K);
          report(std::string("coop=") + vk::gemm_kernel_name(c.kernel), c.split, time_with(c));
        }
        layer_old += old * s.per_layer, layer_auto += sec * s.per_layer, layer_best += best * s.per_layer;
        layer_flops += flops * s.per_layer;
      }
      char line[512];
      std::snprintf(line, sizeof line,
                    "%s %s, pp%u GEMMs (%d layers, %.1f GFLOP): old %.2f ms (%.1f TFLOP/s), auto %.2f ms (%.1f "
                    "TFLOP/s, %.2fx), best per shape %.2f ms (%.1f TFLOP/s)",
                    m.name, tn.c_str(), M, m.layers, layer_flops * m.layers / 1e9, layer_old * m.layers * 1e3,
                    layer_flops / layer_old / 1e12, layer_auto * m.layers * 1e3, layer_flops / layer_auto / 1e12,
                    layer_old / layer_auto, layer_best * m.layers * 1e3, layer_flops / layer_best / 1e12);
      summary.push_back(line);
    }
  }
  for (const std::string& l : summary) std::printf("%s\n", l.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "prompt") return prompt_mode(argc, argv);
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
