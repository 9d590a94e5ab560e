// libFuzzer target: a tokenizer.json text, optionally followed by "#edgellm-fuzz: tokenizer_config.json#" and that
// file (fuzz_files.h) -> parse_hf_tokenizer_json, make_tokenizer, encode + decode a fixed string.
#include "fuzz_common.h"
#include "fuzz_files.h"
#include "models/tokenizer.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  std::string_view config;
  const auto files = fuzz::split_files(bytes, "tokenizer.json");
  for (const fuzz::InputFile& f : files)
    if (f.name == "tokenizer_config.json") config = f.bytes;
  auto tok = make_tokenizer(parse_hf_tokenizer_json(files[0].bytes, "fuzz/tokenizer.json", config));
  auto ids = tok->encode("Hello world! <s> 12345 \xE2\x96\x81x  \t\n\xF0\x9F\x98\x80 don't", {.add_bos = true, .parse_special = true});
  (void)tok->decode(ids, true);
}
