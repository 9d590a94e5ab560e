// UTF-8 decoding/encoding and the few Unicode classes tokenizers need: letters (L), numbers (N), White_Space.
// Not a general Unicode library: no normalization (NFC/NFKC), no case folding, no other categories.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace edgellm::unicode {

struct CodepointRange {
  uint32_t first, last;  // inclusive
};

// One decoded code point and the bytes it took. Invalid or truncated UTF-8 yields cp = kInvalid, len = 1,
// so that every byte of any input is covered by exactly one "character".
struct Decoded {
  uint32_t cp;
  uint32_t len;
};
inline constexpr uint32_t kInvalid = 0xFFFFFFFFu;

Decoded decode_utf8(std::string_view s, size_t pos);
void append_utf8(std::string& out, uint32_t cp);
// Byte length of the UTF-8 sequence starting with lead byte `c` (1 for continuation/invalid bytes).
size_t utf8_len(unsigned char c);

bool is_letter(uint32_t cp);      // \p{L}
bool is_number(uint32_t cp);      // \p{N}
bool is_whitespace(uint32_t cp);  // Unicode White_Space (what \s means in HF tokenizers and llama.cpp)

namespace detail {
extern const CodepointRange kLetterRanges[];
extern const size_t kLetterRanges_count;
extern const CodepointRange kNumberRanges[];
extern const size_t kNumberRanges_count;
}  // namespace detail

}  // namespace edgellm::unicode
