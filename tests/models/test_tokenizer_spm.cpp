// SentencePiece tokenizer against the fixtures: sentencepiece's own ids on all 32 strings, decode round trip,
// tokenizer.model vs tokenizer.json, special-token parsing, the unigram path on a hand-made vocabulary.
#include <doctest/doctest.h>

#include <fstream>
#include <random>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "models/tokenizer.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"

using namespace edgellm;
using nlohmann::json;

namespace {

const std::string kFix = EDGELLM_FIXTURES_DIR;

json encodings() { return json::parse(read_file(kFix + "/tokenizer/encodings.json")); }

std::string ids_str(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

void check_fixture_strings(const Tokenizer& tok) {
  const json enc = encodings();
  REQUIRE(enc["cases"].size() == 32);
  int matched = 0;
  for (const json& c : enc["cases"]) {
    const std::string text = c["text"];
    const std::vector<int32_t> want = c["sentencepiece"]["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> got = tok.encode(text);
    CHECK_MESSAGE(ids_str(got) == ids_str(want), "text: '" << text << "'");
    matched += got == want;
    // sentencepiece's decode is the reference; it equals the text except where the text held a literal U+2581.
    CHECK_MESSAGE(tok.decode(got) == c["sentencepiece"]["decoded"].get<std::string>(), "text: '" << text << "'");
    if (text.find("\xE2\x96\x81") == std::string::npos) CHECK(tok.decode(got) == text);
  }
  CHECK(matched == 32);
}

}  // namespace

TEST_CASE("spm: tokenizer.model matches sentencepiece on every fixture string") {
  auto tok = load_sentencepiece_model(kFix + "/tokenizer/tokenizer.model");
  CHECK(tok->kind() == "spm-bpe");
  CHECK(tok->vocab_size() == 512);
  CHECK(tok->bos_id() == 1);
  CHECK(tok->eos_id() == 2);
  CHECK(tok->unk_id() == 0);
  CHECK(tok->pad_id() == -1);
  CHECK(tok->add_bos_default());
  CHECK(tok->token_type(3) == TokenType::Byte);
  CHECK(tok->token_to_piece(13) == "\n");
  check_fixture_strings(*tok);
}

TEST_CASE("spm: tokenizer.json (Metaspace + ByteFallback) gives the same ids as tokenizer.model") {
  auto from_json = load_hf_tokenizer_json(kFix + "/tiny-llama/model/tokenizer.json");
  auto from_model = load_sentencepiece_model(kFix + "/tiny-llama/model/tokenizer.model");
  CHECK(from_json->kind() == "spm-bpe");
  CHECK(from_json->vocab_size() == from_model->vocab_size());
  CHECK(from_json->bos_id() == 1);
  CHECK(from_json->eos_id() == 2);
  CHECK(from_json->unk_id() == 0);
  check_fixture_strings(*from_json);
  const json enc = encodings();
  for (const json& c : enc["cases"]) {
    const std::string text = c["text"];
    CHECK(from_json->encode(text, {.add_bos = true}) == from_model->encode(text, {.add_bos = true}));
  }
}

TEST_CASE("spm: BOS/EOS and special-token parsing on and off") {
  auto tok = load_sentencepiece_model(kFix + "/tokenizer/tokenizer.model");
  const std::string text = "<s> literal </s> and <unk>";
  // Off: the markers are plain text (sentencepiece's behaviour, the fixture's ids).
  const json enc = encodings();
  std::vector<int32_t> plain;
  for (const json& c : enc["cases"])
    if (c["text"] == text) plain = c["sentencepiece"]["ids"].get<std::vector<int32_t>>();
  REQUIRE(!plain.empty());
  CHECK(tok->encode(text) == plain);
  // On: each marker is its token; the text after a control token gets the dummy prefix again (llama.cpp).
  const auto special = tok->encode(text, {.parse_special = true});
  CHECK(special.front() == 1);
  CHECK(std::count(special.begin(), special.end(), 2) == 1);
  CHECK(special.back() == 0);
  // llama.cpp re-adds the dummy prefix after each special token; transformers (prepend_scheme "first") does not
  // and gives 1 313 278 264 296 374 2 312 374 0 here.
  std::vector<int32_t> want{1};
  for (const auto& part : {tok->encode(" literal "), std::vector<int32_t>{2}, tok->encode(" and "), std::vector<int32_t>{0}})
    want.insert(want.end(), part.begin(), part.end());
  CHECK(special == want);
  CHECK(special[1] == 259);  // "▁▁": prefix + the space after <s>
  // Framing
  const auto framed = tok->encode("a", {.add_bos = true, .add_eos = true});
  CHECK(framed == std::vector<int32_t>{1, 263, 2});
  CHECK(tok->decode(framed) == "a");
  CHECK(tok->decode(framed, true) == "<s> a</s>");  // as llama.cpp: only the first piece loses its space
  CHECK(tok->encode("", {.add_bos = true}) == std::vector<int32_t>{1});
  CHECK_THROWS_AS(tok->decode(std::vector<int32_t>{512}), Error);
}

TEST_CASE("spm: unigram Viterbi, byte fallback and unknown characters on a hand-made vocabulary") {
  TokenizerVocab v;
  v.model = "unigram";
  v.source = "hand-made";
  v.tokens = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b", "ab", "\xE2\x96\x81" "ab", "c", "abc"};
  v.scores = {0, 0, 0, -1.0f, -2.0f, -2.0f, -3.0f, -2.5f, -2.0f, -10.0f};
  v.types = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1};
  v.unk_id = 0, v.bos_id = 1, v.eos_id = 2;
  auto tok = make_tokenizer(v);
  CHECK(tok->kind() == "spm-unigram");
  // "▁ab" (-2.5) beats "▁"+"ab" (-4) and "▁"+"a"+"b" (-5); "abc" (-10) loses to "ab"+"c" (-5).
  CHECK(tok->encode("ab") == std::vector<int32_t>{7});
  CHECK(tok->encode("ab abc") == std::vector<int32_t>{7, 7, 8});
  // No byte pieces: consecutive unknown characters collapse into one <unk>.
  CHECK(tok->encode("a\xC3\xA9\xC3\xA9") == std::vector<int32_t>{3, 4, 0});
  // With byte pieces, unknown characters become their bytes.
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(fmt::format("<0x{:02X}>", b));
    v.scores.push_back(0.0f);
    v.types.push_back(6);
  }
  auto tok2 = make_tokenizer(v);
  const auto ids = tok2->encode("a\xC3\xA9");
  CHECK(ids == std::vector<int32_t>{3, 4, 10 + 0xC3, 10 + 0xA9});
  CHECK(tok2->decode(ids) == "a\xC3\xA9");
}

