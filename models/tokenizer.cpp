// Tokenizer base: special-token splitting, encode/decode framing, the vocabulary record's checks, load_tokenizer.
// Model-specific splitting lives in tokenizer_spm.cpp and tokenizer_bpe.cpp; file parsing in the loaders.
#include "models/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "models/tokenizer_impl.h"
#include "runtime/error.h"
#include "runtime/path_query.h"

namespace edgellm {

void Tokenizer::init_common(const TokenizerVocab& v) {
  vocab_ = v;
  source_ = v.source;
  const size_t n = v.tokens.size();
  if (n == 0) fail_format(v.source, "tokenizer.ggml.tokens", "empty vocabulary");
  if (n > kTokenizerMaxVocab)
    fail_format(v.source, "tokenizer.ggml.tokens", "{} tokens is over the limit of {}", n, kTokenizerMaxVocab);
  if (v.merges.size() > kTokenizerMaxMerges)
    fail_format(v.source, "tokenizer.ggml.merges", "{} merges is over the limit of {}", v.merges.size(), kTokenizerMaxMerges);
  if (!v.types.empty() && v.types.size() != n)
    fail_format(v.source, "tokenizer.ggml.token_type", "{} entries for {} tokens", v.types.size(), n);
  tokens_ = v.tokens;
  types_.assign(n, TokenType::Normal);
  for (size_t i = 0; i < v.types.size(); ++i) {
    if (v.types[i] < 0 || v.types[i] > 6)
      fail_format(v.source, "tokenizer.ggml.token_type", "token {} has unknown type {}", i, v.types[i]);
    types_[i] = static_cast<TokenType>(v.types[i]);
  }
  auto check_id = [&](int32_t id, const char* key) {
    if (id < -1 || id >= static_cast<int32_t>(n)) fail_format(v.source, key, "id {} outside the vocabulary of {}", id, n);
    return id;
  };
  bos_ = check_id(v.bos_id, "tokenizer.ggml.bos_token_id");
  eos_ = check_id(v.eos_id, "tokenizer.ggml.eos_token_id");
  unk_ = check_id(v.unk_id, "tokenizer.ggml.unknown_token_id");
  pad_ = check_id(v.pad_id, "tokenizer.ggml.padding_token_id");
  token_index_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    token_index_.emplace(tokens_[i], static_cast<int32_t>(i));
    const TokenType t = types_[i];
    if ((t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown) && !tokens_[i].empty())
    {
      special_ids_.push_back(static_cast<int32_t>(i));
      special_by_byte_[static_cast<unsigned char>(tokens_[i][0])].push_back(static_cast<int32_t>(i));
    }
  }
}

const std::string& Tokenizer::token_text(int32_t id) const {
  if (id < 0 || id >= vocab_size()) fail("{}: token id {} outside the vocabulary of {}", source_, id, vocab_size());
  return tokens_[id];
}

TokenType Tokenizer::token_type(int32_t id) const {
  if (id < 0 || id >= vocab_size()) fail("{}: token id {} outside the vocabulary of {}", source_, id, vocab_size());
  return types_[id];
}

int32_t Tokenizer::token_id(std::string_view text) const {
  auto it = token_index_.find(std::string(text));
  return it == token_index_.end() ? -1 : it->second;
}

