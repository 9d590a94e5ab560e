// libFuzzer target: a Hugging Face config.json text -> parse_hf_config.
// Not a model load: the hyperparameters are parsed, not turned into a LlamaConfig.
#include "fuzz_common.h"
#include "models/hf_config.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) { (void)parse_hf_config(std::string(bytes), "fuzz/config.json"); }
