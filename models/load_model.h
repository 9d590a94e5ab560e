// Loads a Llama-family model from a GGUF file or a Hugging Face directory (config.json +
// safetensors, sharded or not). Weights stay memory-mapped; nothing is converted unless asked.
#pragma once

#include <string>

#include "models/llama.h"

namespace edgellm {

class GgufFile;

// `path` is a .gguf file or a directory holding config.json and *.safetensors.
LlamaModel load_llama(const std::string& path);
LlamaModel load_llama_gguf(const GgufFile& f);
LlamaModel load_llama_hf(const std::string& dir);

// Reads the hyperparameters only (for `edgellm info` and budget estimates).
LlamaConfig llama_config_from_gguf(const GgufFile& f);
LlamaConfig llama_config_from_hf(const std::string& dir);

}  // namespace edgellm
