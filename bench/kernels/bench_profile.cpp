// What --profile costs: a scope while recording is off (the price every op pays in every run), and a decode-sized
// Q4_0 linear with the recorder off and on. Run: build/bench/bench_kernels --benchmark_filter=profile
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/kernel_profile.h"
#include "kernels/linear.h"
#include "kernels/quant_convert.h"
#include "runtime/profile.h"
#include "runtime/tensor.h"

namespace {

using namespace edgellm;

// The scope as the drivers write it, with recording off: one relaxed load and a branch, no argument evaluated.
void profile_scope_off(benchmark::State& st) {
  int64_t n = 0;
  for (auto _ : st) {
    profile::Scope s("op", [&] { return std::to_string(n); }, [&] { return profile::Cost{1, 1}; });
    benchmark::DoNotOptimize(++n);
  }
}
BENCHMARK(profile_scope_off);

// A 2048 × 2048 Q4_0 linear at M = 1 (one decode matmul of a 1B model): range(0) = 0 off, 1 recording.
void profile_linear_q4_0_m1(benchmark::State& st) {
  const int64_t N = 2048, K = 2048;
  std::mt19937 g(1);
  std::normal_distribution<float> d;
  std::vector<float> w(static_cast<size_t>(N * K)), x(static_cast<size_t>(K)), y(static_cast<size_t>(N));
  for (auto& v : w) v = d(g);
  for (auto& v : x) v = d(g);
  Tensor W = Tensor::empty({N, K}, DType::Q4_0);
  for (int64_t r = 0; r < N; ++r)
    quantize_row_to(DType::Q4_0, W.raw() + r * dtype_row_bytes(DType::Q4_0, K), w.data() + r * K, K);
  if (st.range(0)) kernel_profile_start();
  for (auto _ : st) {
    linear_forward(y.data(), x.data(), W, nullptr, 1);
    benchmark::DoNotOptimize(y.data());
  }
  if (st.range(0)) kernel_profile_stop();
  st.SetLabel(st.range(0) ? "recording" : "off");
}
BENCHMARK(profile_linear_q4_0_m1)->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
