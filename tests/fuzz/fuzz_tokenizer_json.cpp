// libFuzzer target: a tokenizer.json text, optionally followed by "#edgellm-fuzz: tokenizer_config.json#" and that
// file (fuzz_files.h) -> parse_hf_tokenizer_json, make_tokenizer, encode + decode a fixed string.
#include "fuzz_common.h"
#include "fuzz_files.h"
#include "models/tokenizer.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  const auto files = fuzz::split_files(bytes, "tokenizer.json");
  auto tok = make_tokenizer(
      parse_hf_tokenizer_json(files[0].bytes, "fuzz/tokenizer.json", fuzz::file_named(files, "tokenizer_config.json")));
  auto ids = tok->encode("Hello world! <s> 12345 \xE2\x96\x81x  \t\n\xF0\x9F\x98\x80 don't", {.add_bos = true, .parse_special = true});
  (void)tok->decode(ids, true);
}
