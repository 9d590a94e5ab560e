// The chat turn loop: history -> template text -> only the tokens the cache lacks -> generate, streamed.
// Not the CLI's input handling (tools/edgellm/cmd_chat.cpp); no context shifting.
#include "models/chat_session.h"

#include <algorithm>

#include "models/token_stream.h"
#include "runtime/error.h"

namespace edgellm {

ChatSession::ChatSession(const Model& m, ChatTemplate tmpl, int64_t n_ctx, SamplerParams sampling, std::string system)
    : m_(m), tmpl_(tmpl), cache_(m.llama.config, n_ctx), sampler_(sampling) {
  if (!system.empty()) history_.push_back({"system", std::move(system)});
  stop_ids_ = chat_stop_ids(m);
}

std::vector<int32_t> chat_stop_ids(const Model& m) {
  // The end-of-turn markers the templates write; a model's vocabulary has them as single tokens when it was
  // trained on that format.
  std::vector<int32_t> ids;
  for (const char* s : {"<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>"})
    if (int32_t id = m.tokenizer->token_id(s); id >= 0) ids.push_back(id);
  if (m.llama.config.eos_id >= 0) ids.push_back(static_cast<int32_t>(m.llama.config.eos_id));
  return ids;
}

std::vector<int32_t> encode_chat_text(const Tokenizer& tok, const std::string& text, bool at_start) {
  EncodeOptions opt;
  opt.parse_special = true;
  // Templates that write BOS themselves ("<s>", "<|begin_of_text|>") must not get a second one.
  const int32_t bos = tok.bos_id();
  opt.add_bos = at_start && tok.add_bos_default() && bos >= 0 && !text.starts_with(tok.token_to_piece(bos, true));
  return tok.encode(text, opt);
}

void ChatSession::reset() {
  if (!history_.empty() && history_[0].role == "system") history_.resize(1);
  else history_.clear();
  tokens_.clear();
  cached_text_.clear();
  text_exact_ = true;
  cache_.len = 0;
}

ChatReply ChatSession::reply(const std::string& user, int max_tokens, const std::function<bool(std::string_view)>& on_text) {
  ChatReply r;
  std::vector<ChatMessage> next = history_;
  next.push_back({"user", user});
  const std::string full = apply_chat_template(tmpl_, next, true);
  // Usually the rendered history is a prefix of the new rendering and only the difference (the closing of the
  // last reply, the new user turn, the assistant header) is evaluated. A template that rewrites earlier text
  // (Llama 3 trims replies) breaks that: then the whole prompt is encoded and the cache kept up to the first
  // token that differs.
  std::vector<int32_t> add;
  int64_t keep = static_cast<int64_t>(tokens_.size());
  if (text_exact_ && full.starts_with(cached_text_)) {
    add = encode_chat_text(*m_.tokenizer, full.substr(cached_text_.size()), tokens_.empty());
  } else {
    add = encode_chat_text(*m_.tokenizer, full, true);
    keep = std::mismatch(tokens_.begin(), tokens_.end(), add.begin(), add.end()).first - tokens_.begin();
    add.erase(add.begin(), add.begin() + keep);
  }
  // At least one position must remain for the reply's first token to be fed back.
  if (add.empty() || keep + static_cast<int64_t>(add.size()) >= cache_.capacity) {
    r.stop = ChatReply::Stop::ContextFull;
    return r;
  }
  tokens_.resize(static_cast<size_t>(keep));
  cache_.len = keep;
  tokens_.insert(tokens_.end(), add.begin(), add.end());
  cached_text_ = full;
  text_exact_ = true;
  history_ = std::move(next);
  r.prompt_tokens = static_cast<int64_t>(add.size());

  TokenStream stream(*m_.tokenizer);
  bool stopped_by_caller = false;
  const int64_t before = cache_.len;
  std::vector<int32_t> out;
  if (max_tokens > 0) {
    out = generate(m_, cache_, add, max_tokens, sampler_, [&](int32_t id) {
      if (std::find(stop_ids_.begin(), stop_ids_.end(), id) != stop_ids_.end()) return false;
      const std::string piece = stream.push(id);
      r.text += piece;
      if (on_text && !on_text(piece)) {
        stopped_by_caller = true;
        return false;
      }
      return true;
    }, /*ignore_eos=*/true);
  } else {
    // No reply wanted: the prompt is still evaluated, so the next turn finds it cached.
    std::vector<float> logits(static_cast<size_t>(m_.llama.config.vocab));
    llama_forward(m_.llama, cache_, add.data(), static_cast<int64_t>(add.size()), logits.data(), false);
  }
  const std::string tail = stream.flush();
  r.text += tail;
  if (on_text && !tail.empty()) on_text(tail);
  r.generated = static_cast<int64_t>(out.size());
  // generate() never feeds back the last sampled token. An end-of-turn token stays out (the next turn's
  // rendering closes the reply); any other is in the text, so it goes into the cache too when there is room.
  const bool ended = !out.empty() && std::find(stop_ids_.begin(), stop_ids_.end(), out.back()) != stop_ids_.end();
  tokens_.insert(tokens_.end(), out.begin(), out.end() - (out.empty() ? 0 : 1));
  if (!out.empty() && !ended) {
    if (cache_.len < cache_.capacity) {
      std::vector<float> logits(static_cast<size_t>(m_.llama.config.vocab));
      llama_forward(m_.llama, cache_, &out.back(), 1, logits.data(), false);
      tokens_.push_back(out.back());
    } else {
      text_exact_ = false;  // the cache lacks the reply's last token: the next turn compares tokens, not text
    }
  }
  evaluated_ += cache_.len - before;
  if (ended) r.stop = ChatReply::Stop::EndOfTurn;
  else if (stopped_by_caller) r.stop = ChatReply::Stop::Interrupted;
  else if (cache_.len + 1 >= cache_.capacity) r.stop = ChatReply::Stop::ContextFull;
  else r.stop = out.size() < static_cast<size_t>(max_tokens) ? ChatReply::Stop::EndOfTurn : ChatReply::Stop::Limit;
  cached_text_ += r.text;
  history_.push_back({"assistant", r.text});
  return r;
}

}  // namespace edgellm
