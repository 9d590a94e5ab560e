// Byte-level BPE: the hand-written pre-tokenizer patterns on known splits, merges by rank, ignore_merges,
// special tokens, byte round trips, bad vocabularies. Real vocabularies are checked in tests/tokenizer_npm.
#include <doctest/doctest.h>

#include <random>

#include "models/pretokenize.h"
#include "models/tokenizer.h"
#include "models/unicode.h"
#include "runtime/error.h"

using namespace edgellm;

namespace {

std::vector<std::string> split(std::string_view text, PreTokenizer p) {
  std::vector<std::string> out;
  for (auto w : pre_tokenize(text, p)) out.emplace_back(w);
  return out;
}

// GPT-2's printable stand-in for byte b (bytes_to_unicode), written independently of the library.
std::string byte_char(int b) {
  int shifted = 256;
  for (int x = 0; x < 256; ++x) {
    const bool printable = (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174;
    const int cp = printable ? x : shifted++;
    if (x == b) {
      std::string s;
      unicode::append_utf8(s, static_cast<uint32_t>(cp));
      return s;
    }
  }
  return {};
}

// 256 byte tokens, then merged tokens, then one control token; merges in rank order.
TokenizerVocab small_vocab(std::vector<std::string> merges, std::string pre = "gpt2") {
  TokenizerVocab v;
  v.model = "gpt2";
  v.pre = std::move(pre);
  v.source = "small-vocab";
  for (int b = 0; b < 256; ++b) v.tokens.push_back(byte_char(b));
  for (const char* t : {"\xC4\xA0t", "he", "\xC4\xA0the", "ab", "bc", "abc"}) v.tokens.push_back(t);  // Ġt, Ġthe
  v.tokens.push_back("<|eot|>");
  v.types.assign(v.tokens.size(), 1);
  v.types.back() = 3;
  v.eos_id = static_cast<int32_t>(v.tokens.size()) - 1;
  v.merges = std::move(merges);
  return v;
}

}  // namespace

TEST_CASE("pre-tokenizers split like their regexes") {
  using V = std::vector<std::string>;
  CHECK(split("Hello world  foo\n\nbar", PreTokenizer::Gpt2) == V{"Hello", " world", " ", " foo", "\n", "\n", "bar"});
  CHECK(split("it's 2024: I'M   ok ", PreTokenizer::Gpt2) == V{"it", "'s", " 2024", ":", " I", "'", "M", "  ", " ok", " "});
  CHECK(split("Hello world  foo\n\nbar 12345 it's I'M", PreTokenizer::Llama3) ==
        V{"Hello", " world", " ", " foo", "\n\n", "bar", " ", "123", "45", " it", "'s", " I", "'M"});
  CHECK(split("x = [1,2];\n  \n\ty", PreTokenizer::Llama3) == V{"x", " =", " [", "1", ",", "2", "];\n", "  \n", "\ty"});
  CHECK(split("abc 1234", PreTokenizer::Qwen2) == V{"abc", " ", "1", "2", "3", "4"});
  CHECK(split("a 12 b", PreTokenizer::SmolLM) == V{"a", " ", "1", "2", " b"});
  CHECK(split("日本語 ½ café", PreTokenizer::Llama3) == V{"日本語", " ", "½", " café"});
  CHECK(split("", PreTokenizer::Gpt2).empty());
  // Invalid UTF-8 bytes are kept, one "other" character each: nothing is lost.
  const std::string junk = "a\xFF\xC3 b";
  std::string joined;
  for (auto& w : split(junk, PreTokenizer::Llama3)) joined += w;
  CHECK(joined == junk);
  CHECK(pre_tokenizer_from_name("llama-bpe", "x") == PreTokenizer::Llama3);
  CHECK_THROWS_AS(pre_tokenizer_from_name("deepseek-coder", "x"), FormatError);
}

TEST_CASE("byte-level BPE: merges by rank, ignore_merges, specials, byte round trip") {
  auto tok = make_tokenizer(small_vocab({"\xC4\xA0 t", "h e", "\xC4\xA0t he", "a b", "b c"}));
  CHECK(tok->kind() == "byte-bpe");
  CHECK(tok->encode(" the") == std::vector<int32_t>{258});                    // Ġt + he -> Ġthe
  CHECK(tok->encode("the") == std::vector<int32_t>{'t', 257});                // t + he, no (t, he) merge
  CHECK(tok->encode("abc") == std::vector<int32_t>{259, 'c'});                // "a b" ranks before "b c"
  auto swapped = make_tokenizer(small_vocab({"b c", "a b"}));
  CHECK(swapped->encode("abc") == std::vector<int32_t>{'a', 260});
  // ignore_merges (Llama 3): a word that is a token needs no merge path.
  CHECK(make_tokenizer(small_vocab({}, "llama-bpe"))->encode("abc") == std::vector<int32_t>{261});
  CHECK(make_tokenizer(small_vocab({}, "gpt2"))->encode("abc") == std::vector<int32_t>{'a', 'b', 'c'});
  // Special tokens: only with parse_special; decoded only with render_special.
  const int32_t eot = tok->eos_id();
  CHECK(tok->encode("x<|eot|>").size() == 8);
  CHECK(tok->encode("x<|eot|>", {.parse_special = true}) == std::vector<int32_t>{'x', eot});
  CHECK(tok->decode(std::vector<int32_t>{'x', eot}) == "x");
  CHECK(tok->decode(std::vector<int32_t>{'x', eot}, true) == "x<|eot|>");
  CHECK(tok->token_to_piece(256) == " t");
  // Any bytes at all survive encode/decode.
  std::mt19937 rng(7);
  for (int rep = 0; rep < 50; ++rep) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    CHECK(tok->decode(tok->encode(s)) == s);
  }
}

TEST_CASE("byte-level BPE: inconsistent vocabularies are reported with the field") {
  auto v = small_vocab({"a zz"});
  try {
    make_tokenizer(v);
    FAIL("no error");
  } catch (const FormatError& e) {
    CHECK(e.file() == "small-vocab");
    CHECK(e.field() == "tokenizer.ggml.merges");
  }
  v = small_vocab({"x y"});  // "xy" is no token
  CHECK_THROWS_AS(make_tokenizer(v), FormatError);
  v = small_vocab({}, "falcon");
  CHECK_THROWS_AS(make_tokenizer(v), FormatError);
  v = small_vocab({});
  v.types.pop_back();
  CHECK_THROWS_AS(make_tokenizer(v), FormatError);
  CHECK_THROWS_AS(parse_hf_tokenizer_json("{not json", "bad.json"), FormatError);
  CHECK_THROWS_AS(parse_hf_tokenizer_json(R"({"model": {"type": "WordPiece", "vocab": {}}})", "wp.json"), FormatError);
  CHECK_THROWS_AS(parse_hf_tokenizer_json(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}}})", "dup.json"),
                  FormatError);
}
