// Byte-level BPE pre-tokenizers: the GPT-2, Llama 3, Qwen2 and SmolLM split regexes, written out by hand.
// Not a regex engine: each pattern is a fixed matcher with the same leftmost-first alternation semantics.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edgellm {

enum class PreTokenizer {
  Gpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  Llama3,  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  Qwen2,   // as Llama3 with \p{N} (one digit per piece)
  SmolLM,  // digits split one by one (\p{N}), then Gpt2 on the rest
};

// GGUF tokenizer.ggml.pre names: gpt2; llama-bpe/llama3/llama-v3; qwen2; smollm. Throws FormatError otherwise.
PreTokenizer pre_tokenizer_from_name(std::string_view name, const std::string& source);
const char* pre_tokenizer_name(PreTokenizer p);

// Splits UTF-8 text into words (views into `text`); concatenating them gives `text` back. Invalid UTF-8
// bytes count as one "other" character each.
std::vector<std::string_view> pre_tokenize(std::string_view text, PreTokenizer kind);

}  // namespace edgellm
