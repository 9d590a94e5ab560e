// Loads a Llama-family model from a GGUF file or a Hugging Face directory (config.json +
// safetensors, sharded or not). Weights stay memory-mapped; nothing is converted unless asked.
#pragma once

#include <string>
#include <vector>

#include "models/llama.h"

namespace edgellm {

class GgufFile;

// `path` is a .gguf file or a directory holding config.json and *.safetensors.
LlamaModel load_llama(const std::string& path);
LlamaModel load_llama_gguf(const GgufFile& f);
LlamaModel load_llama_hf(const std::string& dir);

// Attaches a column order (Tensor::in_perm) to a group-int weight after checking that `perm` is a
// permutation of its K columns; FormatError(file, field) otherwise.
void set_in_perm(Tensor& w, std::vector<int32_t> perm, const std::string& file, const std::string& field);

// Reads the hyperparameters only (for `edgellm info` and budget estimates).
LlamaConfig llama_config_from_gguf(const GgufFile& f);
LlamaConfig llama_config_from_hf(const std::string& dir);

}  // namespace edgellm
