// Writes a Llama-family model (and its tokenizer) as a GGUF file llama.cpp can load, with the big
// matrices in a chosen type. Not a quantization method: weights are converted by round-to-nearest.
#pragma once

#include <optional>
#include <string>

#include "models/runner.h"

namespace edgellm {

// matrix_type applies to every 2-D weight (f32, f16, bf16, or a GGUF block type whose block divides the
// row length; rows that do not divide fall back to f16, as llama-quantize does); without one each weight
// keeps its type. Norms and biases stay f32. llama-architecture files get llama.cpp's per-head Q/K row
// order (adjacent RoPE pairs). A model loaded from a GGUF keeps that file's metadata (chat template...).
// LoRA adapters must be merged or dropped first.
void save_llama_gguf(const Model& m, const std::string& path, std::optional<DType> matrix_type = std::nullopt);

// Converts a (rows, cols) f32 matrix to `t` (round-to-nearest for block types).
Tensor convert_matrix(const Tensor& f32, DType t);

}  // namespace edgellm
