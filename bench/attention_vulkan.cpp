// The Vulkan attention forward and backward on a training shape (default: the study's largest base, 48 sequences
// of 256 tokens, 6 heads of 64, causal, as grad_vulkan.cpp records it): ms per call and GFLOP/s of each shader
// family, per-row (EDGELLM_VULKAN_ATTENTION=naive), tiled (the FlashAttention-2 style tiles, the default until
// hvkattn2) and flash (rows in registers, subgroup shuffles: the default now), and the attention time of one
// training step. Not a correctness test (tests/vulkan/test_vulkan_ops.cpp checks every path against the CPU).
// Usage: bench_attention_vulkan [batch=48] [seq=256] [heads=6] [kv_heads=6] [head_dim=64] [layers=10] [device=-1]
//        [paths=naive,tiled,flash]
// (On a CPU driver such as lavapipe pass a small batch, e.g. 4: the per-row shaders take seconds per call there.)
// EDGELLM_VULKAN_PROFILE=1 adds GPU time per shader at exit (the backward's dq and dk/dv kernels apart).
// Time: wall clock of one submit of back-to-back calls (the backward accumulates into the same gradients, so each
// waits on the last), best of 3, after a warm-up that builds the pipelines. FLOPs counted as causal attention does
// them (half the T·T scores): forward 2 GEMMs, backward 5 (S, dP, dV, dK, dQ): 4·B·NH·HD·T²/2 and
// 10·B·NH·HD·T²/2.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/vulkan/context.h"
#include "kernels/vulkan/ops.h"
#include "vulkan_timing.h"

using namespace edgellm;

namespace {

struct Bufs {
  vk::Buffer q, k, v, o, L, dO, dq, dk, dv;
};

}  // namespace

int main(int argc, char** argv) {
  auto arg = [&](int i, double d) { return argc > i ? std::atof(argv[i]) : d; };
  const auto B = static_cast<uint32_t>(arg(1, 48)), T = static_cast<uint32_t>(arg(2, 256));
  const auto NH = static_cast<uint32_t>(arg(3, 6)), KVH = static_cast<uint32_t>(arg(4, 6));
  const auto HD = static_cast<uint32_t>(arg(5, 64));
  const int layers = static_cast<int>(arg(6, 10)), device = static_cast<int>(arg(7, -1));
  vk::Context& ctx = vk::context(device);
  AttentionDims d;
  d.T = d.S = T, d.NH = NH, d.KVH = KVH, d.HD = HD, d.pos0 = 0;
  d.q_stride = d.o_stride = int64_t{NH} * HD, d.k_stride = d.v_stride = int64_t{KVH} * HD;
  d.scale = 1.0 / std::sqrt(double(HD));
  std::printf("device: %s (%s); attention of %u sequences x %u tokens, %u heads (%u kv) of %u, causal, %d layers\n",
              ctx.info().name.c_str(), ctx.info().type.c_str(), B, T, NH, KVH, HD, layers);

  const size_t nq = size_t{B} * T * NH * HD, nk = size_t{B} * T * KVH * HD, nl = size_t{B} * T * NH;
  Bufs bf{ctx.alloc(nq * 4), ctx.alloc(nk * 4), ctx.alloc(nk * 4), ctx.alloc(nq * 4), ctx.alloc(nl * 4),
          ctx.alloc(nq * 4), ctx.alloc(nq * 4), ctx.alloc(nk * 4), ctx.alloc(nk * 4)};
  {
    std::vector<float> x(nq);
    for (size_t i = 0; i < nq; ++i) x[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    for (vk::Buffer* b : {&bf.q, &bf.o, &bf.dO, &bf.dq}) ctx.upload(*b, x.data(), nq * 4);
    for (vk::Buffer* b : {&bf.k, &bf.v, &bf.dk, &bf.dv}) ctx.upload(*b, x.data(), nk * 4);
  }
  auto forward = [&](vk::Batch& b) {
    vk::attention_forward(b, {&bf.o, 0}, &bf.L, {&bf.q, 0}, {&bf.k, 0}, {&bf.v, 0}, d, B);
  };
  auto backward = [&](vk::Batch& b) {
    vk::attention_backward(b, bf.dq, bf.dk, bf.dv, bf.dO, bf.q, bf.k, bf.v, bf.o, bf.L, d, B);
  };
  const double half = double(B) * NH * HD * T * (T + 1) / 2.0;  // causal q·k pairs × HD
  const double f_fwd = 4 * half, f_bwd = 10 * half;
  std::printf("subgroups: %u lanes, shuffles %s; shared memory %u bytes\n", ctx.subgroup_size(),
              ctx.subgroup_shuffle() ? "yes" : "no", ctx.max_shared_bytes());
  // The paths asked for, comma-separated; the first is the baseline of the speed-up column.
  std::vector<std::string> modes;
  {
    std::string list = argc > 8 ? argv[8] : "naive,tiled,flash";
    for (size_t i = 0; i <= list.size();) {
      const size_t j = std::min(list.find(',', i), list.size());
      if (j > i) modes.push_back(list.substr(i, j - i));
      i = j + 1;
    }
  }
  std::printf("path,op,ms_per_call,gflops,speedup_vs_%s\n", modes.empty() ? "-" : modes[0].c_str());
  const char* old_env = std::getenv("EDGELLM_VULKAN_ATTENTION");
  double t_base[2] = {0, 0};
  std::vector<double> t_step;
  std::vector<std::string> names;
  for (size_t m = 0; m < modes.size(); ++m) {
    setenv("EDGELLM_VULKAN_ATTENTION", modes[m].c_str(), 1);
    const std::string name = vk::attention_path_name(vk::attention_path(ctx, d));  // what runs (see ops.h)
    const double tf = bench::seconds_per_call(ctx, forward, 1, 1, 200);
    vk::Batch fw(ctx);  // a real L for the backward (the timed forwards wrote it too)
    forward(fw);
    fw.submit();
    const double tb = bench::seconds_per_call(ctx, backward, 1, 1, 200);
    if (m == 0) t_base[0] = tf, t_base[1] = tb;
    std::printf("%s,forward,%.3f,%.1f,%.2f\n", name.c_str(), tf * 1e3, f_fwd / tf / 1e9, t_base[0] / tf);
    std::printf("%s,backward,%.3f,%.1f,%.2f\n", name.c_str(), tb * 1e3, f_bwd / tb / 1e9, t_base[1] / tb);
    std::fflush(stdout);
    t_step.push_back((tf + tb) * layers);  // forward once and backward once per layer (no checkpointing)
    names.push_back(name);
  }
  if (old_env) setenv("EDGELLM_VULKAN_ATTENTION", old_env, 1);
  else unsetenv("EDGELLM_VULKAN_ATTENTION");
  std::printf("attention of one training step (%d layers, forward + backward):", layers);
  for (size_t m = 0; m < t_step.size(); ++m)
    std::printf(" %s %.2f ms (%.2fx)%s", names[m].c_str(), t_step[m] * 1e3, t_step[0] / t_step[m],
                m + 1 < t_step.size() ? "," : "\n");
  return 0;
}
