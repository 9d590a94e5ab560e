// `edgellm bench` with no model: a quick table of this CPU's kernel throughput per ISA,
// with the speed-up over the scalar reference. The Google Benchmark suites in bench/ go deeper.
#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <random>
#include <sstream>
#include <vector>

#include "kernels/cpu_features.h"
#include "kernels/kernel_table.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {
namespace {

struct Case {
  std::string name;
  double bytes;  // bytes read + written per call
  std::function<void(const KernelTable&)> run;
};

double seconds_per_call(const std::function<void()>& fn, double min_seconds) {
  using clock = std::chrono::steady_clock;
  fn();  // warm caches and page in buffers
  int64_t iters = 1;
  for (;;) {
    const auto t0 = clock::now();
    for (int64_t i = 0; i < iters; ++i) fn();
    const double dt = std::chrono::duration<double>(clock::now() - t0).count();
    if (dt >= min_seconds) return dt / static_cast<double>(iters);
    iters = dt <= 0 ? iters * 10 : std::max<int64_t>(iters * 2, static_cast<int64_t>(iters * min_seconds / dt * 1.2));
  }
}

void run_kernel_bench(double min_seconds) {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  auto randv = [&](size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
  };
  // Sizes that fit in L2 so the table shows compute, not DRAM.
  const int64_t n = 1 << 16, rows = 16, C = 4096, T = 16, NH = 32, HD = 128;
  auto a = randv(static_cast<size_t>(n)), b = randv(static_cast<size_t>(n)), y = randv(static_cast<size_t>(n)),
       g = randv(static_cast<size_t>(n));
  auto w = randv(static_cast<size_t>(C)), rstd = randv(static_cast<size_t>(rows));
  auto cs = randv(static_cast<size_t>(T * HD / 2)), sn = randv(static_cast<size_t>(T * HD / 2));
  std::vector<uint16_t> h(static_cast<size_t>(n));
  const double f4 = 4.0;
  std::vector<Case> cases = {
      {"add_forward", 3 * f4 * n, [&](const KernelTable& k) { k.add_forward(y.data(), a.data(), b.data(), n); }},
      {"mul_backward", 6 * f4 * n,
       [&](const KernelTable& k) { k.mul_backward(y.data(), g.data(), a.data(), b.data(), a.data(), n); }},
      {"silu_forward", 2 * f4 * n, [&](const KernelTable& k) { k.silu_forward(y.data(), a.data(), n); }},
      {"gelu_forward", 2 * f4 * n, [&](const KernelTable& k) { k.gelu_forward(y.data(), a.data(), n); }},
      {"swiglu_forward", 3 * f4 * n, [&](const KernelTable& k) { k.swiglu_forward(y.data(), a.data(), b.data(), n); }},
      {"swiglu_backward", 7 * f4 * n,
       [&](const KernelTable& k) { k.swiglu_backward(y.data(), g.data(), a.data(), b.data(), a.data(), n); }},
      {"rmsnorm_forward", 2 * f4 * rows * C,
       [&](const KernelTable& k) { k.rmsnorm_forward(y.data(), rstd.data(), a.data(), w.data(), rows, C, 1e-5f); }},
      {"rmsnorm_backward", 4 * f4 * rows * C,
       [&](const KernelTable& k) {
         k.rmsnorm_backward(y.data(), g.data(), b.data(), a.data(), w.data(), rstd.data(), rows, C);
       }},
      {"softmax_forward", 2 * f4 * rows * C, [&](const KernelTable& k) { k.softmax_forward(y.data(), a.data(), rows, C); }},
      {"rope_forward(interleaved)", 2 * f4 * T * NH * HD,
       [&](const KernelTable& k) {
         k.rope_forward(y.data(), a.data(), cs.data(), sn.data(), T, NH, HD, RopePairing::Interleaved);
       }},
      {"rope_forward(neox)", 2 * f4 * T * NH * HD,
       [&](const KernelTable& k) { k.rope_forward(y.data(), a.data(), cs.data(), sn.data(), T, NH, HD, RopePairing::NeoX); }},
      {"f32_to_f16", 6.0 * n, [&](const KernelTable& k) { k.f32_to_f16(h.data(), a.data(), n); }},
      {"f16_to_f32", 6.0 * n, [&](const KernelTable& k) { k.f16_to_f32(y.data(), h.data(), n); }},
  };

  const auto isas = available_isas();
  fmt::print("edgellm bench: kernel throughput on this CPU (single thread, L2-resident buffers)\n");
  fmt::print("cpu: {} | features: {}\n", cpu_features().brand, cpu_features().str());
  fmt::print("command: edgellm bench   (EDGELLM_ISA does not restrict this table: every usable ISA is timed)\n\n");
  std::string header = "| kernel |", sep = "|---|";
  for (Isa i : isas) {
    header += fmt::format(" {} GB/s |", isa_name(i));
    sep += "---:|";
  }
  if (isas.size() > 1) {
    header += fmt::format(" {} vs scalar |", isa_name(isas.back()));
    sep += "---:|";
  }
  fmt::print("{}\n{}\n", header, sep);
  for (const auto& c : cases) {
    std::string line = "| " + c.name + " |";
    double first = 0, last = 0;
    for (Isa i : isas) {
      const KernelTable& k = *kernels_for(i);
      const double s = seconds_per_call([&] { c.run(k); }, min_seconds);
      const double gbs = c.bytes / s / 1e9;
      if (i == isas.front()) first = gbs;
      last = gbs;
      line += fmt::format(" {:.1f} |", gbs);
    }
    if (isas.size() > 1) line += fmt::format(" {:.1f}x |", last / first);
    fmt::print("{}\n", line);
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Benchmark this CPU's kernels, or a model's speed with -m (llama-bench style)");
  static double min_seconds = 0.05;
  static ModelBenchOptions mo;
  static std::string threads;
  cmd->add_option("--min-time", min_seconds, "Seconds to time each kernel per ISA")->check(CLI::PositiveNumber);
  cmd->add_option("-m,--model", mo.model, "Model (.gguf, HF directory or builtin:<preset>) to benchmark");
  cmd->add_option("-p,--n-prompt", mo.n_prompt, "Prompt tokens for the pp test (0 = skip)")->check(CLI::NonNegativeNumber);
  cmd->add_option("-n,--n-gen", mo.n_gen, "Generated tokens for the tg test (0 = skip)")->check(CLI::NonNegativeNumber);
  add_device_option(cmd, mo.device);
  cmd->add_option("-r,--repetitions", mo.reps, "Repetitions of each test")->check(CLI::PositiveNumber);
  // As llama-bench: -t takes a list here (the global -t, before the verb, sets one count), and -o is the
  // output format, not a path.
  cmd->add_option("-t,--threads,--threads-list", threads, "Thread counts to test, comma-separated, e.g. 1,2,4");
  cmd->add_option("-o,--output", mo.output, "Output format: md, csv or json (with -m)")->check(CLI::IsMember({"md", "csv", "json"}));
  cmd->callback([] {
    apply_global_options();
    if (mo.model.empty() && mo.device != "cpu") return run_device_bandwidth(mo.device);
    if (mo.model.empty()) return run_kernel_bench(min_seconds);
    std::stringstream ss(threads);
    std::string item;
    while (std::getline(ss, item, ','))
      if (!item.empty()) {
        size_t used = 0;
        int v = -1;
        try {
          v = std::stoi(item, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != item.size() || v < 1) fail("bench -t: '{}' is not a thread count (e.g. -t 1,2,4)", item);
        mo.threads.push_back(v);
      }
    run_model_bench(mo);
  });
}

}  // namespace edgellm::cli
