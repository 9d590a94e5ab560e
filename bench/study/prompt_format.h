// How a base is asked the benchmark's questions: the study's plain prompt for bases pretrained on it, or, for a
// model that declares a chat template (GGUF tokenizer.chat_template, HF tokenizer_config.json), that prompt as one
// user message in the model's own format. Not a template engine: models/chat_template.h renders, this only wraps.
#pragma once

#include <optional>
#include <string>

#include "models/chat_template.h"
#include "models/runner.h"
#include "train/data.h"

namespace edgellm::study {

struct PromptFormat {
  std::optional<ChatTemplate> chat;  // nullopt: the plain prompt (the study's bases, models without a template)
  std::string name() const;          // "plain" or the template's name
};

// The format of the model at `base` (read from the original spec: a compressed copy in OUT/bases may not keep
// an HF directory's tokenizer_config.json).
PromptFormat prompt_format_of(const std::string& base);

// The text the model is given for a plain study prompt (bench/study/benchmark.h: "...question: q\nanswer:").
// Chat: one user message holding the plain prompt, then the template's assistant header.
std::string format_prompt(const PromptFormat& f, const std::string& plain_prompt);

// The model's answer to a plain study prompt: greedy, up to max_new tokens, cut at the first newline (and, for a
// chat model, at its end-of-turn token), trimmed.
std::string answer_prompt(const Model& m, const PromptFormat& f, const std::string& plain_prompt, int max_new);

// A training example that teaches `answer` for a plain study prompt: the plain format " <answer>\n" after the
// prompt; in chat format the assistant turn as the template closes it. Only the answer's tokens are scored.
Example qa_example(const Model& m, const PromptFormat& f, const std::string& plain_prompt, const std::string& answer);

}  // namespace edgellm::study
