// `edgellm study cost measure` (fit the advisor's cost model on seeded random models) and `study cost check` (one
// measured step against the model's prediction). Not the model: bench/study/cost_model.h.
#include <fmt/format.h>
#include <unistd.h>

#include "bench/study/cost_model.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::string describe(const study::CostMeasurement& x) {
  return fmt::format("{} {} {}x{}: peak {:.1f} MiB (weights {:.1f} + extra {:.1f} analytic), {:.3f} CPU s, {:.2f} GFLOP/s",
                     x.model, x.cls, x.batch, x.seq_len, x.peak_bytes / kMiB, x.weight_bytes / kMiB, x.extra_bytes / kMiB,
                     x.cpu_seconds, x.cpu_seconds > 0 ? x.flops / x.cpu_seconds / 1e9 : 0);
}

}  // namespace

void add_study_cost_commands(CLI::App* study) {
  auto* cost = study->add_subcommand("cost", "The advisor's cost model: measure it, or check it against a measured step");
  cost->require_subcommand(1);

  auto* measure = cost->add_subcommand("measure", "Measure inference, LoRA and full steps on seeded random models and fit");
  static std::string out = "bench/study/cost_model.json";
  static std::vector<std::string> models = {"builtin:110m", "builtin:1.1b"};
  measure->add_option("-o,--output", out, "Where to write the fitted model (JSON)");
  measure->add_option("--model", models, "Models to measure (default builtin:110m builtin:1.1b)");
  measure->callback([] {
    apply_global_options();
    const double baseline = study::current_rss_bytes();
    std::vector<study::CostMeasurement> ms;
    for (const auto& spec : models) {
      const auto cfg = study::model_config_of(spec);
      if (!cfg) fail("study cost measure: {} is not a model spec (builtin:<preset>, .gguf, HF folder)", spec);
      // A 1.1B step of 8 x 64 tokens is ~2 TFLOP (minutes on two cores): larger models step one row. Full
      // fine-tuning holds ~20 bytes a parameter (22 GB at 1.1B): measured up to 300M parameters only.
      const bool large = study::model_params(*cfg) > 3e8;
      std::vector<std::pair<std::string, int>> plan = {{"inference", 1}, {"lora", large ? 1 : 8}};
      if (!large) plan.push_back({"full", 8});
      for (const auto& [cls, batch] : plan) {
        const int seq = cls == "inference" ? 256 : 64;
        ms.push_back(study::measure_cost(spec, cls, batch, seq));
        fmt::print("{}\n", describe(ms.back()));
        std::fflush(stdout);
      }
    }
    study::CostModel m = study::fit_cost_model(ms, baseline);
    std::string cmd = fmt::format("edgellm -t {} study cost measure", num_threads());
    for (const auto& s : models) cmd += " --model " + s;
    m.command = cmd + " -o " + out;
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    m.machine = fmt::format("{}, {} online CPUs", host, ::sysconf(_SC_NPROCESSORS_ONLN));
    study::save_cost_model(m, out);
    for (const auto& [cls, k] : m.coef)
      fmt::print("{}: peak = weights + {:.3f} x extra + {:.1f} MiB; {:.2f} GFLOP per CPU second\n", cls, k.scale,
                 k.overhead / kMiB, k.flop_rate / 1e9);
    fmt::print("process baseline {:.1f} MiB; wrote {}\n", baseline / kMiB, out);
  });

  auto* check = cost->add_subcommand("check", "Measure one configuration and compare it with the cost model's prediction");
  static std::string model = "builtin:1.1b", method = "lora-r8", path;
  static int batch = 1, seq = 16;
  check->add_option("--model", model, "Model spec (default builtin:1.1b)");
  check->add_option("--method", method, "A study method (its class is measured: inference, LoRA r8 or full)");
  check->add_option("--batch", batch, "Rows per step")->check(CLI::PositiveNumber);
  check->add_option("--seq", seq, "Tokens per row")->check(CLI::PositiveNumber);
  check->add_option("--cost-model", path, "Cost model JSON (default bench/study/cost_model.json)");
  check->callback([] {
    apply_global_options();
    const study::CostModel m = study::load_cost_model(path.empty() ? study::default_cost_model_path() : path);
    const auto cfg = study::model_config_of(model);
    if (!cfg) fail("study cost check: {} is not a model spec", model);
    const study::CostMeasurement x = study::measure_cost(model, study::cost_class(method), batch, seq);
    const study::CostPrediction p = study::predict_cost(m, *cfg, "f32", method, batch, seq, model.rfind("builtin:", 0) != 0);
    const double peak = x.peak_bytes + m.rss_baseline;  // predictions include the process baseline
    fmt::print("{}\npredicted: peak {:.1f} MiB, {:.3f} CPU s a step\nmeasured:  peak {:.1f} MiB (arena {:.1f} + baseline "
               "{:.1f}), {:.3f} CPU s a step\nratio predicted/measured: memory {:.3f}, time {:.2f}\n",
               describe(x), p.peak_bytes / kMiB, p.seconds_per_step, peak / kMiB, x.peak_bytes / kMiB,
               m.rss_baseline / kMiB, x.cpu_seconds, p.peak_bytes / peak, x.cpu_seconds > 0 ? p.seconds_per_step / x.cpu_seconds : 0);
  });
}

}  // namespace edgellm::cli
