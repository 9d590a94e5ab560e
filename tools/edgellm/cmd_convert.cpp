// `edgellm convert`: writes any model edgellm loads (GGUF, Hugging Face directory, builtin:<preset>)
// as GGUF, by round-to-nearest: one type, or one of llama-quantize's mixes. GPTQ/AWQ live in `quantize`.
#include <fmt/format.h>

#include "models/save_gguf.h"
#include "runtime/error.h"
#include "runtime/file_lock.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {

void add_convert_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert", "Write a model as GGUF in a type or llama-quantize mix (round-to-nearest)");
  static std::string model, out, type = "f32";
  static bool pure = false;
  cmd->add_option("-m,--model", model, "Model (.gguf, HF directory or builtin:<preset>[:seed])")->required();
  cmd->add_option("--type", type,
                  "Any case. llama-quantize's types and mixes (" + file_type_names() +
                      ") or one matrix type (q2_k ... q6_k, gint4_g32, ...)");
  cmd->add_flag("--pure", pure, "Every matrix in the type's base type, as llama-quantize --pure (no mix)");
  cmd->add_option("-o,--output", out, "Output .gguf")->required();
  cmd->callback([] {
    apply_global_options();
    const OutputLock lock(out, OutputLock::Wait::Fail);
    Model m = load_model(model);
    const std::string what = save_llama_gguf_as(m, out, type, pure);
    fmt::print("wrote {} ({}, {} parameters)\n", out, what, m.llama.n_params());
  });
}

}  // namespace edgellm::cli
