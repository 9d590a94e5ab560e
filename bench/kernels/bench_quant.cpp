// Google Benchmark suite for the quantized GEMV / matmul (matmul_quant) on the active kernel table:
// GB/s of weight bytes streamed (M=1) and GFLOP/s (M=64). Run: build/bench/bench_kernels --benchmark_filter=quant
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/linear.h"
#include "kernels/quant/gint.h"
#include "kernels/quant_gemm_i8.h"
#include "kernels/quant_matmul.h"
#include "kernels/ref/quant.h"
#include "runtime/parallel.h"

namespace {

using namespace edgellm;

constexpr int64_t kN = 4096, kK = 4096;

void quantize_into(DType t, uint8_t* dst, const std::vector<float>& w) {
  const int64_t rb = dtype_row_bytes(t, kK);
  for (int64_t n = 0; n < kN; ++n) {
    const float* row = w.data() + n * kK;
    switch (t) {
      case DType::Q4_0: ref::quantize_row_q4_0_ref(dst + n * rb, row, kK); break;
      case DType::Q8_0: ref::quantize_row_q8_0_ref(dst + n * rb, row, kK); break;
      case DType::Q4_K: ref::quantize_row_q4_k_ref(dst + n * rb, row, kK); break;
      case DType::Q6_K: ref::quantize_row_q6_k_ref(dst + n * rb, row, kK); break;
      case DType::Q5_K: ref::quantize_row_q5_k_ref(dst + n * rb, row, kK); break;
      case DType::Q2_K: ref::quantize_row_q2_k_ref(dst + n * rb, row, kK); break;
      case DType::Q3_K: ref::quantize_row_q3_k_ref(dst + n * rb, row, kK); break;
      default: break;
    }
  }
}

// `copies` quantized copies of one 4096x4096 weight back to back: cycling through more bytes than the
// last-level cache holds makes the GEMV stream from DRAM (copies = 1 measures the cache-resident rate).
struct WeightPool {
  DType t;
  int64_t bytes;
  std::vector<uint8_t> data;
  int copies;
};

const WeightPool& pool(DType t, int copies) {
  static std::vector<WeightPool*> pools;
  for (auto* p : pools)
    if (p->t == t && p->copies == copies) return *p;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> w(static_cast<size_t>(kN * kK));
  for (auto& v : w) v = nd(rng);
  auto* p = new WeightPool{t, dtype_row_bytes(t, kK) * kN, {}, copies};
  p->data.resize(static_cast<size_t>(p->bytes * copies));
  quantize_into(t, p->data.data(), w);
  for (int c = 1; c < copies; ++c) std::memcpy(p->data.data() + c * p->bytes, p->data.data(), p->bytes);
  pools.push_back(p);
  return *p;
}

// args: dtype id, threads, M, copies
void quant_matmul(benchmark::State& st) {
  const auto t = static_cast<DType>(st.range(0));
  const int threads = static_cast<int>(st.range(1));
  const int64_t M = st.range(2);
  const int copies = static_cast<int>(st.range(3));
  const WeightPool& p = pool(t, copies);
  set_num_threads(threads);
  std::mt19937 rng(2);
  std::normal_distribution<float> nd;
  std::vector<float> x(static_cast<size_t>(M * kK)), y(static_cast<size_t>(M * kN));
  for (auto& v : x) v = nd(rng);
  int c = 0;
  for (auto _ : st) {
    matmul_quant(y.data(), x.data(), p.data.data() + c * p.bytes, t, M, kN, kK);
    benchmark::DoNotOptimize(y.data());
    c = (c + 1) % copies;
  }
  st.SetBytesProcessed(st.iterations() * p.bytes);  // weight bytes streamed
  st.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(st.iterations()) * 2.0 * M * kN * kK * 1e-9, benchmark::Counter::kIsRate);
  st.SetLabel(std::string(dtype_name(t)) + " " + quant_ops(t).vec_dot_isa);
  set_num_threads(0);
}

// The same M x 4096 x 4096 product through the 8-bit panel GEMM (what linear_forward uses from 32 rows
// for Q4_0 / Q8_0 / Q4_K / Q5_K / Q6_K where the table has a panel kernel). args: dtype id, threads, M.
void quant_matmul_i8(benchmark::State& st) {
  const auto t = static_cast<DType>(st.range(0));
  const int threads = static_cast<int>(st.range(1));
  const int64_t M = st.range(2);
  if (!i8_panel_supported(t)) {
    st.SkipWithError("no 8-bit panel kernel on this CPU");
    return;
  }
  const WeightPool& p = pool(t, 1);
  set_num_threads(threads);
  std::mt19937 rng(2);
  std::normal_distribution<float> nd;
  std::vector<float> x(static_cast<size_t>(M * kK)), y(static_cast<size_t>(M * kN));
  for (auto& v : x) v = nd(rng);
  for (auto _ : st) {
    matmul_i8_panel(y.data(), x.data(), p.data.data(), t, M, kN, kK);
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(st.iterations()) * 2.0 * M * kN * kK * 1e-9, benchmark::Counter::kIsRate);
  st.SetLabel(std::string(dtype_name(t)) + " " + kernels().i8_panel_ukernel_isa);
  set_num_threads(0);
}

