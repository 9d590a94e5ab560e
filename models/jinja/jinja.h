// A Jinja subset for chat templates (the model's own tokenizer_config.json / GGUF tokenizer.chat_template),
// rendering byte for byte as @huggingface/jinja does (transformers.js's engine), with trim_blocks + lstrip_blocks.
// Not full Jinja: no template inheritance, includes, call/filter blocks or autoescaping; a construct outside
// the subset is an Error naming it and its line:column, never a silent approximation.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace edgellm::jinja {

struct Node;

class Template {
 public:
  // Parses `source`; `name` prefixes every error ("tokenizer_config.json:chat_template:12:5: ..."). Throws Error.
  explicit Template(std::string source, std::string name = "chat_template");
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // Renders with the context's keys as variables (messages, add_generation_prompt, bos_token, tools...).
  // Key order of the JSON objects is kept (tojson follows it). Throws Error at the failing construct,
  // raise_exception(...) included.
  std::string render(const nlohmann::ordered_json& context) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_, name_;
  std::shared_ptr<const std::vector<std::unique_ptr<Node>>> program_;
};

}  // namespace edgellm::jinja
