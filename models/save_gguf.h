// Writes a Llama-family model (and its tokenizer) as a GGUF file llama.cpp can load, with the big
// matrices in a chosen type. Not a quantization method: weights are converted by round-to-nearest.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "models/file_type.h"
#include "models/runner.h"

namespace edgellm {

class GgufWriter;

// matrix_type applies to every 2-D weight (f32, f16, bf16, or a GGUF block type whose block divides the
// row length; rows that do not divide fall back to f16, as llama-quantize does); without one each weight
// keeps its type. Norms and biases stay f32. llama-architecture files get llama.cpp's per-head Q/K row
// order (adjacent RoPE pairs). A model loaded from a GGUF keeps that file's metadata (chat template...).
// LoRA adapters must be merged or dropped first.
// opt.tensor_type picks a type per matrix (GGUF name, e.g. "blk.3.ffn_down.weight"; given the default
// type), opt.metadata adds keys before the tensors. A matrix already in its target type is written as
// is (GPTQ/AWQ results keep their bytes; Q/K rows are moved, not requantized).
// opt.file_type labels the file (general.file_type); without one a file is labelled by its matrix type
// when llama.cpp has a file type of that name (pure_file_type), and not at all otherwise.
struct SaveGgufOptions {
  std::function<DType(const std::string& name, DType matrix_type)> tensor_type;
  std::function<void(GgufWriter&)> metadata;
  std::optional<FileType> file_type;
};
void save_llama_gguf(const Model& m, const std::string& path, std::optional<DType> matrix_type = std::nullopt,
                     const SaveGgufOptions& opt = {});
// llama-quantize's recipe for `ft` on a model of config c: each matrix's type (file_type_tensor_type) and
// the label. Pass ft.base as the matrix type.
SaveGgufOptions file_type_options(const FileTypeInfo& ft, const LlamaConfig& c);
// Writes m as `type` (case-insensitive): a llama.cpp file type name (Q4_K_M, Q3_K_S, q4_0, ...) gets
// llama-quantize's recipe, or with `pure` every matrix in its base type (llama-quantize --pure); any other
// dtype name (q4_k, f16, gint4_g32) every matrix in that type. opt.metadata is kept. Returns a description of
// what was written ("Q4_K_M", "q4_k (pure)") for the verb's message.
std::string save_llama_gguf_as(const Model& m, const std::string& path, const std::string& type, bool pure,
                               SaveGgufOptions opt = {});

// The GGUF name of a weight's column order (Tensor::in_perm): "blk.3.attn_q.weight" -> "blk.3.attn_q.in_perm",
// an I32 tensor of the weight's K columns. edgellm-only, like the group-int type ids it accompanies.
std::string in_perm_name(const std::string& weight_name);

// Converts a (rows, cols) f32 matrix to `t` (round-to-nearest for block types; asymmetric for group-int).
Tensor convert_matrix(const Tensor& f32, DType t);

}  // namespace edgellm