// The same product through linear_forward, as a model's prompt runs it: the 8-bit panel where the type has one, else
// dequantized tiles and the f32 GEMM (the label says which). args: dtype id, threads, M.
void quant_linear(benchmark::State& st) {
  const auto t = static_cast<DType>(st.range(0));
  const int threads = static_cast<int>(st.range(1));
  const int64_t M = st.range(2);
  const WeightPool& p = pool(t, 1);
  const Tensor W = Tensor::external(const_cast<uint8_t*>(p.data.data()), Shape{kN, kK}, t);
  set_num_threads(threads);
  std::mt19937 rng(2);
  std::normal_distribution<float> nd;
  std::vector<float> x(static_cast<size_t>(M * kK)), y(static_cast<size_t>(M * kN));
  for (auto& v : x) v = nd(rng);
  for (auto _ : st) {
    linear_forward(y.data(), x.data(), W, nullptr, M);
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(st.iterations()) * 2.0 * M * kN * kK * 1e-9, benchmark::Counter::kIsRate);
  st.SetLabel(std::string(dtype_name(t)) + (i8_panel_supported(t) ? " i8-panel " : " dequant+gemm ") +
              (i8_panel_supported(t) ? kernels().i8_panel_ukernel_isa : kernels().sgemm_ukernel_isa));
  set_num_threads(0);
}

// STREAM-style triad a = b + s*c over 3 x 512 MiB, for GEMV's % of bandwidth (3 arrays' bytes counted).
void quant_triad_reference(benchmark::State& st) {
  const int threads = static_cast<int>(st.range(0));
  const int64_t n = int64_t{128} << 20;
  static std::vector<float> a(n, 1.0f), b(n, 2.0f), c(n, 3.0f);
  set_num_threads(threads);
  for (auto _ : st) {
    parallel_for(n, 1 << 16, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) a[i] = b[i] + 0.5f * c[i];
    });
    benchmark::DoNotOptimize(a.data());
  }
  st.SetBytesProcessed(st.iterations() * n * 12);
  set_num_threads(0);
}

// GINT 4-bit, group 128 (a GPTQ/AWQ-style weight): args threads, M.
void quant_gint(benchmark::State& st) {
  const int threads = static_cast<int>(st.range(0));
  const int64_t M = st.range(1);
  const quant::GintParams p{4, 128};
  const int64_t rb = quant::gint_row_bytes(p, kK);
  static std::vector<uint8_t> w;
  if (w.empty()) {
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    std::vector<float> row(kK);
    w.resize(static_cast<size_t>(kN * rb));
    for (int64_t n = 0; n < kN; ++n) {
      for (auto& v : row) v = nd(rng);
      quant::quantize_row_gint_ref(w.data() + n * rb, row.data(), kK, p, false);
    }
  }
  set_num_threads(threads);
  std::vector<float> x(static_cast<size_t>(M * kK), 0.5f), y(static_cast<size_t>(M * kN));
  for (auto _ : st) {
    matmul_gint(y.data(), x.data(), w.data(), 4, 128, M, kN, kK);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(st.iterations() * kN * rb);
  st.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(st.iterations()) * 2.0 * M * kN * kK * 1e-9, benchmark::Counter::kIsRate);
  st.SetLabel(std::string("gint4 g128 ") + kernels().gint_dot_isa);
  set_num_threads(0);
}

void gemv_args(benchmark::internal::Benchmark* b) {
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K})
    for (int threads : {1, 2}) b->Args({static_cast<int64_t>(t), threads, 1, 64});
}
void gemv_hot_args(benchmark::internal::Benchmark* b) {
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q2_K, DType::Q3_K, DType::Q4_K})
    for (int threads : {1, 2}) b->Args({static_cast<int64_t>(t), threads, 1, 1});
}
void i8_args(benchmark::internal::Benchmark* b) {
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K})
    for (int threads : {1, 2})
      for (int64_t M : {64, 512}) b->Args({static_cast<int64_t>(t), threads, M});
}
void mm64_args(benchmark::internal::Benchmark* b) {
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K})
    for (int threads : {1, 2}) b->Args({static_cast<int64_t>(t), threads, 64, 1});
}

}  // namespace

BENCHMARK(quant_matmul)->Name("quant_gemv_4096")->Apply(gemv_args)->ArgNames({"type", "thr", "M", "copies"})->UseRealTime();
BENCHMARK(quant_matmul)->Name("quant_gemv_4096_hot")->Apply(gemv_hot_args)->ArgNames({"type", "thr", "M", "copies"})->UseRealTime();
BENCHMARK(quant_matmul)->Name("quant_mm64_4096")->Apply(mm64_args)->ArgNames({"type", "thr", "M", "copies"})->UseRealTime();
BENCHMARK(quant_matmul_i8)->Name("quant_mm_i8_4096")->Apply(i8_args)->ArgNames({"type", "thr", "M"})->UseRealTime();
BENCHMARK(quant_linear)->Name("quant_linear_4096")->Apply(i8_args)->ArgNames({"type", "thr", "M"})->UseRealTime();
BENCHMARK(quant_gint)->Name("quant_gint4_g128_4096")->Args({1, 1})->Args({2, 1})->Args({1, 64})->ArgNames({"thr", "M"})->UseRealTime();
BENCHMARK(quant_triad_reference)->Arg(1)->Arg(2)->UseRealTime();
