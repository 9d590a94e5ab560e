// TokenStream (streaming detokenization): a continuation's first token keeps its leading space (the
// `generate -p "The"` → "Theonly go" regression), and a UTF-8 character split over byte tokens prints whole.
#include <doctest/doctest.h>

#include "models/runner.h"
#include "models/token_stream.h"
#include "models/tokenizer.h"

using namespace edgellm;

TEST_CASE("TokenStream: the first generated token keeps its SentencePiece space (decode would drop it)") {
  const auto tok = load_sentencepiece_model(std::string(EDGELLM_FIXTURES_DIR) + "/tokenizer/tokenizer.model");
  const std::vector<int32_t> prompt = tok->encode("The"), all = tok->encode("The only go");
  REQUIRE(all.size() > prompt.size());
  REQUIRE(std::equal(prompt.begin(), prompt.end(), all.begin()));
  const std::vector<int32_t> cont(all.begin() + static_cast<std::ptrdiff_t>(prompt.size()), all.end());
  // decode() strips the dummy-prefix space of its first piece: right for a whole text, wrong mid-stream.
  CHECK(tok->decode(cont) == "only go");
  TokenStream s(*tok);
  std::string shown;
  for (int32_t id : cont) shown += s.push(id);
  shown += s.flush();
  CHECK(shown == " only go");
}

TEST_CASE("TokenStream: a UTF-8 character split over byte tokens comes out whole, never half") {
  const auto tok = builtin_tokenizer(512);  // byte pieces: "é→" is 5 tokens
  const std::string text = "aé→b";
  const std::vector<int32_t> ids = tok->encode(text);
  REQUIRE(ids.size() == text.size());
  TokenStream s(*tok);
  std::vector<std::string> parts;
  for (int32_t id : ids) parts.push_back(s.push(id));
  CHECK(s.flush().empty());
  CHECK(parts == std::vector<std::string>{"a", "", "é", "", "", "→", "b"});
}
