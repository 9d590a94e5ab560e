// Google Benchmark of the attention drivers per ISA: prefill forward (T = 256, 1024), decode (T = 1 after
// 1023 cached keys) and a training backward, Llama-3-8B-like heads (NH 32, KVH 8, HD 64), GFLOP/s.
// Run: build/bench/bench_kernels --benchmark_filter=attention   (args: isa, T, pos0, threads)
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/attention.h"
#include "runtime/parallel.h"

namespace {

using namespace edgellm;

constexpr int64_t kNH = 32, kKVH = 8, kHD = 64;

std::vector<float> randv(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

// Σ over queries of the keys each one sees (causal), times HD: one q·k or p·v pass over all heads.
double key_visits(int64_t T, int64_t pos0) {
  double n = 0;
  for (int64_t t = 0; t < T; ++t) n += static_cast<double>(pos0 + t + 1);
  return n * kNH * kHD;
}

struct Setup {
  AttentionDims d;
  std::vector<float> q, k, v, o, L, dO, dq, dk, dv;
  Setup(int64_t T, int64_t pos0) : d(attention_dims(T, kNH, kKVH, kHD, pos0)) {
    q = randv(static_cast<size_t>(T * kNH * kHD), 1);
    k = randv(static_cast<size_t>(d.S * kKVH * kHD), 2);
    v = randv(static_cast<size_t>(d.S * kKVH * kHD), 3);
    dO = randv(q.size(), 4);
    o.resize(q.size());
    L.resize(static_cast<size_t>(T * kNH));
    dq.assign(q.size(), 0.0f);
    dk.assign(k.size(), 0.0f);
    dv.assign(v.size(), 0.0f);
  }
};

const KernelTable* table_or_skip(benchmark::State& st) {
  const KernelTable* k = kernels_for(static_cast<Isa>(st.range(0)));
  if (!k) st.SkipWithError("ISA not available on this CPU");
  return k;
}

void attention_forward_f32(benchmark::State& st) {
  const KernelTable* kt = table_or_skip(st);
  if (!kt) return;
  const int64_t T = st.range(1), pos0 = st.range(2);
  set_num_threads(static_cast<int>(st.range(3)));
  Setup s(T, pos0);
  std::vector<float> scratch(static_cast<size_t>(attention_scratch_floats(kHD)));
  for (auto _ : st) {
    attention_forward(s.o.data(), s.L.data(), s.q.data(), s.k.data(), s.v.data(), s.d, scratch.data(), *kt);
    benchmark::DoNotOptimize(s.o.data());
  }
  // q·k and p·v: 2 flops (multiply, add) each per key visit
  st.counters["GFLOP/s"] = benchmark::Counter(4 * key_visits(T, pos0) * 1e-9 * static_cast<double>(st.iterations()),
                                              benchmark::Counter::kIsRate);
  st.SetLabel(std::string(isa_name(kt->isa)) + (T == 1 ? " decode" : " prefill"));
  set_num_threads(0);
}

void attention_backward_f32(benchmark::State& st) {
  const KernelTable* kt = table_or_skip(st);
  if (!kt) return;
  const int64_t T = st.range(1), pos0 = st.range(2);
  set_num_threads(static_cast<int>(st.range(3)));
  Setup s(T, pos0);
  attention_forward(s.o.data(), s.L.data(), s.q.data(), s.k.data(), s.v.data(), s.d, nullptr, *kt);
  std::vector<float> scratch(static_cast<size_t>(attention_scratch_floats(kHD)));
  for (auto _ : st) {
    attention_backward(s.dq.data(), s.dk.data(), s.dv.data(), s.dO.data(), s.q.data(), s.k.data(), s.v.data(),
                       s.o.data(), s.L.data(), s.d, scratch.data(), *kt);
    benchmark::DoNotOptimize(s.dq.data());
  }
  // q·k, dO·v, Pᵀ·dO, dSᵀ·q, dS·k: five passes of 2 flops per key visit
  st.counters["GFLOP/s"] = benchmark::Counter(10 * key_visits(T, pos0) * 1e-9 * static_cast<double>(st.iterations()),
                                              benchmark::Counter::kIsRate);
  st.SetLabel(isa_name(kt->isa));
  set_num_threads(0);
}

void fwd_args(benchmark::internal::Benchmark* b) {
  for (int isa : {0, 1, 2, 3})
    for (int threads : {1, 2}) {
      b->Args({isa, 256, 0, threads});
      b->Args({isa, 1024, 0, threads});
      b->Args({isa, 1, 1023, threads});
    }
}
void bwd_args(benchmark::internal::Benchmark* b) {
  for (int isa : {0, 1, 2, 3})
    for (int threads : {1, 2}) b->Args({isa, 256, 0, threads});
}

BENCHMARK(attention_forward_f32)->Apply(fwd_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(attention_backward_f32)->Apply(bwd_args)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
