// Filling retrieved chunks into a prompt under a token budget, and finding a model's chat template.
// Not a Jinja renderer: chat templates are models/chat_template.h's coded ones.
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

std::optional<ChatTemplate> model_chat_template(const std::string& spec) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (spec.size() > 5 && spec.ends_with(".gguf") && fs::is_regular_file(spec, ec)) {
    auto g = GgufFile::open(spec);
    const std::string jinja = g.get_string("tokenizer.chat_template", "");
    return jinja.empty() ? std::nullopt : detect_chat_template(jinja);
  }
  const fs::path cfg = fs::path(spec) / "tokenizer_config.json";
  if (fs::is_regular_file(cfg, ec)) {
    // Not JSON, or too large to parse within the limits: no template is detected (the prompt is left plain).
    nlohmann::json j;
    try {
      j = parse_json_metered(read_file(cfg.string(), kTokenizerMaxFileBytes), cfg.string());
    } catch (const FormatError&) {
      return std::nullopt;
    }
    if (j.is_object() && j.contains("chat_template") && j["chat_template"].is_string())
      return detect_chat_template(j["chat_template"].get<std::string>());
  }
  return std::nullopt;
}

}  // namespace edgellm::rag
