// The prompt for retrieval-augmented generation: retrieved chunks filled into a template under a
// token budget, wrapped in the model's chat template when it has one. Not a conversation manager.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/chat_template.h"
#include "models/runner.h"
#include "rag/index.h"

namespace edgellm::rag {

struct PromptOptions {
  int64_t budget_tokens = 1536;  // tokens for the whole prompt (context + question + template)
  // {context} and {question} are replaced; each chunk is "[n] (doc id)\n<text>\n\n" in the context.
  std::string tmpl =
      "Answer the question using only the context below. If the context does not contain the answer, say so.\n\n"
      "Context:\n{context}Question: {question}\n";
  std::optional<ChatTemplate> chat;  // when set: one user message with the filled template
};

struct RagPrompt {
  std::string text;          // encode with EncodeOptions{.add_bos = !chat, .parse_special = chat.has_value()}
  std::vector<int32_t> ids;  // the encoded prompt
  size_t chunks_used = 0;    // how many of the retrieved chunks fit
};

// Adds chunks in rank order while the encoded prompt stays within the budget (a chunk that does not
// fit ends the filling: lower-ranked chunks are not skipped over to). Throws Error if even the prompt
// without any chunk exceeds the budget.
RagPrompt build_rag_prompt(const Model& m, const RagIndex& ix, const std::string& question,
                           const std::vector<Scored>& hits, const PromptOptions& opt);

// The chat template a model file declares (GGUF tokenizer.chat_template, HF chat_template.jinja or
// tokenizer_config.json's chat_template), as a Jinja template with the file's special tokens (bos_token,
// eos_token...); nullopt for built-in models and files without one. Throws Error when the template uses a
// construct outside the Jinja subset (models/jinja/jinja.h).
std::optional<ChatTemplate> model_chat_template(const std::string& spec);

}  // namespace edgellm::rag
