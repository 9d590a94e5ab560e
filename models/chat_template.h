// Chat templates: the model's own Jinja chat_template (tokenizer_config.json or GGUF tokenizer.chat_template),
// rendered by models/jinja, and, for a model file that carries no template at all, built-in formats written as
// code (llama2, llama3, chatml for qwen2/smollm, mistral, zephyr) that the user names. Never a guess from markers.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace edgellm {

namespace jinja {
class Template;
}

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant" (a Jinja template may accept others, e.g. "tool")
  std::string content;
};

// The built-in formats: the documented fallback for models without a chat_template (`--chat-template NAME`).
enum class ChatFormat { Llama2, Llama3, ChatML, Mistral, Zephyr };

class ChatTemplate {
 public:
  ChatTemplate(ChatFormat f) : format_(f) {}  // NOLINT: implicit, a built-in format is a template

  // The model's Jinja template. `origin` names it in errors ("model/tokenizer_config.json:chat_template");
  // `special` holds the variables the template may use besides messages (bos_token, eos_token...).
  // Throws Error when the template does not parse or uses a construct outside the Jinja subset.
  static ChatTemplate from_jinja(const std::string& source, const std::string& origin, nlohmann::ordered_json special);

  bool is_jinja() const { return jinja_ != nullptr; }
  std::optional<ChatFormat> format() const { return format_; }
  // "llama3", "chatml"... for a built-in format; "jinja (<origin>)" for the model's own.
  std::string name() const;

  // The prompt text, special tokens written out ("<s>", "<|begin_of_text|>", "<|im_start|>"...): encode it with
  // EncodeOptions{.add_bos = false, .parse_special = true}. add_generation_prompt appends the assistant header.
  // Throws Error when the template raises (e.g. roles that do not alternate) or a role is unknown.
  std::string apply(std::span<const ChatMessage> messages, bool add_generation_prompt = true) const;

 private:
  ChatTemplate() = default;
  std::optional<ChatFormat> format_;
  std::shared_ptr<const jinja::Template> jinja_;
  std::string origin_;
  nlohmann::ordered_json special_;
};

// "llama2", "llama3", "chatml" (aliases "qwen2", "smollm"), "mistral", "zephyr"; nullopt otherwise.
std::optional<ChatFormat> chat_format_from_name(std::string_view name);
const char* chat_format_name(ChatFormat f);

// The built-in format of that name as a template (what --chat-template NAME picks); nullopt for other names.
inline std::optional<ChatTemplate> chat_template_from_name(std::string_view name) {
  const auto f = chat_format_from_name(name);
  return f ? std::optional<ChatTemplate>(*f) : std::nullopt;
}
inline std::string chat_template_name(const ChatTemplate& t) { return t.name(); }
inline std::string apply_chat_template(const ChatTemplate& t, std::span<const ChatMessage> messages,
                                       bool add_generation_prompt = true) {
  return t.apply(messages, add_generation_prompt);
}

}  // namespace edgellm
