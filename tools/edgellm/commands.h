// The CLI's verbs. Each add_* registers a subcommand and its callback on the app.
// The CLI stays thin: parse, call the library, print.
#pragma once

#include <CLI/CLI.hpp>

namespace edgellm::cli {

// Options every verb shares (set before the verb runs).
struct GlobalOptions {
  int threads = 0;              // -t; 0 = all cores
  std::string mem_budget;       // --mem-budget, e.g. 2G
};
GlobalOptions& global_options();
// Applies -t and --mem-budget to the runtime.
void apply_global_options();

void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);

}  // namespace edgellm::cli
