// Writes a Llama-family model (and its tokenizer) as a GGUF file llama.cpp can load, with the big
// matrices in a chosen type. Not a quantization method: weights are converted by round-to-nearest.
#pragma once

#include <functional>
#include <string>

#include "models/runner.h"
#include "runtime/gguf.h"

namespace edgellm {

// matrix_type applies to every 2-D weight (f32, f16, bf16, or a GGUF block type whose block divides the
// row length; rows that do not divide fall back to f16, as llama-quantize does). Norms and biases stay f32.
// llama-architecture files get llama.cpp's per-head Q/K row order (adjacent RoPE pairs).
void save_llama_gguf(const Model& m, const std::string& path, DType matrix_type = DType::F32);

// Same, with a per-tensor choice (name as in GGUF, e.g. "blk.3.ffn_down.weight"; returns the type for that
// matrix, default matrix_type) and extra metadata written before the tensors. A matrix already in its
// target type is written as is (so GPTQ/AWQ results keep their bytes; Q/K rows are moved, not requantized).
struct SaveGgufOptions {
  std::function<DType(const std::string& name, DType matrix_type)> tensor_type;
  std::function<void(GgufWriter&)> metadata;
};
void save_llama_gguf(const Model& m, const std::string& path, DType matrix_type, const SaveGgufOptions& opt);

// Converts a (rows, cols) f32 matrix to `t` (round-to-nearest for block types).
Tensor convert_matrix(const Tensor& f32, DType t);

}  // namespace edgellm
