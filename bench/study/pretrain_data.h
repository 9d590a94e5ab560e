// The pretraining mix of the study's bases: general text, LM text and closed-book QA of "memorized"
// users, and reading comprehension (a context of 1-5 documents, then several question-answer pairs)
// from a disjoint stream of fresh users whose facts are never memorized.
// Not a tokenizer or a packer: bench/study/pretrain.h turns examples into training rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/study/benchmark.h"

namespace edgellm::study {

// A piece of text and whether its tokens are scored (all are, except where a recipe says otherwise:
// study-notes: keep the full LM loss on the context).
struct Segment {
  std::string text;
  bool scored = true;
};
using PretrainExample = std::vector<Segment>;

struct PretrainMix {
  uint64_t seed = 1;
  int64_t memorized_users = 200;   // users 0..N-1 of the population; their facts are memorized
  int64_t test_user_offset = 1'000'000;  // users from here on are held out (the study's test users)
  int64_t fresh_user_offset = 10'000'000;  // reading-comprehension users, never memorized nor tested
  int64_t test_users = 1000;       // users [test_user_offset, +test_users) are the ones kept out
  double share_general = 0.10, share_lm = 0.10, share_closed_book = 0.10;  // the rest: reading
  int32_t max_qa_per_context = 8;
  GeneratorOptions generator;
};

// Kinds of example, in the order the shares are drawn (general, lm, closed_book, reading).
enum class PretrainKind : int32_t { General = 0, Lm = 1, ClosedBook = 2, Reading = 3 };

// The population index of the user example k is about (-1 for general text): for tests and logs.
int64_t pretrain_user(const PretrainMix& mix, int64_t k, PretrainKind* kind = nullptr);

// Example k of the stream (a pure function of mix and k, so a resumed run continues exactly).
// `progress` in [0, 1] drives the reading curriculum (1 document early, up to 5 late).
PretrainExample pretrain_example(const PretrainMix& mix, int64_t k, double progress,
                                 const std::vector<std::string>& general_text);

// General text: Debian's fortunes (/usr/share/games/fortunes) when installed, split into paragraphs;
// otherwise the built-in paragraphs. Returns where it came from in `source`.
std::vector<std::string> general_text(std::string* source = nullptr);

}  // namespace edgellm::study
