// ChatSession: each turn evaluates only its new tokens (the cache is never re-filled), the cache holds exactly
// apply_chat_template of the history, a full context is refused without losing the history, a reply can be cut.
#include <doctest/doctest.h>

#include "models/chat_session.h"

using namespace edgellm;

namespace {

SamplerParams greedy() {
  SamplerParams sp;
  sp.temperature = 0;
  return sp;
}

// The cache's ids as text, control tokens written out: what the model has seen.
std::string text_of(const Tokenizer& tok, const std::vector<int32_t>& ids, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += tok.token_to_piece(ids[i], true);
  return out;
}

}  // namespace

TEST_CASE("ChatSession: the second turn evaluates only its new tokens; the cache is the template of the history") {
  const Model m = load_model("builtin:tiny");
  ChatSession s(m, ChatFormat::ChatML, 512, greedy(), "Be brief.");
  const ChatReply r1 = s.reply("hello", 8);
  const std::vector<ChatMessage> turn1 = {{"system", "Be brief."}, {"user", "hello"}};
  const std::string bos = m.tokenizer->token_to_piece(m.tokenizer->bos_id(), true);
  // builtin:tiny's byte tokenizer: one token per byte of the rendered prompt, plus BOS.
  CHECK(r1.prompt_tokens == static_cast<int64_t>(1 + apply_chat_template(ChatFormat::ChatML, turn1).size()));
  CHECK(r1.generated > 0);
  CHECK(s.history().size() == 3);
  CHECK(s.history().back().content == r1.text);
  CHECK(s.evaluated() == static_cast<int64_t>(s.tokens().size()));  // every cached token evaluated once

  const size_t before = s.tokens().size();
  const ChatReply r2 = s.reply("again", 8);
  const std::vector<ChatMessage> turn2 = {turn1[0], turn1[1], {"assistant", r1.text}, {"user", "again"}};
  const std::string full = apply_chat_template(ChatFormat::ChatML, turn2);
  // Only the closing of reply 1, the new user turn and the assistant header (one byte token each), far fewer
  // than the full prompt.
  const std::string cached = text_of(*m.tokenizer, s.tokens(), before);
  REQUIRE(cached.starts_with(bos));
  REQUIRE(full.starts_with(cached.substr(bos.size())));
  CHECK(r2.prompt_tokens == static_cast<int64_t>(full.size() - (cached.size() - bos.size())));
  CHECK(r2.prompt_tokens < static_cast<int64_t>(before));
  CHECK(text_of(*m.tokenizer, s.tokens(), before + static_cast<size_t>(r2.prompt_tokens)) == bos + full);
  CHECK(s.evaluated() == static_cast<int64_t>(s.tokens().size()));
  CHECK(s.history().size() == 5);

  // After /reset the first turn costs what it cost the first time, and greedy decoding repeats the reply.
  s.reset();
  CHECK(s.tokens().empty());
  REQUIRE(s.history().size() == 1);
  const ChatReply again = s.reply("hello", 8);
  CHECK(again.prompt_tokens == r1.prompt_tokens);
  CHECK(again.text == r1.text);
}

TEST_CASE("ChatSession: a turn that does not fit the context is refused and the history kept") {
  const Model m = load_model("builtin:tiny");
  ChatSession s(m, ChatFormat::ChatML, 64, greedy());
  const ChatReply r1 = s.reply("hi", 4);
  CHECK(r1.stop != ChatReply::Stop::ContextFull);
  const auto hist = s.history().size();
  const auto toks = s.tokens();
  const ChatReply r2 = s.reply("a much longer question that cannot fit in what is left", 4);
  CHECK(r2.stop == ChatReply::Stop::ContextFull);
  CHECK(r2.prompt_tokens == 0);
  CHECK(s.history().size() == hist);
  CHECK(s.tokens() == toks);
  s.reset();
  CHECK(s.reply("hi", 4).stop != ChatReply::Stop::ContextFull);
}

TEST_CASE("ChatSession: on_text returning false cuts the reply, which stays in the history and the cache") {
  const Model m = load_model("builtin:tiny");
  ChatSession s(m, ChatFormat::Llama3, 256, greedy());
  int calls = 0;
  std::string streamed;
  const ChatReply r = s.reply("hello", 32, [&](std::string_view piece) {
    streamed += piece;
    return ++calls < 3;
  });
  CHECK(r.stop == ChatReply::Stop::Interrupted);
  CHECK(r.generated == 3);
  CHECK(streamed == r.text);
  CHECK(s.history().back().content == r.text);
  CHECK(s.evaluated() == static_cast<int64_t>(s.tokens().size()));
}
