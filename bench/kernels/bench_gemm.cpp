// Google Benchmark suite for gemm_f32 / gemm_f32_w16 per ISA: GFLOP/s (and GB/s of weights for M=1).
// Run: build/bench/bench_kernels --benchmark_filter=gemm. Not the OpenBLAS comparison: see bench_compare_blas.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "runtime/parallel.h"

namespace {

using namespace edgellm;

std::vector<float> randv(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

const KernelTable* table_or_skip(benchmark::State& st) {
  const KernelTable* k = kernels_for(static_cast<Isa>(st.range(0)));
  if (!k) st.SkipWithError("ISA not available on this CPU");
  return k;
}

void set_rates(benchmark::State& st, int64_t M, int64_t N, int64_t K, int64_t wbytes) {
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * M * N * K * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  st.SetBytesProcessed(st.iterations() * N * K * wbytes);
}

// args: isa, threads, M, N, K; y (M, N) = x (M, K) · W (N, K)ᵀ, the LLM layer.
void gemm_f32_xwt(benchmark::State& st) {
  const KernelTable* k = table_or_skip(st);
  if (!k) return;
  const int threads = static_cast<int>(st.range(1));
  const int64_t M = st.range(2), N = st.range(3), K = st.range(4);
  set_num_threads(threads);
  auto x = randv(static_cast<size_t>(M * K), 1), w = randv(static_cast<size_t>(N * K), 2);
  std::vector<float> y(static_cast<size_t>(M * N));
  for (auto _ : st) {
    gemm_f32(*k, Trans::N, Trans::T, M, N, K, 1.0f, x.data(), K, w.data(), K, 0.0f, y.data(), N);
    benchmark::DoNotOptimize(y.data());
  }
  set_rates(st, M, N, K, 4);
  st.SetLabel(isa_name(k->isa));
}

// args: isa, threads, n: square C = A·B.
void gemm_f32_square(benchmark::State& st) {
  const KernelTable* k = table_or_skip(st);
  if (!k) return;
  const int threads = static_cast<int>(st.range(1));
  const int64_t n = st.range(2);
  set_num_threads(threads);
  auto a = randv(static_cast<size_t>(n * n), 1), b = randv(static_cast<size_t>(n * n), 2);
  std::vector<float> c(static_cast<size_t>(n * n));
  for (auto _ : st) {
    gemm_f32(*k, Trans::N, Trans::N, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  set_rates(st, n, n, n, 4);
  st.SetLabel(isa_name(k->isa));
}

// args: isa, threads, M, N, K, dtype (1 = F16, 30 = BF16): y = x · W16ᵀ.
void gemm_f32_w16_xwt(benchmark::State& st) {
  const KernelTable* k = table_or_skip(st);
  if (!k) return;
  const int threads = static_cast<int>(st.range(1));
  const int64_t M = st.range(2), N = st.range(3), K = st.range(4);
  const auto wt = static_cast<DType>(st.range(5));
  set_num_threads(threads);
  auto x = randv(static_cast<size_t>(M * K), 1), wf = randv(static_cast<size_t>(N * K), 2);
  std::vector<uint16_t> w(wf.size());
  for (size_t i = 0; i < w.size(); ++i) w[i] = wt == DType::F16 ? f32_to_f16(wf[i]) : f32_to_bf16(wf[i]);
  std::vector<float> y(static_cast<size_t>(M * N));
  for (auto _ : st) {
    gemm_f32_w16(*k, wt, Trans::N, Trans::T, M, N, K, 1.0f, x.data(), K, w.data(), K, 0.0f, y.data(), N);
    benchmark::DoNotOptimize(y.data());
  }
  set_rates(st, M, N, K, 2);
  st.SetLabel(std::string(isa_name(k->isa)) + " " + std::string(dtype_name(wt)));
}

const int64_t kIsas[] = {static_cast<int64_t>(Isa::Avx2), static_cast<int64_t>(Isa::Avx512),
                         static_cast<int64_t>(Isa::Neon)};

void square_args(benchmark::internal::Benchmark* b) {
  for (int64_t isa : kIsas)
    for (int64_t t : {1, 2})
      for (int64_t n : {256, 512, 1024}) b->Args({isa, t, n});
}
void xwt_args(benchmark::internal::Benchmark* b) {
  for (int64_t isa : kIsas)
    for (int64_t t : {1, 2})
      for (int64_t M : {1, 64}) {
        b->Args({isa, t, M, 5632, 2048});
        b->Args({isa, t, M, 4096, 4096});
      }
}
void w16_args(benchmark::internal::Benchmark* b) {
  for (int64_t isa : kIsas)
    for (int64_t dt : {1, 30})
      for (int64_t M : {1, 64}) b->Args({isa, 1, M, 4096, 4096, dt});
}

}  // namespace

BENCHMARK(gemm_f32_square)->Apply(square_args)->ArgNames({"isa", "threads", "n"})->UseRealTime();
BENCHMARK(gemm_f32_xwt)->Apply(xwt_args)->ArgNames({"isa", "threads", "M", "N", "K"})->UseRealTime();
BENCHMARK(gemm_f32_w16_xwt)->Apply(w16_args)->ArgNames({"isa", "threads", "M", "N", "K", "dtype"})->UseRealTime();
