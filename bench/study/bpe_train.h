// A BPE tokenizer trainer for the study's bases: learns merges from a text sample and returns a
// SentencePiece-BPE vocabulary (byte fallback, score = −merge rank) that models/tokenizer.h loads.
// Not a SentencePiece reimplementation: no unigram, no normalization, merges never cross words or digits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/tokenizer.h"

namespace edgellm::study {

struct BpeTrainOptions {
  int32_t vocab_size = 1536;  // total, with <unk> <s> </s>, the 256 byte pieces and the base characters
  int64_t min_pair_count = 2; // stop merging when the best pair is rarer than this
};

// Learns merges from `texts` (deterministic: the same texts and options give the same vocabulary,
// whatever the hash seeds). Text is split into chunks before counting: an optional space (U+2581)
// followed by a run of letters or a run of punctuation; every digit, newline and non-ASCII byte is a
// chunk of its own, so numbers are spelled digit by digit and no piece spans two words.
// The vocabulary: 0 <unk>, 1 <s> (bos), 2 </s> (eos), 3..258 <0xNN>, the printable ASCII characters
// and U+2581, then one piece per merge in rank order (score −rank). add_space_prefix is off, so
// decode(encode(s)) == s for any s without a literal U+2581 (SentencePiece decodes it as a space),
// and texts cut before a space or around a newline encode piecewise exactly as they do whole.
TokenizerVocab train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& o = {});

}  // namespace edgellm::study
