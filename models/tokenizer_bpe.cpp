// Byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM): pre-tokenize, map bytes to GPT-2's printable characters,
// merge by rank. Does not do BPE dropout, continuing-subword prefixes or end-of-word suffixes.
#include <array>
#include <unordered_map>

#include "models/pretokenize.h"
#include "models/tokenizer_impl.h"
#include "models/unicode.h"
#include "models/unicode_nfc.h"
#include "runtime/error.h"

namespace edgellm::detail {
namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes are
// shifted to U+0100.. in byte order, so that every token is printable text.
std::array<uint32_t, 256> byte_to_codepoint() {
  std::array<uint32_t, 256> m{};
  uint32_t shifted = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    m[b] = printable ? b : shifted++;
  }
  return m;
}

class ByteBpeTokenizer final : public Tokenizer {
 public:
  explicit ByteBpeTokenizer(const TokenizerVocab& v) {
    init_common(v);
    pre_ = pre_tokenizer_from_name(v.pre.empty() ? "gpt2" : v.pre, v.source);
    ignore_merges_ = v.ignore_merges.value_or(pre_ == PreTokenizer::Llama3);
    nfc_ = v.nfc;
    add_bos_ = v.add_bos.value_or(false);
    add_eos_ = v.add_eos.value_or(false);

    const auto to_cp = byte_to_codepoint();
    std::unordered_map<uint32_t, uint8_t> to_byte;
    for (uint32_t b = 0; b < 256; ++b) to_byte[to_cp[b]] = static_cast<uint8_t>(b);

    // Raw bytes of every token: byte-level text decoded back; Control/UserDefined tokens are literal text.
    const size_t n = tokens_.size();
    raw_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const std::string& t = tokens_[i];
      if (types_[i] == TokenType::Control || types_[i] == TokenType::UserDefined) {
        raw_[i] = t;
        continue;
      }
      std::string raw;
      bool byte_level = true;
      for (size_t p = 0; p < t.size();) {
        const unicode::Decoded d = unicode::decode_utf8(t, p);
        auto it = to_byte.find(d.cp);
        if (it == to_byte.end()) {
          byte_level = false;
          break;
        }
        raw += static_cast<char>(it->second);
        p += d.len;
      }
      raw_[i] = byte_level ? raw : t;
      if (byte_level && types_[i] != TokenType::Unused) raw_index_.emplace(raw_[i], static_cast<int32_t>(i));
    }
    for (uint32_t b = 0; b < 256; ++b) {
      auto it = raw_index_.find(std::string(1, static_cast<char>(b)));
      byte_id_[b] = it == raw_index_.end() ? -1 : it->second;
    }

    ranks_.reserve(v.merges.size());
    for (size_t r = 0; r < v.merges.size(); ++r) {
      const std::string& m = v.merges[r];
      const size_t sp = m.find(' ', 1);  // tokens of a byte-level vocabulary never contain ' ' (it is 'Ġ')
      if (sp == std::string::npos || sp + 1 >= m.size())
        fail_format(v.source, "tokenizer.ggml.merges", "merge {} is '{}', not 'left right'", r, m);
      const int32_t a = token_id(std::string_view(m).substr(0, sp));
      const int32_t b = token_id(std::string_view(m).substr(sp + 1));
      if (a < 0 || b < 0)
        fail_format(v.source, "tokenizer.ggml.merges", "merge {} '{}' names a token not in the vocabulary", r, m);
      if (!raw_index_.count(raw_[a] + raw_[b]))
        fail_format(v.source, "tokenizer.ggml.merges", "merge {} '{}' produces a token not in the vocabulary", r, m);
      ranks_.emplace(pair_key(a, b), static_cast<int32_t>(r));  // the first (best) rank wins on duplicates
    }
  }

  std::string_view kind() const override { return "byte-bpe"; }

 protected:
  void encode_fragment(std::string_view text, bool, std::vector<int32_t>& out) const override {
    // The normalizer runs on each fragment between special tokens, before the split, as in HF tokenizers.
    const std::string normalized = nfc_ ? unicode::nfc(text) : std::string();
    for (std::string_view word : pre_tokenize(nfc_ ? std::string_view(normalized) : text, pre_)) encode_word(word, out);
  }

  void append_piece(int32_t id, std::string& out) const override { out += raw_[id]; }

 private:
  static uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }

  int32_t raw_id(std::string_view s) const {
    if (s.size() == 1) return byte_id_[static_cast<unsigned char>(s[0])];
    auto it = raw_index_.find(std::string(s));
    return it == raw_index_.end() ? -1 : it->second;
  }

  void encode_word(std::string_view w, std::vector<int32_t>& out) const {
    if (ignore_merges_) {  // Llama 3: a word that is a token is that token, whatever the merges say
      if (const int32_t id = raw_id(w); id >= 0) {
        out.push_back(id);
        return;
      }
    }
    std::vector<MergeSymbol> sym(w.size());
    for (size_t i = 0; i < w.size(); ++i)
      sym[i] = {static_cast<uint32_t>(i), 1, static_cast<int32_t>(i) - 1, static_cast<int32_t>(i) + 1};
    sym.back().next = -1;
    auto merged = merge_pairs(std::move(sym), [&](uint32_t start, uint32_t l, uint32_t r) -> std::optional<double> {
      const int32_t a = raw_id(w.substr(start, l));
      const int32_t b = raw_id(w.substr(start + l, r));
      if (a < 0 || b < 0) return std::nullopt;
      auto it = ranks_.find(pair_key(a, b));
      if (it == ranks_.end()) return std::nullopt;
      return -static_cast<double>(it->second);
    });
    for (const MergeSymbol& m : merged) {
      const int32_t id = raw_id(w.substr(m.start, m.len));
      if (id >= 0) {
        out.push_back(id);
      } else {
        if (unk_ < 0) fail("{}: byte {:#04x} has no token and the vocabulary has no <unk>", source_, static_cast<unsigned char>(w[m.start]));
        out.push_back(unk_);
      }
    }
  }

  PreTokenizer pre_ = PreTokenizer::Gpt2;
  bool ignore_merges_ = false;
  bool nfc_ = false;  // tokenizer.json's NFC normalizer (Qwen2, Qwen3)
  std::vector<std::string> raw_;                       // per id: the bytes the token stands for
  std::unordered_map<std::string, int32_t> raw_index_;  // raw bytes -> id (byte-level tokens only)
  std::unordered_map<uint64_t, int32_t> ranks_;         // (left id, right id) -> merge rank
  std::array<int32_t, 256> byte_id_{};
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_bpe_tokenizer(const TokenizerVocab& v) { return std::make_unique<ByteBpeTokenizer>(v); }

}  // namespace edgellm::detail
