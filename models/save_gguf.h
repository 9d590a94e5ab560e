// Writes a Llama-family model (and its tokenizer) as a GGUF file llama.cpp can load, with the big
// matrices in a chosen type. Not a quantization method: weights are converted by round-to-nearest.
#pragma once

#include <functional>
#include <optional>
#include <string>

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
struct SaveGgufOptions {
  std::function<DType(const std::string& name, DType matrix_type)> tensor_type;
  std::function<void(GgufWriter&)> metadata;
};
void save_llama_gguf(const Model& m, const std::string& path, std::optional<DType> matrix_type = std::nullopt,
                     const SaveGgufOptions& opt = {});

// The GGUF name of a weight's column order (Tensor::in_perm): "blk.3.attn_q.weight" -> "blk.3.attn_q.in_perm",
// an I32 tensor of the weight's K columns. edgellm-only, like the group-int type ids it accompanies.
std::string in_perm_name(const std::string& weight_name);

// Converts a (rows, cols) f32 matrix to `t` (round-to-nearest for block types; asymmetric for group-int).
Tensor convert_matrix(const Tensor& f32, DType t);

}  // namespace edgellm