TEST_CASE("spm: malformed tokenizer.model input is reported with file and field") {
  const std::string good = read_file(kFix + "/tokenizer/tokenizer.model");
  CHECK_THROWS_AS(parse_sentencepiece_model(good.substr(0, good.size() / 2), "half.model"), FormatError);
  CHECK_THROWS_AS(parse_sentencepiece_model("", "empty.model"), FormatError);
  CHECK_THROWS_AS(parse_sentencepiece_model(std::string("\x0a\xff\xff\xff\x0f", 5), "long.model"), FormatError);
  try {
    parse_sentencepiece_model(good.substr(0, 100), "cut.model");
    FAIL("no error");
  } catch (const FormatError& e) {
    CHECK(e.file() == "cut.model");
    CHECK(e.field().find("ModelProto") == 0);
  }
  TokenizerVocab v;
  v.model = "llama";
  v.tokens = {"a", "b"};
  v.scores = {0.0f};
  CHECK_THROWS_AS(make_tokenizer(v), FormatError);
  v.scores = {0.0f, 0.0f};
  v.bos_id = 7;
  CHECK_THROWS_AS(make_tokenizer(v), FormatError);
  v.bos_id = -1;
  v.model = "bert";
  CHECK_THROWS_AS(make_tokenizer(v), FormatError);
}

