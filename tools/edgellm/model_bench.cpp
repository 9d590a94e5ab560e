// `edgellm bench -m MODEL`: prompt processing (pp) and generation (tg) speed in a table shaped like
// llama-bench's, so the two compare line by line. Weights are random-token inputs; the cache starts empty.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <sstream>

#include "models/runner.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {
namespace {

std::string human_params(int64_t n) {
  if (n >= 1000000000) return fmt::format("{:.2f} B", static_cast<double>(n) / 1e9);
  return fmt::format("{:.2f} M", static_cast<double>(n) / 1e6);
}

std::string model_type(const LlamaModel& m) {
  // The dominant dtype of the big matrices, as llama-bench names the file type.
  const Tensor& w = m.weights.layers.empty() ? m.weights.output : m.weights.layers[0].w_gate;
  std::string t = std::string(dtype_name(w.dtype()));
  for (auto& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return fmt::format("{} {} {}", m.config.arch, human_params(m.n_params()), t);
}

}  // namespace

void run_model_bench(const ModelBenchOptions& o) {
  Model m = load_model(o.model);
  apply_device(m.llama, o.device);
  const std::string backend = m.llama.backend ? "Vulkan" : "CPU";
  const LlamaConfig& c = m.llama.config;
  std::vector<int> threads = o.threads;
  if (threads.empty()) threads.push_back(num_threads());
  // -o md (llama-bench's default table), csv or json (llama-bench's field names, one record per test).
  if (o.output == "md") {
    fmt::print("| model | size | params | backend | threads | test | t/s |\n");
    fmt::print("| --- | ---: | ---: | --- | ---: | ---: | ---: |\n");
  } else if (o.output == "csv") {
    fmt::print("model_type,model_size,model_n_params,backends,n_threads,n_prompt,n_gen,avg_ts,stddev_ts\n");
  } else {
    fmt::print("[");
  }
  bool first_record = true;
  Rng rng(1234);
  auto random_ids = [&](int64_t n) {
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (auto& id : ids) id = static_cast<int32_t>(rng.next() % static_cast<uint64_t>(c.vocab));
    return ids;
  };
  std::vector<float> logits(static_cast<size_t>(c.vocab));
  for (int t : threads) {
    set_num_threads(t);
    struct Test {
      std::string name;
      int64_t n;
      bool prompt;
    };
    std::vector<Test> tests;
    if (o.n_prompt > 0) tests.push_back({"pp" + std::to_string(o.n_prompt), o.n_prompt, true});
    if (o.n_gen > 0) tests.push_back({"tg" + std::to_string(o.n_gen), o.n_gen, false});
    for (const Test& test : tests) {
      KvCache cache(c, std::max<int64_t>(test.n, 1) + 1);
      std::vector<double> rates;
      for (int rep = -1; rep < o.reps; ++rep) {  // rep −1 warms up
        const std::vector<int32_t> ids = random_ids(test.n);
        cache.clear();
        const auto t0 = std::chrono::steady_clock::now();
        if (test.prompt) {
          llama_forward(m.llama, cache, ids.data(), test.n, logits.data(), false);
        } else {
          for (int64_t i = 0; i < test.n; ++i) llama_forward(m.llama, cache, &ids[static_cast<size_t>(i)], 1, logits.data(), false);
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (rep >= 0) rates.push_back(static_cast<double>(test.n) / s);
      }
      double mean = 0, var = 0;
      for (double r : rates) mean += r;
      mean /= static_cast<double>(rates.size());
      for (double r : rates) var += (r - mean) * (r - mean);
      const double sd = rates.size() > 1 ? std::sqrt(var / static_cast<double>(rates.size() - 1)) : 0.0;
      const int64_t n_prompt = test.prompt ? test.n : 0, n_gen = test.prompt ? 0 : test.n;
      if (o.output == "md") {
        fmt::print("| {} | {:.2f} MiB | {} | {} | {} | {} | {:.2f} ± {:.2f} |\n", model_type(m.llama),
                   static_cast<double>(m.llama.weight_bytes()) / (1024.0 * 1024.0), human_params(m.llama.n_params()),
                   backend, t, test.name, mean, sd);
      } else if (o.output == "csv") {
        fmt::print("\"{}\",{},{},{},{},{},{},{:.6f},{:.6f}\n", model_type(m.llama), m.llama.weight_bytes(),
                   m.llama.n_params(), backend, t, n_prompt, n_gen, mean, sd);
      } else {
        const nlohmann::json r = {{"model_type", model_type(m.llama)}, {"model_size", m.llama.weight_bytes()},
                                  {"model_n_params", m.llama.n_params()}, {"backends", backend},
                                  {"n_threads", t}, {"n_prompt", n_prompt}, {"n_gen", n_gen},
                                  {"avg_ts", mean}, {"stddev_ts", sd}, {"samples_ts", rates}};
        fmt::print("{}\n  {}", first_record ? "" : ",", r.dump());
        first_record = false;
      }
      std::fflush(stdout);
    }
  }
  if (o.output == "json") fmt::print("\n]\n");
}

}  // namespace edgellm::cli
