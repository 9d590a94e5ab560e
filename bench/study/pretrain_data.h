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
  // Users [test_user_offset, +test_users) are the ones kept out. User names repeat every 2880
  // indices (a seeded bijection of index mod 2880), so the mix checks that memorized and test users
  // fall on different names (the defaults do: 0..199 and 1e6 mod 2880 = 640..1639), and reading
  // users skip those names. A study may pick any test users inside that range.
  int64_t test_users = 1000;
  double share_general = 0.10, share_lm = 0.10, share_closed_book = 0.10;  // the rest: reading
  int32_t max_qa_per_context = 8;
  GeneratorOptions generator;
};

// Kinds of example, in the order the shares are drawn (general, lm, closed_book, reading).
enum class PretrainKind : int32_t { General = 0, Lm = 1, ClosedBook = 2, Reading = 3 };

// The population index of the user example k is about (-1 for general text): for tests and logs.
int64_t pretrain_user(const PretrainMix& mix, int64_t k, PretrainKind* kind = nullptr);

// Example k of the stream (a pure function of mix and k, so a resumed run continues exactly).
// `progress` in [0, 1] drives the reading curriculum: a context of 1 document at 0, 1-3 at 0.5,
// 3-5 at 1 (uniform in [max(1, cap - 2), cap], cap = 1 + floor(4 progress)).
//   general:     one paragraph + "\n"
//   lm:          header + 1-4 consecutive document lines of a memorized user
//   closed_book: header, then 1-4 "question: q\nanswer: a\n" about the user's facts, worded with the
//                pretraining templates (never a test or fine-tuning template)
//   reading:     header + "context:\n" + document lines (chronological; they hold the evidence of an
//                anchor question), then up to max_qa_per_context "question: q\nanswer: a\n" pairs
//                answerable from that context (pretraining wording: the anchor's fact first, two-hop
//                questions where both hops are in the context, at most two per answer).
// Segments: the first holds the header (and context); each QA pair is a segment of its own. All scored.
PretrainExample pretrain_example(const PretrainMix& mix, int64_t k, double progress,
                                 const std::vector<std::string>& general_text);

// General text: Debian's fortunes (/usr/share/games/fortunes) when installed, split into paragraphs;
// otherwise the built-in paragraphs. Returns where it came from in `source`.
std::vector<std::string> general_text(std::string* source = nullptr);

}  // namespace edgellm::study
