// Perplexity of a base on held-out general prose: token-level, and bits per byte so that bases with
// different tokenizers compare. Not the reading evaluation (reading_eval.h) nor llama-perplexity's chunks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/runner.h"

namespace edgellm::study {

struct ProsePerplexity {
  int64_t paragraphs = 0, tokens = 0, bytes = 0;  // scored tokens; the UTF-8 bytes they decode to
  double nll = 0;                                 // summed, in nats
  double ppl() const;                             // exp(nll / tokens)
  double bits_per_byte() const;                   // nll / ln 2 / bytes
  std::string format() const;                     // "ppl 23.41, 1.234 bits/byte on 400 paragraphs (123456 bytes)"
};

// Each paragraph is scored as the mix presents it: BOS, then paragraph + "\n" (pretrain.h's
// encode_example), every token after BOS a target; a paragraph longer than the model's context is cut
// (its bytes are those of the tokens scored). `max_paragraphs` > 0 takes that many, evenly spaced
// through the list (every source is represented; the choice is a function of the list alone).
ProsePerplexity prose_perplexity(const Model& m, const std::vector<std::string>& paragraphs, int64_t max_paragraphs);

}  // namespace edgellm::study
