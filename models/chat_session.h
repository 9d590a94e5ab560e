// A multi-turn chat with one model: the history, rendered by the model's chat template, kept in one KV cache
// that only grows — each turn evaluates just its new tokens — with each reply streamed as text.
// Not a server (one conversation, one cache) and no context shifting: a full context is reported, not hidden.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "models/chat_template.h"
#include "models/runner.h"

namespace edgellm {

struct ChatReply {
  enum class Stop { EndOfTurn, Limit, Interrupted, ContextFull };
  std::string text;            // the reply as streamed (also the assistant message added to the history)
  Stop stop = Stop::EndOfTurn;
  int64_t prompt_tokens = 0;   // tokens evaluated for this turn's prompt (the new turn only, when it could)
  int64_t generated = 0;       // tokens sampled
};

// The ids that end a reply: the templates' end-of-turn markers the vocabulary has as single tokens
// (<|im_end|>, <|eot_id|>, <|end|>, </s>) and the model's EOS. Sampling one ends the reply as EOS does.
std::vector<int32_t> chat_stop_ids(const Model& m);
// A rendered chat prompt's ids: special tokens parsed, BOS added when at_start and the tokenizer wants one,
// unless the text already starts with it (templates that write "<s>" or "<|begin_of_text|>" themselves).
std::vector<int32_t> encode_chat_text(const Tokenizer& tok, const std::string& text, bool at_start);

class ChatSession {
 public:
  // n_ctx: the KV cache's positions, for the whole conversation. `system` may be empty (no system message).
  ChatSession(const Model& m, ChatTemplate tmpl, int64_t n_ctx, SamplerParams sampling, std::string system = {});

  // Adds `user` to the history and generates up to `max_tokens` of reply. on_text gets each token's text as it
  // becomes printable (TokenStream; may be empty) and returns false to stop the reply (kept, cut, in the history). Stops at
  // EOS or the template's end-of-turn token. When the new turn does not fit the context, nothing is evaluated
  // or added: stop is ContextFull and the history is unchanged (reset() or a larger context is the way on).
  ChatReply reply(const std::string& user, int max_tokens, const std::function<bool(std::string_view)>& on_text = {});

  // Back to the system message alone, with an empty cache.
  void reset();

  const std::vector<ChatMessage>& history() const { return history_; }
  // The ids in the KV cache, in order: the conversation as the model has seen it.
  const std::vector<int32_t>& tokens() const { return tokens_; }
  int64_t capacity() const { return cache_.capacity; }
  // Positions fed to the model since construction (prompts and fed-back replies): the cost of the conversation.
  int64_t evaluated() const { return evaluated_; }

 private:
  const Model& m_;
  ChatTemplate tmpl_;
  KvCache cache_;
  Sampler sampler_;
  std::vector<ChatMessage> history_;
  std::vector<int32_t> tokens_;
  std::string cached_text_;  // the text of tokens_ as the template would render it (replies as streamed)
  bool text_exact_ = true;   // false: cached_text_ is not exactly tokens_' text
  std::vector<int32_t> stop_ids_;
  int64_t evaluated_ = 0;
};

}  // namespace edgellm
