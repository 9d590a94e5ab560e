// edgellm's command line: `edgellm VERB [options]`; `edgellm VERB --help` for each verb.
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kernels/kernel_profile.h"
#ifdef EDGELLM_HAVE_VULKAN
#include "kernels/vulkan/gpu_profile.h"
#endif
#include "runtime/arena.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {

GlobalOptions& global_options() {
  static GlobalOptions g;
  return g;
}

void apply_global_options() {
  const auto& g = global_options();
  set_num_threads(g.threads);
  if (!g.mem_budget.empty()) default_arena().set_budget(parse_bytes(g.mem_budget));
  start_profile();
}

void start_profile() {
  if (global_options().profile && !profile::on()) {
    kernel_profile_start();
#ifdef EDGELLM_HAVE_VULKAN
    vk::set_gpu_profiling(true);  // a Vulkan device's shaders: GPU time per shader after the CPU's table
#endif
  }
}

void finish_profile() {
  if (!profile::on()) return;
  kernel_profile_stop();
  const auto& g = global_options();
  profile::print_report(stderr, measure_machine_bounds());
#ifdef EDGELLM_HAVE_VULKAN
  vk::print_gpu_profile(stderr);
#endif
  profile::write_trace(g.profile_trace);
  std::fprintf(stderr, "profile: trace written to %s (open it in https://ui.perfetto.dev or chrome://tracing)\n",
               g.profile_trace.c_str());
}

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

// Every floating-point option of every verb: NaN and infinity are refused when parsed (`--lr nan` trained
// every weight into NaN and exited 0). Attached by type in main, so a new float option cannot miss it.
const CLI::Validator& finite_number() {
  static const CLI::Validator v(
      [](std::string& s) -> std::string {
        char* end = nullptr;
        const double x = std::strtod(s.c_str(), &end);
        if (end == s.c_str() || *end != '\0') return "'" + s + "' is not a number";
        if (!std::isfinite(x)) return "'" + s + "' is not a finite number";
        return {};
      },
      "FINITE");
  return v;
}

void require_finite_floats(CLI::App& app) {
  for (CLI::Option* o : app.get_options())
    if (o->get_type_name().find("FLOAT") != std::string::npos) o->check(finite_number());
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) require_finite_floats(*sub);
}
}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

const std::atomic<bool>* stop_flag() { return &g_stop; }

}  // namespace edgellm::cli

int main(int argc, char** argv) {
  using namespace edgellm;
  CLI::App app{"edgellm: run and personalize LLMs on edge CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("edgellm ") + EDGELLM_VERSION);
  // Global options go before or after the verb (`edgellm perplexity -m M -f F -t 2`, as llama.cpp users
  // write them): an option a verb does not know falls through to these. Set before the verbs are added,
  // which inherit it.
  app.fallthrough();
  auto& g = cli::global_options();
  app.add_option("-t,--threads", g.threads, "Threads for parallel kernels (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--mem-budget", g.mem_budget, "Memory budget, e.g. 512M or 2G (default: unlimited)");
  // Stored as soon as it is parsed (not at the end, CLI11's default): a verb reads it as its parsing starts.
  app.add_option("--device", g.device, "Default --device of the verbs that have one (cpu, vulkan, vulkan:N)")
      ->trigger_on_parse();
  app.add_flag("--profile", g.profile,
               "Per op and ISA path: calls, time, share, GB/s and GFLOP/s against this machine's triad and FMA peak "
               "(stderr, at the end), and a trace-event file for Perfetto");
  app.add_option("--profile-trace", g.profile_trace, "Where --profile writes its trace (default edgellm-trace.json)");
  cli::add_info_command(app);
  cli::add_bench_command(app);
  cli::add_model_commands(app);
  cli::add_train_commands(app);
  cli::add_convert_command(app);
  cli::add_quantize_command(app);
  cli::add_rag_commands(app);
  cli::add_study_commands(app);
  cli::add_pretrain_command(app);
  cli::add_embedder_command(app);
  cli::add_chat_command(app);
  cli::add_serve_command(app);
  cli::require_finite_floats(app);
  int rc = 0;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::fprintf(stderr, "edgellm: error: %s\n", e.what());
    rc = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgellm: internal error: %s\n", e.what());
    rc = 2;
  }
  try {
    cli::finish_profile();  // also after an error: where the time went until then
  } catch (const Error& e) {
    std::fprintf(stderr, "edgellm: error: %s\n", e.what());
    return rc ? rc : 1;
  }
  return rc;
}
