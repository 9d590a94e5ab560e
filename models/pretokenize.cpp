// Hand-written matchers for the byte-level BPE split patterns (see pretokenize.h for the regexes).
// Each alternative is tried in order at the current position, like a backtracking regex; no other patterns.
#include "models/pretokenize.h"

#include <algorithm>

#include "models/unicode.h"
#include "runtime/error.h"

namespace edgellm {

PreTokenizer pre_tokenizer_from_name(std::string_view name, const std::string& source) {
  if (name == "gpt2" || name == "gpt-2") return PreTokenizer::Gpt2;
  if (name == "llama-bpe" || name == "llama3" || name == "llama-v3" || name == "smaug-bpe") return PreTokenizer::Llama3;
  if (name == "qwen2") return PreTokenizer::Qwen2;
  if (name == "smollm") return PreTokenizer::SmolLM;
  fail_format(source, "tokenizer.ggml.pre", "pre-tokenizer '{}' is not supported (gpt2, llama-bpe, qwen2, smollm)", name);
}

const char* pre_tokenizer_name(PreTokenizer p) {
  switch (p) {
    case PreTokenizer::Gpt2: return "gpt2";
    case PreTokenizer::Llama3: return "llama-bpe";
    case PreTokenizer::Qwen2: return "qwen2";
    case PreTokenizer::SmolLM: return "smollm";
  }
  return "?";
}

namespace {

// The text as code points with their byte offsets; cls() caches the three classes the patterns test.
struct Chars {
  enum : uint8_t { kLetter = 1, kNumber = 2, kSpace = 4 };
  std::vector<uint32_t> cp;
  std::vector<size_t> off;  // off[k] = byte offset of char k; off[size] = text size
  std::vector<uint8_t> cls;

  explicit Chars(std::string_view s) {
    for (size_t p = 0; p < s.size();) {
      const unicode::Decoded d = unicode::decode_utf8(s, p);
      cp.push_back(d.cp);
      off.push_back(p);
      cls.push_back(static_cast<uint8_t>((unicode::is_letter(d.cp) ? kLetter : 0) |
                                         (unicode::is_number(d.cp) ? kNumber : 0) |
                                         (unicode::is_whitespace(d.cp) ? kSpace : 0)));
      p += d.len;
    }
    off.push_back(s.size());
  }
  size_t size() const { return cp.size(); }
  bool letter(size_t k) const { return k < size() && (cls[k] & kLetter); }
  bool number(size_t k) const { return k < size() && (cls[k] & kNumber); }
  bool space(size_t k) const { return k < size() && (cls[k] & kSpace); }
  bool other(size_t k) const { return k < size() && cls[k] == 0; }  // [^\s\p{L}\p{N}]
  bool newline(size_t k) const { return k < size() && (cp[k] == '\r' || cp[k] == '\n'); }
  template <class Pred>
  size_t run(size_t k, Pred pred) const {  // end of the run of chars satisfying pred from k
    while (k < size() && pred(k)) ++k;
    return k;
  }
};

// 's|'t|'re|'ve|'m|'ll|'d, optionally ASCII case-insensitive; returns the end or k when no match.
size_t match_contraction(const Chars& c, size_t k, bool any_case) {
  if (c.cp[k] != '\'' || k + 1 >= c.size()) return k;
  auto is = [&](size_t i, char want) {
    if (i >= c.size()) return false;
    uint32_t x = c.cp[i];
    if (any_case && x >= 'A' && x <= 'Z') x += 32;
    return x == static_cast<uint32_t>(want);
  };
  if (is(k + 1, 's') || is(k + 1, 't') || is(k + 1, 'm') || is(k + 1, 'd')) return k + 2;
  if ((is(k + 1, 'r') && is(k + 2, 'e')) || (is(k + 1, 'v') && is(k + 2, 'e')) || (is(k + 1, 'l') && is(k + 2, 'l')))
    return k + 3;
  return k;
}

// \s+(?!\S)|\s+ : a whitespace run, leaving its last char for the next word when a non-space follows.
size_t match_trailing_space(const Chars& c, size_t k) {
  const size_t e = c.run(k, [&](size_t i) { return c.space(i); });
  if (e == c.size() || e - k < 2) return e;
  return e - 1;
}

size_t match_gpt2(const Chars& c, size_t k, size_t end) {
  if (size_t m = match_contraction(c, k, false); m > k) return m;
  auto bounded = [&](size_t i, auto pred) { return i < end && pred(i); };
  auto L = [&](size_t i) { return bounded(i, [&](size_t j) { return c.letter(j); }); };
  auto N = [&](size_t i) { return bounded(i, [&](size_t j) { return c.number(j); }); };
  auto O = [&](size_t i) { return bounded(i, [&](size_t j) { return c.other(j); }); };
  for (auto cls : {0, 1, 2}) {  //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+
    auto in = [&](size_t i) { return cls == 0 ? L(i) : cls == 1 ? N(i) : O(i); };
    size_t j = k;
    if (c.cp[j] == ' ' && in(j + 1)) ++j;
    if (in(j)) return c.run(j, in);
  }
  if (c.space(k)) {  // \s+(?!\S)|\s+ within [k, end)
    size_t e = k;
    while (e < end && c.space(e)) ++e;
    if (e == end || e - k < 2) return e;
    return e - 1;
  }
  return k + 1;
}

size_t match_llama3(const Chars& c, size_t k, bool three_digits) {
  if (size_t m = match_contraction(c, k, true); m > k) return m;
  auto L = [&](size_t i) { return c.letter(i); };
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (!c.newline(k) && !c.letter(k) && !c.number(k) && c.letter(k + 1)) return c.run(k + 1, L);
  if (c.letter(k)) return c.run(k, L);
  // \p{N}{1,3} (Qwen2: \p{N})
  if (c.number(k)) return std::min(c.run(k, [&](size_t i) { return c.number(i); }), k + (three_digits ? 3 : 1));
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  size_t j = k;
  if (c.cp[j] == ' ' && c.other(j + 1)) ++j;
  if (c.other(j)) {
    j = c.run(j, [&](size_t i) { return c.other(i); });
    return c.run(j, [&](size_t i) { return c.newline(i); });
  }
  if (c.space(k)) {
    // \s*[\r\n]+ : up to and including the last newline of the whitespace run.
    const size_t e = c.run(k, [&](size_t i) { return c.space(i); });
    for (size_t q = e; q-- > k;)
      if (c.newline(q)) return q + 1;
    return match_trailing_space(c, k);
  }
  return k + 1;
}

}  // namespace

std::vector<std::string_view> pre_tokenize(std::string_view text, PreTokenizer kind) {
  std::vector<std::string_view> words;
  const Chars c(text);
  auto emit = [&](size_t a, size_t b) { words.push_back(text.substr(c.off[a], c.off[b] - c.off[a])); };
  size_t k = 0;
  while (k < c.size()) {
    size_t e = k + 1;
    switch (kind) {
      case PreTokenizer::Gpt2: e = match_gpt2(c, k, c.size()); break;
      case PreTokenizer::Llama3: e = match_llama3(c, k, true); break;
      case PreTokenizer::Qwen2: e = match_llama3(c, k, false); break;
      case PreTokenizer::SmolLM: {
        // Each digit is its own piece; the text between digits is split by the GPT-2 pattern on its own,
        // so a lookahead never sees past the next digit.
        if (c.number(k)) break;
        const size_t seg_end = c.run(k, [&](size_t i) { return !c.number(i); });
        e = match_gpt2(c, k, seg_end);
        break;
      }
    }
    emit(k, e);
    k = e;
  }
  return words;
}

}  // namespace edgellm
