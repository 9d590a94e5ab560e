// `edgellm convert`: writes any model edgellm loads (GGUF, Hugging Face directory, builtin:<preset>)
// as a GGUF file with its matrices in one type, by round-to-nearest. GPTQ/AWQ live in `quantize`.
#include <fmt/format.h>

#include "models/save_gguf.h"
#include "runtime/error.h"
#include "runtime/file_lock.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {

void add_convert_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert", "Write a model as GGUF with its matrices in one type (round-to-nearest)");
  static std::string model, out, type = "f32";
  cmd->add_option("-m,--model", model, "Model (.gguf, HF directory or builtin:<preset>[:seed])")->required();
  cmd->add_option("--type", type, "Matrix type: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k ... q6_k");
  cmd->add_option("-o,--output", out, "Output .gguf")->required();
  cmd->callback([] {
    apply_global_options();
    const DType t = dtype_from_name(type);
    const OutputLock lock(out, OutputLock::Wait::Fail);
    Model m = load_model(model);
    save_llama_gguf(m, out, t);
    fmt::print("wrote {} ({}, {} parameters)\n", out, dtype_name(t), m.llama.n_params());
  });
}

}  // namespace edgellm::cli
