// The file a per-block quantization (quant/quantize_model.h) ends in: GGUF with its method and type recorded.
// Not the quantization, and not round-to-nearest to GGUF types (models/save_gguf.h save_llama_gguf_as does that).
#include <string>

#include "models/save_gguf.h"
#include "quant/quantize_model.h"
#include "runtime/gguf.h"

namespace edgellm::quant {

void save_quantized_gguf(const Model& m, const std::string& path, const ModelQuantOptions& opt,
                         const std::string& type_name) {
  const Grid grid(opt.spec);
  static const char* methods[] = {"rtn", "gptq", "awq"};
  SaveGgufOptions so;
  so.metadata = [&](GgufWriter& g) {
    g.set_string("edgellm.quant.method", methods[static_cast<int>(opt.method)]);
    g.set_string("edgellm.quant.type", type_name);
    if (grid.kind == GridKind::Gint) {  // informational: the tensor type ids carry bits and group
      g.set_u32("edgellm.gint.bits", static_cast<uint32_t>(opt.spec.bits));
      g.set_u32("edgellm.gint.group", static_cast<uint32_t>(opt.spec.group));
      g.set_bool("edgellm.gint.symmetric", opt.spec.symmetric);
    }
  };
  if (grid.kind != GridKind::Gint) return save_llama_gguf(m, path, grid.gguf_type(), so);
  so.tensor_type = [](const std::string& name, DType t) {
    return (name == "token_embd.weight" || name == "output.weight") && t == DType::F32 ? DType::F16 : t;
  };
  save_llama_gguf(m, path, std::nullopt, so);
}

}  // namespace edgellm::quant
