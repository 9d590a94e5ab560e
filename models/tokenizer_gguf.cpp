// tokenizer.ggml.* → TokenizerVocab. Optional keys keep the record's defaults when absent.
#include "models/tokenizer_gguf.h"

#include "runtime/error.h"
#include "runtime/gguf.h"

namespace edgellm {

TokenizerVocab tokenizer_vocab_from_gguf(const GgufFile& f) {
  TokenizerVocab v;
  v.source = f.path();
  v.model = f.get_string("tokenizer.ggml.model");
  v.pre = f.get_string("tokenizer.ggml.pre", "default");
  v.tokens = f.get_strings("tokenizer.ggml.tokens");
  if (f.has("tokenizer.ggml.scores")) v.scores = f.get_f32_array("tokenizer.ggml.scores");
  if (f.has("tokenizer.ggml.token_type")) v.types = f.get_i32_array("tokenizer.ggml.token_type");
  if (f.has("tokenizer.ggml.merges")) v.merges = f.get_strings("tokenizer.ggml.merges");
  auto id = [&](const char* key) { return f.has(key) ? f.get_i32(key) : -1; };
  v.bos_id = id("tokenizer.ggml.bos_token_id");
  v.eos_id = id("tokenizer.ggml.eos_token_id");
  v.unk_id = id("tokenizer.ggml.unknown_token_id");
  v.pad_id = id("tokenizer.ggml.padding_token_id");
  if (f.has("tokenizer.ggml.add_bos_token")) v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token");
  if (f.has("tokenizer.ggml.add_eos_token")) v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token");
  if (f.has("tokenizer.ggml.add_space_prefix")) v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix");
  if (f.has("tokenizer.ggml.remove_extra_whitespaces"))
    v.remove_extra_whitespaces = f.get_bool("tokenizer.ggml.remove_extra_whitespaces");
  return v;
}

}  // namespace edgellm
