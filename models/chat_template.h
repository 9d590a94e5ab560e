// Chat templates for the common model families, written as code: llama2, llama3, chatml (qwen2, smollm),
// mistral, zephyr. Not a Jinja engine: an unknown tokenizer.chat_template is reported, never guessed at.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace edgellm {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class ChatTemplate { Llama2, Llama3, ChatML, Mistral, Zephyr };

// "llama2", "llama3", "chatml" (aliases "qwen2", "smollm"), "mistral", "zephyr"; nullopt otherwise.
std::optional<ChatTemplate> chat_template_from_name(std::string_view name);
const char* chat_template_name(ChatTemplate t);

// Recognises a Jinja tokenizer.chat_template (GGUF key or tokenizer_config.json) by marker substrings:
// <|im_start|> -> chatml, <|start_header_id|> -> llama3, <|user|> -> zephyr, [INST] with <<SYS>> -> llama2,
// [INST] without -> mistral. nullopt when none applies.
std::optional<ChatTemplate> detect_chat_template(std::string_view jinja);

// The prompt text, special tokens written out ("<s>", "<|begin_of_text|>", "<|im_start|>"...): encode it with
// EncodeOptions{.add_bos = false, .parse_special = true}. add_generation_prompt appends the assistant header.
// Throws Error on a role other than system/user/assistant, or a system message that is not the first.
std::string apply_chat_template(ChatTemplate t, std::span<const ChatMessage> messages, bool add_generation_prompt = true);

}  // namespace edgellm
