// Seconds per call of a recorded GPU operation, for the Vulkan benchmarks (bench_gemm_vulkan,
// bench_attention_vulkan): one call's submit includes its wait, so calls are timed in batches of enough to take
// ~30 ms, the best of three batches. Not a profiler (kernels/vulkan/gpu_profile.h times each dispatch).
#pragma once

#include <algorithm>
#include <chrono>

#include "kernels/vulkan/context.h"
#include "kernels/vulkan/ops.h"

namespace edgellm::bench {

// record(b) records one call into batch b. A batch of 1 warms up (pipelines, scratch); a batch of `probe` sizes the
// timed batches, clamped to [min_reps, max_reps] calls.
template <class F>
double seconds_per_call(vk::Context& ctx, F record, int probe, double min_reps, double max_reps) {
  auto run = [&](int reps) {
    vk::Batch b(ctx);
    for (int i = 0; i < reps; ++i) record(b);
    const auto t0 = std::chrono::steady_clock::now();
    b.submit();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  run(1);
  const double once = run(probe) / probe;
  const int reps = static_cast<int>(std::clamp(0.03 / std::max(once, 1e-7), min_reps, max_reps));
  double best = 1e30;
  for (int i = 0; i < 3; ++i) best = std::min(best, run(reps) / reps);
  return best;
}

}  // namespace edgellm::bench