void Tokenizer::encode_text(std::string_view text, bool parse_special, bool& first, std::vector<int32_t>& out) const {
  // Split on special tokens first (longest match wins), then hand the plain fragments to the model.
  // UserDefined tokens are always matched (as SentencePiece does); Control/Unknown only with parse_special.
  size_t frag_start = 0, pos = 0;
  while (pos < text.size()) {
    int32_t best = -1;
    size_t best_len = 0;
    for (int32_t id : special_by_byte_[static_cast<unsigned char>(text[pos])]) {
      const std::string& s = tokens_[id];
      if (!parse_special && types_[id] != TokenType::UserDefined) continue;
      if (s.size() > best_len && text.compare(pos, s.size(), s) == 0) best = id, best_len = s.size();
    }
    if (best < 0) {
      ++pos;
      continue;
    }
    if (pos > frag_start) encode_fragment(text.substr(frag_start, pos - frag_start), first, out);
    out.push_back(best);
    // After a Control token llama.cpp starts a new "sentence" (SentencePiece adds its dummy prefix again);
    // a UserDefined token is part of the running text, as in SentencePiece itself.
    first = types_[best] != TokenType::UserDefined ? true : (pos > frag_start ? false : first);
    pos += best_len;
    frag_start = pos;
  }
  if (pos > frag_start) {
    encode_fragment(text.substr(frag_start), first, out);
    first = false;
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, const EncodeOptions& opt) const {
  std::vector<int32_t> out;
  if (opt.add_bos && bos_ >= 0) out.push_back(bos_);
  bool first = true;
  encode_text(text, opt.parse_special, first, out);
  if (opt.add_eos && eos_ >= 0) out.push_back(eos_);
  return out;
}

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Where the piece starting at `b` ends: the first word start at or after b + kEncodePieceBytes (a space after a
// non-blank byte, before a non-blank one), else after a newline, else a UTF-8 boundary; looks at most one more
// piece ahead.
size_t piece_end(std::string_view t, size_t b) {
  if (t.size() - b <= 2 * kEncodePieceBytes) return t.size();
  const size_t from = b + kEncodePieceBytes, to = b + 2 * kEncodePieceBytes;
  for (size_t i = from; i < to; ++i)
    if (t[i] == ' ' && !is_blank(t[i - 1]) && !is_blank(t[i + 1])) return i;
  for (size_t i = from; i < to; ++i)
    if (t[i - 1] == '\n' && !is_blank(t[i])) return i;
  size_t i = from;
  while (i > b + 1 && (static_cast<unsigned char>(t[i]) & 0xC0) == 0x80) --i;
  return i;
}

}  // namespace

ChargedVector<int32_t> Tokenizer::encode_long(std::string_view text, const EncodeOptions& opt,
                                              const std::string& what) const {
  ChargedVector<int32_t> out(what);
  ArenaCharge work(what + " (tokenizer working memory)");
  work.set(std::min(text.size(), 2 * kEncodePieceBytes) * kEncodeWorkBytesPerByte);
  if (opt.add_bos && bos_ >= 0) out.push_back(bos_);
  bool first = true;
  std::vector<int32_t> ids;
  for (size_t b = 0; b < text.size();) {
    const size_t e = piece_end(text, b);
    ids.clear();
    encode_text(text.substr(b, e - b), opt.parse_special, first, ids);
    out.append(ids.data(), ids.size());
    b = e;
  }
  if (opt.add_eos && eos_ >= 0) out.push_back(eos_);
  return out;
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  std::string out;
  const TokenType t = token_type(id);
  if (t == TokenType::Control) {
    if (render_special) out = tokens_[id];
  } else if (t == TokenType::UserDefined) {
    append_user_defined(id, out);
  } else {
    append_piece(id, out);
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  bool at_start = true;
  for (int32_t id : ids) {
    const TokenType t = token_type(id);
    if (t == TokenType::Control && !render_special) continue;
    const size_t before = out.size();
    out += token_to_piece(id, render_special);
    // SentencePiece drops the dummy-prefix space of the first piece.
    if (at_start && strips_leading_space() && t != TokenType::Control && t != TokenType::UserDefined &&
        out.size() > before && out[before] == ' ')
      out.erase(before, 1);
    at_start = false;
  }
  return out;
}

TokenizerVocab byte_fallback_vocab(std::string source) {
  TokenizerVocab v;
  v.model = "llama";
  v.source = std::move(source);
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {static_cast<int32_t>(TokenType::Unknown), static_cast<int32_t>(TokenType::Control),
             static_cast<int32_t>(TokenType::Control)};
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(fmt::format("<0x{:02X}>", b));
    v.types.push_back(static_cast<int32_t>(TokenType::Byte));
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  v.unk_id = 0, v.bos_id = 1, v.eos_id = 2;
  return v;
}

std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerVocab& v) {
  if (v.model == "llama" || v.model == "spm" || v.model == "bpe-spm") return detail::make_spm_tokenizer(v, false);
  if (v.model == "unigram") return detail::make_spm_tokenizer(v, true);
  if (v.model == "gpt2") return detail::make_byte_bpe_tokenizer(v);
  fail_format(v.source, "tokenizer.ggml.model", "unsupported tokenizer model '{}' (known: llama, unigram, gpt2)", v.model);
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p(path);
  if (is_directory_path(p)) {
    if (path_exists(p / "tokenizer.json")) return load_hf_tokenizer_json((p / "tokenizer.json").string());
    if (path_exists(p / "tokenizer.model")) return load_sentencepiece_model((p / "tokenizer.model").string());
    fail("{}: no tokenizer.json or tokenizer.model in this directory", path);
  }
  if (p.extension() == ".json") return load_hf_tokenizer_json(path);
  return load_sentencepiece_model(path);
}

}  // namespace edgellm
