// The chat formats as plain string building, following each family's published Jinja template.
// No Jinja: defaults some templates inject (Qwen2's "You are a helpful assistant.") are not added.
#include "models/chat_template.h"

#include "runtime/error.h"

namespace edgellm {
namespace {

std::string_view trim(std::string_view s) {
  const auto ws = " \t\n\r";
  const size_t a = s.find_first_not_of(ws);
  if (a == std::string_view::npos) return {};
  return s.substr(a, s.find_last_not_of(ws) - a + 1);
}

void check_roles(std::span<const ChatMessage> messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& r = messages[i].role;
    if (r != "system" && r != "user" && r != "assistant") fail("chat template: message {} has unknown role '{}'", i, r);
    if (r == "system" && i != 0) fail("chat template: system message {} must be the first message", i);
  }
}

// Checks the roles and splits off a leading system message.
std::string_view split_system(std::span<const ChatMessage>& messages) {
  check_roles(messages);
  if (!messages.empty() && messages[0].role == "system") {
    std::string_view sys = messages[0].content;
    messages = messages.subspan(1);
    return sys;
  }
  return {};
}

std::string llama2(std::span<const ChatMessage> m) {
  const std::string_view sys = split_system(m);
  std::string out;
  bool first_user = true;
  for (const ChatMessage& msg : m) {
    if (msg.role == "user") {
      out += "<s>[INST] ";
      if (first_user && !sys.empty()) out += "<<SYS>>\n" + std::string(trim(sys)) + "\n<</SYS>>\n\n";
      out += std::string(trim(msg.content)) + " [/INST]";
      first_user = false;
    } else {
      out += " " + std::string(trim(msg.content)) + " </s>";
    }
  }
  return out;  // the model answers right after " [/INST]": no separate generation prompt
}

std::string mistral(std::span<const ChatMessage> m) {
  const std::string_view sys = split_system(m);
  std::string out = "<s>";
  bool first_user = true;
  for (const ChatMessage& msg : m) {
    if (msg.role == "user") {
      out += "[INST] ";
      if (first_user && !sys.empty()) out += std::string(sys) + "\n\n";  // Mistral has no system role
      out += msg.content + " [/INST]";
      first_user = false;
    } else {
      out += msg.content + "</s>";
    }
  }
  return out;
}

std::string llama3(std::span<const ChatMessage> m, bool gen) {
  std::string out = "<|begin_of_text|>";
  check_roles(m);  // Llama 3 writes the system message like any other role
  for (const ChatMessage& msg : m)
    out += "<|start_header_id|>" + msg.role + "<|end_header_id|>\n\n" + std::string(trim(msg.content)) + "<|eot_id|>";
  if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string chatml(std::span<const ChatMessage> m, bool gen) {
  std::string out;
  check_roles(m);
  for (const ChatMessage& msg : m) out += "<|im_start|>" + msg.role + "\n" + msg.content + "<|im_end|>\n";
  if (gen) out += "<|im_start|>assistant\n";
  return out;
}

std::string zephyr(std::span<const ChatMessage> m, bool gen) {
  std::string out;
  check_roles(m);
  for (const ChatMessage& msg : m) out += "<|" + msg.role + "|>\n" + msg.content + "</s>\n";
  if (gen) out += "<|assistant|>\n";
  return out;
}

}  // namespace

std::optional<ChatTemplate> chat_template_from_name(std::string_view name) {
  if (name == "llama2" || name == "llama-2") return ChatTemplate::Llama2;
  if (name == "llama3" || name == "llama-3") return ChatTemplate::Llama3;
  if (name == "chatml" || name == "qwen2" || name == "smollm") return ChatTemplate::ChatML;
  if (name == "mistral") return ChatTemplate::Mistral;
  if (name == "zephyr") return ChatTemplate::Zephyr;
  return std::nullopt;
}

const char* chat_template_name(ChatTemplate t) {
  switch (t) {
    case ChatTemplate::Llama2: return "llama2";
    case ChatTemplate::Llama3: return "llama3";
    case ChatTemplate::ChatML: return "chatml";
    case ChatTemplate::Mistral: return "mistral";
    case ChatTemplate::Zephyr: return "zephyr";
  }
  return "?";
}

std::optional<ChatTemplate> detect_chat_template(std::string_view j) {
  auto has = [&](std::string_view s) { return j.find(s) != std::string_view::npos; };
  if (has("<|im_start|>")) return ChatTemplate::ChatML;
  if (has("<|start_header_id|>")) return ChatTemplate::Llama3;
  if (has("<|user|>")) return ChatTemplate::Zephyr;
  if (has("[INST]")) return has("<<SYS>>") ? ChatTemplate::Llama2 : ChatTemplate::Mistral;
  return std::nullopt;
}

std::string apply_chat_template(ChatTemplate t, std::span<const ChatMessage> messages, bool add_generation_prompt) {
  switch (t) {
    case ChatTemplate::Llama2: return llama2(messages);
    case ChatTemplate::Llama3: return llama3(messages, add_generation_prompt);
    case ChatTemplate::ChatML: return chatml(messages, add_generation_prompt);
    case ChatTemplate::Mistral: return mistral(messages);
    case ChatTemplate::Zephyr: return zephyr(messages, add_generation_prompt);
  }
  fail("chat template: unknown template {}", static_cast<int>(t));
}

}  // namespace edgellm
