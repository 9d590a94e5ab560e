// Chat templates: a model's Jinja template rendered through models/jinja, or a built-in format as plain string
// building (following each family's published template, without defaults some inject, like Qwen2's system line).
#include "models/chat_template.h"

#include "models/jinja/jinja.h"
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

std::optional<ChatFormat> chat_format_from_name(std::string_view name) {
  if (name == "llama2" || name == "llama-2") return ChatFormat::Llama2;
  if (name == "llama3" || name == "llama-3") return ChatFormat::Llama3;
  if (name == "chatml" || name == "qwen2" || name == "smollm") return ChatFormat::ChatML;
  if (name == "mistral") return ChatFormat::Mistral;
  if (name == "zephyr") return ChatFormat::Zephyr;
  return std::nullopt;
}

const char* chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::Llama2: return "llama2";
    case ChatFormat::Llama3: return "llama3";
    case ChatFormat::ChatML: return "chatml";
    case ChatFormat::Mistral: return "mistral";
    case ChatFormat::Zephyr: return "zephyr";
  }
  return "?";
}

ChatTemplate ChatTemplate::from_jinja(const std::string& source, const std::string& origin, nlohmann::ordered_json special) {
  ChatTemplate t;
  t.jinja_ = std::make_shared<const jinja::Template>(source, origin);
  t.origin_ = origin;
  t.special_ = special.is_object() ? std::move(special) : nlohmann::ordered_json::object();
  return t;
}

std::string ChatTemplate::name() const {
  return format_ ? chat_format_name(*format_) : "jinja (" + origin_ + ")";
}

std::string ChatTemplate::apply(std::span<const ChatMessage> messages, bool add_generation_prompt) const {
  if (jinja_) {
    nlohmann::ordered_json ctx = special_;
    nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
    for (const ChatMessage& m : messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
    ctx["messages"] = std::move(msgs);
    ctx["add_generation_prompt"] = add_generation_prompt;
    return jinja_->render(ctx);
  }
  switch (*format_) {
    case ChatFormat::Llama2: return llama2(messages);
    case ChatFormat::Llama3: return llama3(messages, add_generation_prompt);
    case ChatFormat::ChatML: return chatml(messages, add_generation_prompt);
    case ChatFormat::Mistral: return mistral(messages);
    case ChatFormat::Zephyr: return zephyr(messages, add_generation_prompt);
  }
  fail("chat template: unknown format {}", static_cast<int>(*format_));
}

}  // namespace edgellm
