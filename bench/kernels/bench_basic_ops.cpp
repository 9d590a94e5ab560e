// Google Benchmark suite for the basic ops, per ISA: bytes/s for memory-bound ops.
// Run: build/bench/bench_kernels --benchmark_filter=basic
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/kernel_table.h"

namespace {

using namespace edgellm;

std::vector<float> randv(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

const KernelTable* table_or_skip(benchmark::State& st) {
  const KernelTable* k = kernels_for(static_cast<Isa>(st.range(0)));
  if (!k) st.SkipWithError("ISA not available on this CPU");
  return k;
}

void basic_silu_forward(benchmark::State& st) {
  const KernelTable* k = table_or_skip(st);
  if (!k) return;
  const int64_t n = st.range(1);
  auto x = randv(static_cast<size_t>(n), 1), y = randv(static_cast<size_t>(n), 2);
  for (auto _ : st) {
    k->silu_forward(y.data(), x.data(), n);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(st.iterations() * n * 8);
  st.SetLabel(isa_name(k->isa));
}

void basic_rmsnorm_forward(benchmark::State& st) {
  const KernelTable* k = table_or_skip(st);
  if (!k) return;
  const int64_t C = st.range(1), rows = 16;
  auto x = randv(static_cast<size_t>(rows * C), 1), y = x, w = randv(static_cast<size_t>(C), 3);
  std::vector<float> rstd(static_cast<size_t>(rows));
  for (auto _ : st) {
    k->rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), rows, C, 1e-5f);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(st.iterations() * rows * C * 8);
  st.SetLabel(isa_name(k->isa));
}

void basic_softmax_forward(benchmark::State& st) {
  const KernelTable* k = table_or_skip(st);
  if (!k) return;
  const int64_t C = st.range(1), rows = 16;
  auto x = randv(static_cast<size_t>(rows * C), 1), y = x;
  for (auto _ : st) {
    k->softmax_forward(y.data(), x.data(), rows, C);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(st.iterations() * rows * C * 8);
  st.SetLabel(isa_name(k->isa));
}

void basic_rope_forward(benchmark::State& st) {
  const KernelTable* k = table_or_skip(st);
  if (!k) return;
  const int64_t T = 16, NH = 32, HD = st.range(1);
  auto x = randv(static_cast<size_t>(T * NH * HD), 1), y = x;
  auto c = randv(static_cast<size_t>(T * HD / 2), 2), s = randv(static_cast<size_t>(T * HD / 2), 3);
  for (auto _ : st) {
    k->rope_forward(y.data(), x.data(), c.data(), s.data(), T, NH, HD, RopePairing::Interleaved);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(st.iterations() * T * NH * HD * 8);
  st.SetLabel(isa_name(k->isa));
}

void isa_args(benchmark::internal::Benchmark* b, std::initializer_list<int64_t> sizes) {
  for (int isa : {0, 1, 2, 3})
    for (int64_t n : sizes) b->Args({isa, n});
}

BENCHMARK(basic_silu_forward)->Apply([](auto* b) { isa_args(b, {4099, 1 << 16}); });
BENCHMARK(basic_rmsnorm_forward)->Apply([](auto* b) { isa_args(b, {2048, 4096}); });
BENCHMARK(basic_softmax_forward)->Apply([](auto* b) { isa_args(b, {512, 32000}); });
BENCHMARK(basic_rope_forward)->Apply([](auto* b) { isa_args(b, {64, 128}); });

}  // namespace
