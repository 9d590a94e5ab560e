// libFuzzer target: GPT-2's original tokenizer files, encoder.json then "#edgellm-fuzz: vocab.bpe#" and the
// merges (fuzz_files.h) -> parse_gpt2_encoder + make_tokenizer + encode/decode of a fixed string.
// Not tokenizer.json's byte-level BPE: that is fuzz_tokenizer_json.
#include "fuzz_common.h"
#include "fuzz_files.h"
#include "models/tokenizer.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  const auto files = fuzz::split_files(bytes, "encoder.json");
  auto tok = make_tokenizer(
      parse_gpt2_encoder(files[0].bytes, "fuzz/encoder.json", fuzz::file_named(files, "vocab.bpe"), "fuzz/vocab.bpe"));
  auto ids = tok->encode("Hello world! <|endoftext|> 12345 don't  \t\n\xF0\x9F\x98\x80 caf\xC3\xA9", {.parse_special = true});
  (void)tok->decode(ids, true);
}
