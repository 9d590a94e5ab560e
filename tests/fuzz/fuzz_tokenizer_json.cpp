// libFuzzer target: a tokenizer.json text -> parse_hf_tokenizer_json, make_tokenizer, encode + decode a fixed string.
// Not a tokenizer_config.json fuzzer: the config text is left empty.
#include "fuzz_common.h"
#include "models/tokenizer.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  auto tok = make_tokenizer(parse_hf_tokenizer_json(bytes, "fuzz/tokenizer.json"));
  auto ids = tok->encode("Hello world! <s> 12345 \xE2\x96\x81x  \t\n\xF0\x9F\x98\x80 don't", {.add_bos = true, .parse_special = true});
  (void)tok->decode(ids, true);
}
