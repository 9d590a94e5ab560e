// libFuzzer target: a SentencePiece tokenizer.model (protobuf) -> parse_sentencepiece_model, make_tokenizer,
// encode + decode a fixed string. Not a protobuf fuzzer in general: only ModelProto's fields edgellm reads.
#include "fuzz_common.h"
#include "models/tokenizer.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  auto tok = make_tokenizer(parse_sentencepiece_model(bytes, "fuzz/tokenizer.model"));
  auto ids = tok->encode("Hello world! <s> 12345 \xE2\x96\x81x  \t\n\xF0\x9F\x98\x80 don't", {.add_bos = true, .parse_special = true});
  (void)tok->decode(ids, true);
}
