// Built-in Llama-architecture models made from a fixed seed: no download needed for demos,
// tests, benchmarks and the main job. Random weights: they exercise the runtime, not language.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/llama.h"

namespace edgellm {

// Named shapes: "tiny" (C 64, 2 layers, V 512), "small" (C 256, 4 layers, V 512),
// "110m" (C 768, 12 layers, V 32000), "1.1b" (TinyLlama's: C 2048, 22 layers, 32/4 heads, V 32000).
LlamaConfig builtin_config(const std::string& preset);
std::vector<std::string> builtin_presets();

// Draws weights as the fixtures do: matrices N(0,1)/√in, norms 1 + 0.1·N(0,1), embeddings 0.5·N(0,1).
// Matrices are stored in `weight_type` (f32, f16 or bf16 here; quantized types via quant/).
// The bytes of its weights, charged to the arena (make_builtin_model refuses up front when they do not fit).
size_t builtin_model_bytes(const LlamaConfig& config, DType weight_type = DType::F32);
// Throws BudgetError before allocating when builtin_model_bytes does not fit the default arena's budget.
LlamaModel make_builtin_model(const LlamaConfig& config, uint64_t seed, DType weight_type = DType::F32);

}  // namespace edgellm
