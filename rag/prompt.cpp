// Filling retrieved chunks into a prompt under a token budget, and finding a model's chat template.
// Not a Jinja renderer: a model's template is rendered by models/chat_template.h (models/jinja).
#include "rag/prompt.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/tokenizer.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/mmap_file.h"
#include "runtime/parse_meter.h"

namespace edgellm::rag {

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

std::string render(const PromptOptions& opt, const std::string& context, const std::string& question) {
  std::string body = opt.tmpl;
  // Question first, so a "{context}" typed inside the question is left alone.
  replace_all(body, "{question}", "\x01Q\x01");
  replace_all(body, "{context}", context);
  replace_all(body, "\x01Q\x01", question);
  if (!opt.chat) return body;
  ChatMessage msg{"user", body};
  return apply_chat_template(*opt.chat, std::span<const ChatMessage>(&msg, 1), true);
}

}  // namespace

RagPrompt build_rag_prompt(const Model& m, const RagIndex& ix, const std::string& question,
                           const std::vector<Scored>& hits, const PromptOptions& opt) {
  EncodeOptions eo;
  eo.add_bos = !opt.chat && m.tokenizer->add_bos_default();
  eo.parse_special = opt.chat.has_value();
  auto encode = [&](const std::string& ctx, RagPrompt& p) {
    p.text = render(opt, ctx, question);
    p.ids = m.tokenizer->encode(p.text, eo);
    return static_cast<int64_t>(p.ids.size()) <= opt.budget_tokens;
  };
  RagPrompt best;
  std::string context;
  if (!encode(context, best))
    fail("rag: the prompt without context is {} tokens, over the budget of {}", best.ids.size(), opt.budget_tokens);
  for (size_t i = 0; i < hits.size(); ++i) {
    const Chunk& c = ix.chunks.at(hits[i].chunk);
    std::string next = context + fmt::format("[{}] ({})\n{}\n\n", i + 1, ix.docs.at(c.doc).id, c.text);
    RagPrompt p;
    if (!encode(next, p)) break;
    p.chunks_used = i + 1;
    best = std::move(p);
    context = std::move(next);
  }
  return best;
}

namespace {

// A special token's text as tokenizer_config.json writes it: a string or {"content": ...}.
std::optional<std::string> token_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

std::optional<ChatTemplate> model_chat_template(const std::string& spec) {
  namespace fs = std::filesystem;
  std::error_code ec;
  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  if (spec.size() > 5 && spec.ends_with(".gguf") && fs::is_regular_file(spec, ec)) {
    auto g = GgufFile::open(spec);
    const std::string jinja = g.get_string("tokenizer.chat_template", "");
    if (jinja.empty()) return std::nullopt;
    if (g.find_array("tokenizer.ggml.tokens")) {
      const std::vector<std::string> tokens = g.get_strings("tokenizer.ggml.tokens");
      for (const char* name : {"bos", "eos", "unk", "pad"}) {
        const std::string key = fmt::format("tokenizer.ggml.{}_token_id", name);
        if (!g.has(key)) continue;
        const uint32_t id = g.get_u32(key);
        if (id < tokens.size()) special[fmt::format("{}_token", name)] = tokens[id];
      }
    }
    return ChatTemplate::from_jinja(jinja, spec + ":tokenizer.chat_template", std::move(special));
  }
  const fs::path cfg = fs::path(spec) / "tokenizer_config.json";
  if (!fs::is_regular_file(cfg, ec)) return std::nullopt;
  // Not JSON, or too large to parse within the limits: no template (the prompt is left plain).
  nlohmann::json j;
  try {
    j = parse_json_metered(read_file(cfg.string(), kTokenizerMaxFileBytes), cfg.string());
  } catch (const FormatError&) {
    return std::nullopt;
  }
  if (!j.is_object()) return std::nullopt;
  for (const auto& [k, v] : j.items())
    if (k.ends_with("_token"))
      if (auto t = token_text(v)) special[k] = *t;
  // Newer checkpoints keep the template beside the config (chat_template.jinja); older ones inside it, as a
  // string or as a list of named templates of which "default" is the chat one.
  const fs::path file = fs::path(spec) / "chat_template.jinja";
  if (fs::is_regular_file(file, ec)) return ChatTemplate::from_jinja(read_file(file.string()), file.string(), std::move(special));
  if (!j.contains("chat_template")) return std::nullopt;
  const nlohmann::json& t = j["chat_template"];
  const std::string origin = cfg.string() + ":chat_template";
  if (t.is_string()) return ChatTemplate::from_jinja(t.get<std::string>(), origin, std::move(special));
  if (t.is_array())
    for (const nlohmann::json& e : t)
      if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
        return ChatTemplate::from_jinja(e["template"].get<std::string>(), origin + "[default]", std::move(special));
  fail_format(cfg.string(), "chat_template", "neither a string nor a list with a \"default\" template");
}

}  // namespace edgellm::rag
