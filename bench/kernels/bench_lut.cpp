// Google Benchmark: decode matvec (M = 1) of 2- and 3-bit weights, the LUT GEMV against the dequantizing
// gint_dot on the same GINT weight, and the Q2_K / Q3_K LUT GEMV against their integer dots on the same weight.
// Run: build/bench/bench_kernels --benchmark_filter=lowbit  (CPU time is the number to read on a shared machine);
// path 2 vs 3 is the Q2_K / Q3_K dot vs its LUT. lowbit_gemv's one matrix stays in the last-level cache between
// iterations; lowbit_stream cycles through copies of it that together exceed any such cache, so the weight comes
// from DRAM as in a model's decode (before the LUT bodies prefetched, the stream took the Q2_K LUT from ~1.1 to
// 1.7 ms on 11008 x 4096, which lowbit_gemv did not show: bench/RESULTS-quant.md, "software prefetch").
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/lut_gemv.h"
#include "kernels/quant/gint.h"
#include "kernels/quant_matmul.h"
#include "kernels/ref/quant.h"
#include "runtime/parallel.h"

namespace {

using namespace edgellm;

// kLut and kGintDot on a GINT<bits>_G128 weight; kKQuant (vec_dot) and kKQuantLut on a Q2_K / Q3_K one.
enum Path : int64_t { kLut = 0, kGintDot = 1, kKQuant = 2, kKQuantLut = 3 };

// Random N(0, 0.02) weights, made once per (bits, N, K) and quantized to GINT<bits>_G128 or Q2_K / Q3_K.
const std::vector<uint8_t>& weights(int bits, bool kquant, int64_t N, int64_t K) {
  static std::map<std::tuple<int, bool, int64_t, int64_t>, std::vector<uint8_t>> cache;
  auto& w = cache[{bits, kquant, N, K}];
  if (!w.empty()) return w;
  std::mt19937 rng(static_cast<uint32_t>(bits * 31 + N + K));
  std::normal_distribution<float> nd(0.0f, 0.02f);
  std::vector<float> row(static_cast<size_t>(K));
  const quant::GintParams p{bits, 128};
  const DType kt = bits == 2 ? DType::Q2_K : DType::Q3_K;
  const int64_t rb = kquant ? dtype_row_bytes(kt, K) : quant::gint_row_bytes(p, K);
  w.resize(static_cast<size_t>(N * rb));
  for (int64_t n = 0; n < N; ++n) {
    for (auto& v : row) v = nd(rng);
    if (!kquant)
      quant::quantize_row_gint_ref(w.data() + n * rb, row.data(), K, p, false);
    else if (bits == 2)
      ref::quantize_row_q2_k_ref(w.data() + n * rb, row.data(), K);
    else
      ref::quantize_row_q3_k_ref(w.data() + n * rb, row.data(), K);
  }
  return w;
}

// y (M, N) = x (M, K) · Wᵀ by `path`; with stream_bytes > 0, over copies of the weight that together hold at least
// that many bytes, one per iteration in turn.
void lowbit_run(benchmark::State& st, Path path, int bits, int threads, int64_t M, int64_t N, int64_t K,
                int64_t stream_bytes = 0) {
  const bool kquant = path == kKQuant || path == kKQuantLut, lut = path == kLut || path == kKQuantLut;
  const auto& w = weights(bits, kquant, N, K);
  const DType kt = bits == 2 ? DType::Q2_K : DType::Q3_K;
  LutWeights lw;
  if (path == kLut) lw = lut_pack_gint(w.data(), N, K, bits, 128);
  if (path == kKQuantLut) lw = lut_pack_kquant(w.data(), kt, N, K);
  const size_t bytes = lut ? lw.codes.size() + 2 * lw.scales.size() + lw.sub.size() : w.size();
  const size_t copies = stream_bytes > 0 ? (static_cast<size_t>(stream_bytes) + bytes - 1) / bytes : 1;
  std::vector<LutWeights> lws(lut ? copies : 0, lw);
  std::vector<std::vector<uint8_t>> ws(lut ? 0 : copies, w);
  set_num_threads(threads);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(M * K)), y(static_cast<size_t>(M * N));
  for (auto& v : x) v = nd(rng);
  size_t i = 0;
  for (auto _ : st) {
    const size_t c = i++ % copies;
    if (lut)
      lut_matmul(y.data(), x.data(), M, lws[c]);
    else if (path == kGintDot)
      matmul_gint(y.data(), x.data(), ws[c].data(), bits, 128, M, N, K);
    else
      matmul_quant(y.data(), x.data(), ws[c].data(), kt, M, N, K);
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(st.iterations() * static_cast<int64_t>(bytes));
  const KernelTable& kt_ = kernels();
  const std::string what = path == kLut         ? std::string("lut_gemv ") + kt_.lut_gemv_isa
                           : path == kKQuantLut ? std::string(dtype_name(kt)) + " lut_gemv " + kt_.lut_gemv_kquant_isa
                           : path == kGintDot   ? std::string("gint_dot ") + kt_.gint_dot_isa
                                                : std::string(dtype_name(kt)) + " vec_dot " + quant_ops(kt).vec_dot_isa;
  st.SetLabel(what);
  set_num_threads(0);
}

// args: path, bits, threads, N, K.
void lowbit_gemv(benchmark::State& st) {
  lowbit_run(st, static_cast<Path>(st.range(0)), static_cast<int>(st.range(1)), static_cast<int>(st.range(2)), 1,
             st.range(3), st.range(4));
}
// args: path, bits, threads (N = 11008, K = 4096), the weight from DRAM: copies of at least 512 MiB in all.
void lowbit_stream(benchmark::State& st) {
  lowbit_run(st, static_cast<Path>(st.range(0)), static_cast<int>(st.range(1)), static_cast<int>(st.range(2)), 1,
             11008, 4096, int64_t{512} << 20);
}
// args: path, bits, M (one thread, N = K = 2048): where the LUT stops paying for a few rows.
void lowbit_small_m(benchmark::State& st) {
  lowbit_run(st, static_cast<Path>(st.range(0)), static_cast<int>(st.range(1)), 1, st.range(2), 2048, 2048);
}

void lowbit_args(benchmark::internal::Benchmark* b) {
  for (auto [N, K] : {std::pair<int64_t, int64_t>{2048, 2048}, {11008, 4096}, {4096, 11008}})
    for (int bits : {2, 3})
      for (int threads : {1, 2})
        for (Path p : {kLut, kGintDot, kKQuant, kKQuantLut}) b->Args({p, bits, threads, N, K});
}

}  // namespace

void small_m_args(benchmark::internal::Benchmark* b) {
  for (int64_t M : {2, 4, 8, 16})
    for (int bits : {2, 3})
      for (Path p : {kLut, kGintDot, kKQuant, kKQuantLut}) b->Args({p, bits, M});
}

BENCHMARK(lowbit_gemv)->Name("lowbit_gemv")->Apply(lowbit_args)->ArgNames({"path", "bits", "thr", "N", "K"});
BENCHMARK(lowbit_stream)
    ->Name("lowbit_stream")
    ->ArgsProduct({{kLut, kGintDot, kKQuant, kKQuantLut}, {2, 3}, {1, 2}})
    ->ArgNames({"path", "bits", "thr"});
BENCHMARK(lowbit_small_m)->Name("lowbit_small_m")->Apply(small_m_args)->ArgNames({"path", "bits", "M"});
