// `edgellm info`: the CPU's features and the ISA each kernel uses.
#include <fmt/format.h>

#include "kernels/cpu_features.h"
#include "kernels/kernel_table.h"
#include "runtime/parallel.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {

static void print_cpu_info() {
  const CpuFeatures& f = cpu_features();
  fmt::print("cpu:            {}\n", f.brand);
  fmt::print("features:       {}\n", f.str());
  fmt::print("threads:        {}\n", num_threads());
  fmt::print("compiled ISAs:  {}\n", compiled_isas_string());
  std::string avail;
  for (Isa i : available_isas()) avail += (avail.empty() ? "" : " ") + std::string(isa_name(i));
  fmt::print("usable ISAs:    {}\n", avail);
  fmt::print("active ISA:     {}{}\n", isa_name(active_isa()), std::getenv("EDGELLM_ISA") ? " (forced by EDGELLM_ISA)" : "");
  fmt::print("\n| kernel | ISA |\n|---|---|\n");
  for (const auto& [name, isa] : kernel_isa_list(kernels())) fmt::print("| {} | {} |\n", name, isa);
}

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show CPU features and which ISA each kernel uses");
  cmd->callback([] {
    apply_global_options();
    print_cpu_info();
  });
}

}  // namespace edgellm::cli
