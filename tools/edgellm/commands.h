// The CLI's verbs. Each add_* registers a subcommand and its callback on the app.
// The CLI stays thin: parse, call the library, print.
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>

#include "models/llama.h"
#include "models/sampler.h"

namespace edgellm {
class Trainer;
struct Model;
}

namespace edgellm::cli {

// Options every verb shares (set before the verb runs).
struct GlobalOptions {
  int threads = 0;              // -t; 0 = all cores
  std::string mem_budget;       // --mem-budget, e.g. 2G
  std::string device;           // --device given before the verb; a verb's own --device wins
  bool profile = false;         // --profile: per-op table on stderr at the end, and a trace file
  std::string profile_trace = "edgellm-trace.json";  // --profile-trace
};
GlobalOptions& global_options();
// Applies -t and --mem-budget to the runtime, and starts --profile's recording.
void apply_global_options();
// With --profile: starts the recording (apply_global_options does; for verbs that apply the options themselves).
void start_profile();
// With --profile: stops the recording, prints the per-op table to stderr and writes the trace.
void finish_profile();

// SIGINT, SIGTERM and SIGHUP (a closed terminal or ssh session) set the flag that finetune and pretrain poll:
// they finish the step, save and exit 0. SA_RESETHAND: a second signal ends the process at once.
void install_stop_handlers();
const std::atomic<bool>* stop_flag();

// --device cpu | vulkan | vulkan:N (tools/edgellm/device.cpp): registers the option (taking the global
// --device when the verb's is not given); apply_device moves the model's forward onto the device (after any
// LoRA is loaded). A build without Vulkan refuses "vulkan".
void add_device_option(CLI::App* cmd, std::string& device);
void apply_device(LlamaModel& m, const std::string& device);
// `edgellm bench --device vulkan[:N]` without -m: the device's memory bandwidth (triad), as a table.
void run_device_bandwidth(const std::string& device);
// finetune --device vulkan[:N]: LoRA gradients on the device for a Trainer (tools/edgellm/device.cpp).
void apply_train_device(Trainer& tr, LlamaModel& m, const std::string& device);
// Lines for `edgellm info`: the Vulkan devices, or why there are none.
std::string device_report();

// --lora ADAPTER (PEFT directory or llama.cpp LoRA .gguf), applied unmerged, with --device (cmd_model.cpp):
// apply_lora loads the adapter first, then moves the model to the device.
void add_lora_option(CLI::App* cmd);
void apply_lora(Model& m);
// generate's sampling options (--temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n, -s, --greedy).
void add_sampling_options(CLI::App* cmd, SamplerParams& sp, bool& greedy);

void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);
// GGUF export of any loadable model
void add_convert_command(CLI::App& app);
// RTN / GPTQ / AWQ to GGUF (tools/edgellm/cmd_quantize.cpp)
void add_quantize_command(CLI::App& app);
// tokenize, generate, logits, perplexity
void add_model_commands(CLI::App& app);
// finetune, grad, merge
void add_train_commands(CLI::App& app);
// rag index | query | ask (tools/edgellm/cmd_rag.cpp)
void add_rag_commands(CLI::App& app);
// study (run | run-one | merge | report) and advise (tools/edgellm/cmd_study.cpp)
void add_study_commands(CLI::App& app);
void add_study_cost_commands(CLI::App* study);  // `study cost measure | check` (cmd_study_cost.cpp)
// pretrain a study base (tools/edgellm/cmd_pretrain.cpp)
void add_pretrain_command(CLI::App& app);
// interactive multi-turn chat (tools/edgellm/cmd_chat.cpp)
void add_chat_command(CLI::App& app);
// OpenAI-compatible HTTP server (tools/edgellm/cmd_serve.cpp, serve/)
void add_serve_command(CLI::App& app);

// `edgellm bench -m MODEL`: llama-bench-style table.
struct ModelBenchOptions {
  std::string model;
  int64_t n_prompt = 512, n_gen = 128;
  int reps = 5;
  std::vector<int> threads;  // empty: the -t setting
  std::string device = "cpu";  // --device cpu | vulkan[:N]
  std::string output = "md";   // -o md | csv | json, as llama-bench's -o
};
void run_model_bench(const ModelBenchOptions& o);

}  // namespace edgellm::cli