TEST_CASE("spm: built from GGUF-style vectors (what a GGUF loader passes) gives the fixture ids") {
  const TokenizerVocab parsed = parse_sentencepiece_model(read_file(kFix + "/tokenizer/tokenizer.model"), "m");
  TokenizerVocab v;  // only what tokenizer.ggml.* holds for tiny-llama-f32.gguf
  v.model = "llama";
  v.pre = "default";
  v.tokens = parsed.tokens;
  v.scores = parsed.scores;
  v.types = parsed.types;
  v.bos_id = 1, v.eos_id = 2, v.unk_id = 0;
  v.add_bos = true;
  v.source = "tiny-llama-f32.gguf";
  auto tok = make_tokenizer(v);
  check_fixture_strings(*tok);
  CHECK(tok->encode("Hello world", {.add_bos = tok->add_bos_default()}).front() == 1);
}

TEST_CASE("spm: the older Llama tokenizer.json form (Prepend + Replace normalizer) loads the same way") {
  json j = json::parse(read_file(kFix + "/tiny-llama/model/tokenizer.json"));
  j["pre_tokenizer"] = nullptr;
  j["normalizer"] = json::parse(R"({"type": "Sequence", "normalizers": [
      {"type": "Prepend", "prepend": "\u2581"},
      {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]})");
  auto tok = make_tokenizer(parse_hf_tokenizer_json(j.dump(), "legacy.json"));
  check_fixture_strings(*tok);
}

TEST_CASE("spm: corrupted tokenizer.model bytes give errors, never crashes; random bytes round-trip") {
  const std::string good = read_file(kFix + "/tokenizer/tokenizer.model");
  std::mt19937 rng(11);
  int rejected = 0;
  for (int rep = 0; rep < 200; ++rep) {
    std::string bad = good;
    for (int k = 0; k < 4; ++k) bad[rng() % bad.size()] = static_cast<char>(rng() % 256);
    try {
      auto tok = make_tokenizer(parse_sentencepiece_model(bad, "fuzz.model"));
      (void)tok->encode("Hello world 123");
    } catch (const Error&) {
      ++rejected;
    }
  }
  MESSAGE("corrupted models rejected with an Error: " << rejected << "/200 (the rest parse as other valid models)");
  auto tok = load_sentencepiece_model(kFix + "/tokenizer/tokenizer.model");
  for (int rep = 0; rep < 100; ++rep) {
    std::string s(1 + rng() % 60, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    if (s.find("\xE2\x96\x81") != std::string::npos || s[0] == ' ') continue;  // U+2581 and a leading space don't survive
    const auto ids = tok->encode(s);
    CHECK_MESSAGE(tok->decode(ids) == s, "bytes: " << fmt::format("{:02x}", fmt::join(s, " ")) << " ids: " << ids_str(ids));
  }
}

// Text to score and training data are tokenized in pieces (encode_long) so the tokenizer's working memory stays
// small; cut before a word, the pieces' ids must be the whole text's, for SentencePiece and byte-level BPE alike.
TEST_CASE("encode_long: a long text in pieces gives encode()'s ids (SentencePiece and byte-level BPE)") {
  std::string text;
  const json enc = encodings();
  for (int round = 0; text.size() < 5 * kEncodePieceBytes; ++round)
    for (const json& c : enc["cases"]) {
      const std::string t = c["text"];
      if (t.find('<') == std::string::npos) text += t + (round % 3 == 0 ? "\n" : " ");  // no special tokens
    }
  EncodeOptions opt;
  opt.add_bos = true;
  for (const std::string& dir : {kFix + "/tokenizer", kFix + "/tiny-qwen2/model"}) {
    const auto tok = dir.find("qwen") != std::string::npos ? load_tokenizer(dir)
                                                            : load_sentencepiece_model(dir + "/tokenizer.model");
    const std::vector<int32_t> whole = tok->encode(text, opt);
    const auto pieces = tok->encode_long(text, opt, "test tokens");
    CHECK_MESSAGE(pieces.vec() == whole, dir);
    CHECK(whole.size() > 1000);
  }
}
