// Held-out evaluation during fine-tuning, so forgetting is visible: mean loss and perplexity of the scored
// tokens of examples the run does not train on, and the exact-match recall of prompt/response examples.
// Not a benchmark (bench/study): one teacher-forced forward per example, no generation, no text metrics.
#pragma once

#include <cstdint>
#include <vector>

#include "models/llama.h"
#include "train/data.h"

namespace edgellm {

struct HeldOutResult {
  double loss = 0;          // mean negative log-likelihood over the scored tokens (nats)
  double ppl = 0;           // exp(loss)
  int64_t tokens = 0;       // scored tokens
  int64_t qa = 0;           // prompt/response examples (those with unscored tokens after the first)
  int64_t qa_correct = 0;   // of which the greedy answer is the response, token for token (EOS aside)
  int64_t truncated = 0;    // examples cut to the model's context
  double recall() const { return qa ? static_cast<double>(qa_correct) / static_cast<double>(qa) : 0.0; }
};

// Evaluates m as it is now (LoRA adapters included, unmerged). An example longer than the model's context
// is cut to it. Greedy decoding reproduces a response exactly iff the argmax at every response position,
// teacher-forced, is the response's next token: so recall needs no decoding loop.
HeldOutResult evaluate_heldout(const LlamaModel& m, const std::vector<Example>& examples);

}  // namespace edgellm
