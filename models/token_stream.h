// Streaming detokenization: the text of each generated token as it comes, for printing or callbacks.
// Not decode(): no SentencePiece leading-space stripping (a continuation's first token keeps its space).
#pragma once

#include <cstdint>
#include <string>

#include "models/tokenizer.h"

namespace edgellm {

// Each token's bytes (token_to_piece) in order; a UTF-8 character split across byte-fallback tokens is held
// back until it is whole, so every string push() returns is valid to print on its own.
class TokenStream {
 public:
  explicit TokenStream(const Tokenizer& tok) : tok_(tok) {}
  // The text that became complete with `id` (may be empty).
  std::string push(int32_t id);
  // Whatever is still held back (an unfinished UTF-8 sequence at the end of generation), as raw bytes.
  std::string flush();

 private:
  const Tokenizer& tok_;
  std::string pending_;
};

}  // namespace edgellm
