// libFuzzer target: a GGUF file in memory -> GgufFile::parse, every tensor view, the Llama config, the
// tokenizer record and a tokenizer built from it (encode + decode of a fixed string), then the model load.
// Not a numerics test: the model is loaded (views validated) but never run.
#include "fuzz_common.h"
#include "models/load_model.h"
#include "models/tokenizer.h"
#include "models/tokenizer_gguf.h"
#include "runtime/gguf.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  GgufFile f = GgufFile::parse(MappedFile::from_memory("fuzz.gguf", std::string(bytes)));
  for (const auto& [key, value] : f.metadata()) (void)value.str();
  for (const auto& info : f.tensors()) (void)f.tensor(info);
  try {
    auto tok = make_tokenizer(tokenizer_vocab_from_gguf(f));
    auto ids = tok->encode("Hello world! <s> 12345 \xE2\x96\x81x \xF0\x9F\x98\x80", {.add_bos = true, .parse_special = true});
    (void)tok->decode(ids, true);
  } catch (const Error&) {
  }
  (void)load_llama_gguf(f);
}
