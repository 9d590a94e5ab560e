// libFuzzer target: a Hugging Face model directory. The input is config.json, then "#edgellm-fuzz: NAME#" lines
// each followed by a further file (model.safetensors, quantize_config.json, an index and its shards; see
// fuzz_files.h), all written to a tmpfs folder -> load_llama_hf, then the logits of three tokens. Reaches the
// config -> LlamaConfig glue, tensor naming and shape checks, and GPTQ/AWQ unpacking (models/hf_quant.cpp).
// Not the tokenizer: load_model's tokenizer half is fuzz_tokenizer_json's and fuzz_tokenizer_model's.
#include <algorithm>

#include "fuzz_common.h"
#include "fuzz_files.h"
#include "models/load_model.h"
#include "models/runner.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  static const fuzz::SpillDir dir("hf_model");
  dir.clear();
  for (const fuzz::InputFile& f : fuzz::split_files(bytes, "config.json")) dir.write(f.name, f.bytes);
  Model m;
  m.llama = load_llama_hf(dir.path());
  const int32_t last = static_cast<int32_t>(m.llama.config.vocab - 1);
  (void)all_logits(m, {0, std::min(1, last), std::min(2, last)});
}
