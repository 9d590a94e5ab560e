// SentencePiece tokenizer: BPE (merge the adjacent pair whose concatenation has the best score) and unigram
// (Viterbi over piece scores), both with byte fallback. Does not normalize beyond whitespace (no NFKC charsmap).
#include <cctype>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <unordered_map>

#include "models/tokenizer_impl.h"
#include "models/unicode.h"
#include "runtime/error.h"

namespace edgellm::detail {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's space

// Bytes of the character at p; a byte of invalid UTF-8 is a character of its own (it then falls back to
// its <0xNN> piece without swallowing the next, valid, character).
size_t char_len(std::string_view s, size_t p) { return unicode::decode_utf8(s, p).len; }

class SpmTokenizer final : public Tokenizer {
 public:
  SpmTokenizer(const TokenizerVocab& v, bool unigram) : unigram_(unigram) {
    init_common(v);
    const size_t n = tokens_.size();
    if (v.scores.empty()) {
      // llama.cpp writes scores for every SPM vocabulary; without them only unigram is meaningless.
      if (unigram) fail_format(v.source, "tokenizer.ggml.scores", "a unigram vocabulary needs scores");
      scores_.assign(n, 0.0f);
      for (size_t i = 0; i < n; ++i) scores_[i] = -static_cast<float>(i);  // earlier pieces merge first
    } else {
      if (v.scores.size() != n)
        fail_format(v.source, "tokenizer.ggml.scores", "{} scores for {} tokens", v.scores.size(), n);
      scores_ = v.scores;
    }
    add_space_prefix_ = v.add_space_prefix.value_or(true);
    remove_extra_ws_ = v.remove_extra_whitespaces;
    escape_ws_ = v.escape_whitespaces;
    add_bos_ = v.add_bos.value_or(bos_ >= 0);
    add_eos_ = v.add_eos.value_or(false);
    byte_id_.fill(-1);
    byte_value_.assign(n, -1);
    min_score_ = std::numeric_limits<float>::max();
    max_score_ = std::numeric_limits<float>::lowest();
    for (size_t i = 0; i < n; ++i) {
      const std::string& t = tokens_[i];
      const TokenType ty = types_[i];
      if (ty == TokenType::Byte) {
        // Two hex digits exactly: sscanf's %2x would also take "-4" or " 4" (a negative index into byte_id_).
        auto hex = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10; };
        if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>' ||
            !std::isxdigit(static_cast<unsigned char>(t[3])) || !std::isxdigit(static_cast<unsigned char>(t[4])))
          fail_format(v.source, "tokenizer.ggml.tokens", "byte token {} is '{}', not <0xNN>", i, t);
        const unsigned value = static_cast<unsigned>(hex(t[3]) * 16 + hex(t[4]));
        byte_id_[value] = static_cast<int32_t>(i);
        byte_value_[i] = static_cast<int>(value);
      } else if (ty == TokenType::Normal || ty == TokenType::UserDefined) {
        pieces_.emplace(t, static_cast<int32_t>(i));  // first id wins, as in SentencePiece
        size_t chars = 0;
        for (size_t p = 0; p < t.size(); p += char_len(t, p)) ++chars;
        max_piece_chars_ = std::max(max_piece_chars_, chars);
        if (ty == TokenType::Normal && std::isfinite(scores_[i])) {
          min_score_ = std::min(min_score_, scores_[i]);
          max_score_ = std::max(max_score_, scores_[i]);
        }
      }
    }
    if (pieces_.empty()) min_score_ = max_score_ = 0.0f;
    byte_fallback_ = std::all_of(byte_id_.begin(), byte_id_.end(), [](int32_t id) { return id >= 0; });
  }

  std::string_view kind() const override { return unigram_ ? "spm-unigram" : "spm-bpe"; }

 protected:
  void encode_fragment(std::string_view text, bool first, std::vector<int32_t>& out) const override {
    const std::string s = normalize(text, first);
    if (s.empty()) return;
    if (unigram_) {
      encode_unigram(s, out);
    } else {
      encode_bpe(s, out);
    }
  }

  void append_piece(int32_t id, std::string& out) const override {
    if (byte_value_[id] >= 0) {
      out += static_cast<char>(byte_value_[id]);
      return;
    }
    if (types_[id] == TokenType::Unknown) {
      out += " \xE2\x81\x87 ";  // " ⁇ ", what SentencePiece prints for <unk>
      return;
    }
    const std::string& t = tokens_[id];
    if (!escape_ws_) {
      out += t;
      return;
    }
    for (size_t p = 0; p < t.size();) {
      if (t.compare(p, kSpace.size(), kSpace) == 0) {
        out += ' ';
        p += kSpace.size();
      } else {
        out += t[p++];
      }
    }
  }

  bool strips_leading_space() const override { return add_space_prefix_; }
  void append_user_defined(int32_t id, std::string& out) const override { append_piece(id, out); }

 private:
  // Whitespace handling of SentencePiece's normalizer: optional collapsing, dummy prefix, ' ' -> U+2581.
  std::string normalize(std::string_view text, bool first) const {
    std::string t;
    if (remove_extra_ws_) {
      bool pending_space = false;
      for (char c : text) {
        if (c == ' ') {
          pending_space = !t.empty();
          continue;
        }
        if (pending_space) t += ' ';
        pending_space = false;
        t += c;
      }
    } else {
      t.assign(text);
    }
    if (t.empty()) return t;
    std::string s;
    s.reserve(t.size() * 3 + 3);
    if (add_space_prefix_ && first) s += escape_ws_ ? kSpace : std::string_view(" ");
    for (char c : t) {
      if (c == ' ' && escape_ws_) {
        s += kSpace;
      } else {
        s += c;
      }
    }
    return s;
  }

  int32_t piece_id(std::string_view s) const {
    auto it = pieces_.find(std::string(s));
    return it == pieces_.end() ? -1 : it->second;
  }

  // A symbol that is no piece becomes its bytes (<0xNN>) or, without byte pieces, <unk>.
  void emit_unknown(std::string_view s, std::vector<int32_t>& out) const {
    if (byte_fallback_) {
      for (char c : s) out.push_back(byte_id_[static_cast<unsigned char>(c)]);
    } else {
      if (unk_ < 0) fail("{}: text has a symbol with no piece, and the vocabulary has neither byte pieces nor <unk>", source_);
      out.push_back(unk_);
    }
  }

  void encode_bpe(const std::string& s, std::vector<int32_t>& out) const {
    std::vector<MergeSymbol> sym;
    for (size_t p = 0; p < s.size();) {
      const size_t len = char_len(s, p);
      sym.push_back({static_cast<uint32_t>(p), static_cast<uint32_t>(len), static_cast<int32_t>(sym.size()) - 1,
                     static_cast<int32_t>(sym.size()) + 1});
      p += len;
    }
    sym.back().next = -1;
    const std::string_view sv(s);
    auto merged = merge_pairs(std::move(sym), [&](uint32_t start, uint32_t l, uint32_t r) -> std::optional<double> {
      const int32_t id = piece_id(sv.substr(start, l + r));
      if (id < 0 || !std::isfinite(scores_[id])) return std::nullopt;  // -inf: a piece no merge produces
      return scores_[id];
    });
    for (const MergeSymbol& m : merged) {
      const std::string_view piece = sv.substr(m.start, m.len);
      const int32_t id = piece_id(piece);
      if (id >= 0) {
        out.push_back(id);
      } else {
        emit_unknown(piece, out);
      }
    }
  }

  // Viterbi: best[i] is the highest total score of a segmentation of s[0, i). A position no single-char
  // piece starts at gets an <unk> edge of one character scored min_score - 10, as SentencePiece does.
  void encode_unigram(const std::string& s, std::vector<int32_t>& out) const {
    constexpr double kNone = -std::numeric_limits<double>::infinity();
    const size_t n = s.size();
    std::vector<double> best(n + 1, kNone);
    std::vector<int32_t> best_id(n + 1, -1);   // -2: unknown character
    std::vector<uint32_t> best_start(n + 1, 0);
    best[0] = 0.0;
    const std::string_view sv(s);
    for (size_t p = 0; p < n;) {
      const size_t clen = char_len(s, p);
      if (best[p] != kNone) {
        bool single = false;
        size_t end = p;
        for (size_t chars = 0; chars < max_piece_chars_ && end < n; ++chars) {
          end += char_len(s, end);
          const int32_t id = piece_id(sv.substr(p, end - p));
          if (id < 0) continue;
          const double score = types_[id] == TokenType::UserDefined
                                   ? static_cast<double>(chars + 1) * max_score_ - 0.1
                                   : static_cast<double>(scores_[id]);
          if (end == p + clen) single = true;
          if (best[p] + score > best[end]) best[end] = best[p] + score, best_id[end] = id, best_start[end] = p;
        }
        if (!single) {
          const double score = best[p] + static_cast<double>(min_score_) - 10.0;
          if (score > best[p + clen]) best[p + clen] = score, best_id[p + clen] = -2, best_start[p + clen] = p;
        }
      }
      p += clen;
    }
    struct Step {
      std::string_view text;
      int32_t id;  // -2: unknown character
    };
    std::vector<Step> pieces;  // collected from the end backwards
    for (size_t e = n; e > 0; e = best_start[e]) pieces.push_back({sv.substr(best_start[e], e - best_start[e]), best_id[e]});
    std::reverse(pieces.begin(), pieces.end());
    for (size_t k = 0; k < pieces.size(); ++k) {
      if (pieces[k].id >= 0) {
        out.push_back(pieces[k].id);
      } else if (byte_fallback_) {
        emit_unknown(pieces[k].text, out);
      } else if (k == 0 || pieces[k - 1].id != -2) {  // consecutive unknown characters become one <unk>
        emit_unknown(pieces[k].text, out);
      }
    }
  }

  bool unigram_;
  std::vector<float> scores_;
  bool add_space_prefix_ = true, remove_extra_ws_ = false, escape_ws_ = true, byte_fallback_ = false;
  std::array<int32_t, 256> byte_id_{};
  std::vector<int> byte_value_;                       // per id: the byte a <0xNN> piece stands for, else -1
  std::unordered_map<std::string, int32_t> pieces_;  // Normal and UserDefined pieces usable in text
  size_t max_piece_chars_ = 1;
  float min_score_ = 0.0f, max_score_ = 0.0f;
};

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(const TokenizerVocab& v, bool unigram) {
  return std::make_unique<SpmTokenizer>(v, unigram);
}

}  // namespace edgellm::detail
