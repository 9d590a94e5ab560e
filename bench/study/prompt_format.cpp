// The study's prompts in a base's own chat format, the answers read back, and QA training pairs in that format.
// Not a renderer of templates (models/chat_template.h) nor a chat loop (models/chat_session.h keeps a history).
#include "bench/study/prompt_format.h"

#include <algorithm>

#include "bench/study/run.h"
#include "rag/prompt.h"
#include "runtime/error.h"

namespace edgellm::study {

namespace {

std::string render(ChatTemplate t, const std::string& user, const std::string* assistant) {
  std::vector<ChatMessage> msgs = {{"user", user}};
  if (assistant) msgs.push_back({"assistant", *assistant});
  return apply_chat_template(t, msgs, assistant == nullptr);
}

// Chat text -> ids as ChatSession encodes it: special tokens parsed; BOS added unless the template writes it.
std::vector<int32_t> encode_chat(const Tokenizer& tok, const std::string& text) {
  EncodeOptions eo;
  eo.parse_special = true;
  const int32_t bos = tok.bos_id();
  eo.add_bos = tok.add_bos_default() && bos >= 0 && !text.starts_with(tok.token_to_piece(bos, true));
  return tok.encode(text, eo);
}

// What the template writes after an assistant message ("<|im_end|>\n", "</s>", "<|eot_id|>"), rendered from a
// one-turn conversation rather than listed per family, so that any template the renderer knows closes turns its way.
std::string turn_closing(ChatTemplate t) {
  const std::string probe = "\x01probe\x01";
  const std::string full = render(t, "q", &probe);
  const size_t p = full.rfind(probe);
  return p == std::string::npos ? "" : full.substr(p + probe.size());
}

}  // namespace

std::string PromptFormat::name() const { return chat ? chat_template_name(*chat) : "plain"; }

PromptFormat prompt_format_of(const std::string& base) {
  PromptFormat f;
  if (base.rfind("builtin:", 0) != 0) f.chat = rag::model_chat_template(base);
  return f;
}

std::string format_prompt(const PromptFormat& f, const std::string& plain_prompt) {
  return f.chat ? render(*f.chat, plain_prompt, nullptr) : plain_prompt;
}

std::string answer_prompt(const Model& m, const PromptFormat& f, const std::string& plain_prompt, int max_new) {
  if (!f.chat) return greedy_answer(m, plain_prompt, max_new);
  const Tokenizer& tok = *m.tokenizer;
  std::vector<int32_t> ids = encode_chat(tok, format_prompt(f, plain_prompt));
  const int64_t room = m.llama.config.max_ctx - max_new - 1;
  if (static_cast<int64_t>(ids.size()) > room) ids.erase(ids.begin(), ids.end() - room);  // keep the question
  // The reply ends at EOS, at the first token of the template's turn closing when that is a special token, or
  // at a newline (the study's answers are one line).
  std::vector<int32_t> stop;
  if (tok.eos_id() >= 0) stop.push_back(tok.eos_id());
  EncodeOptions special;
  special.parse_special = true;
  const std::vector<int32_t> close = tok.encode(turn_closing(*f.chat), special);
  if (!close.empty() && tok.token_type(close[0]) == TokenType::Control) stop.push_back(close[0]);
  KvCache cache(m.llama.config, static_cast<int64_t>(ids.size()) + max_new + 1);
  SamplerParams sp;
  sp.temperature = 0;
  Sampler greedy(sp);
  std::vector<int32_t> out;
  std::string text;
  generate(m, cache, ids, max_new, greedy, [&](int32_t id) {
    if (std::find(stop.begin(), stop.end(), id) != stop.end()) return false;
    out.push_back(id);
    text = tok.decode(out);
    return text.find('\n') == std::string::npos;
  });
  text = text.substr(0, text.find('\n'));
  const auto b = text.find_first_not_of(' '), e = text.find_last_not_of(' ');
  return b == std::string::npos ? "" : text.substr(b, e - b + 1);
}

Example qa_example(const Model& m, const PromptFormat& f, const std::string& plain_prompt, const std::string& answer) {
  if (!f.chat) return example_from_prompt(plain_prompt, " " + answer + "\n", *m.tokenizer);
  const std::string prompt = format_prompt(f, plain_prompt), full = render(*f.chat, plain_prompt, &answer);
  if (!full.starts_with(prompt))
    fail("study: the {} template does not render a reply after its generation prompt; cannot build QA examples",
         chat_template_name(*f.chat));
  // Prompt tokens unscored; the reply and the template's turn closing scored (the model learns to stop).
  Example e;
  e.ids = encode_chat(*m.tokenizer, prompt);
  e.target.assign(e.ids.size(), 0);
  EncodeOptions special;
  special.parse_special = true;
  for (int32_t id : m.tokenizer->encode(full.substr(prompt.size()), special)) e.ids.push_back(id), e.target.push_back(1);
  return e;
}

}  // namespace edgellm::study
