// BPE training over chunk counts with incremental pair statistics (only the chunks that hold the
// merged pair are re-counted). Not fast for huge corpora: the best pair is found by a linear scan.
#include "bench/study/bpe_train.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "runtime/error.h"

namespace edgellm::study {
namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's space

enum class CharClass { Letter, Punct, Digit, Alone };

CharClass class_of(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return CharClass::Letter;
  if (c >= '0' && c <= '9') return CharClass::Digit;
  if (c > ' ' && c < 0x7F) return CharClass::Punct;
  return CharClass::Alone;  // controls, newline, non-ASCII bytes: never merged
}

// Adds the chunks of `text` (see train_bpe) to `counts`. A chunk is a sequence of characters, each
// character written as its vocabulary string (U+2581 for ' ', the byte itself otherwise).
void count_chunks(const std::string& text, std::unordered_map<std::string, int64_t>& counts) {
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    std::string chunk;
    if (text[i] == ' ') {
      chunk += kSpace;
      ++i;
    }
    if (i < n && text[i] != ' ') {
      const CharClass k = class_of(static_cast<unsigned char>(text[i]));
      if (k == CharClass::Alone) {
        // A lone space before a newline (or non-ASCII byte) is its own chunk; the byte is never merged.
        if (!chunk.empty()) ++counts[chunk];
        chunk.clear();
        chunk += text[i++];
      } else {
        chunk += text[i++];
        if (k != CharClass::Digit)
          while (i < n && class_of(static_cast<unsigned char>(text[i])) == k) chunk += text[i++];
      }
    }
    ++counts[chunk];
  }
}

// Symbol strings of a chunk: U+2581 is one symbol, every other byte one symbol.
std::vector<std::string> split_symbols(const std::string& chunk) {
  std::vector<std::string> out;
  for (size_t p = 0; p < chunk.size();) {
    if (chunk.compare(p, kSpace.size(), kSpace) == 0) {
      out.emplace_back(kSpace);
      p += kSpace.size();
    } else {
      out.emplace_back(1, chunk[p++]);
    }
  }
  return out;
}

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }

}  // namespace

TokenizerVocab train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& o) {
  TokenizerVocab v = byte_fallback_vocab("trained BPE vocabulary");
  v.pre = "default";
  // Base characters: the printable ASCII ones (the merges start from these) and the space symbol.
  std::vector<std::string> symbols;  // symbol id -> string (base characters first, then merged pieces)
  std::unordered_map<std::string, int32_t> symbol_id;
  auto add_symbol = [&](const std::string& s) {
    symbol_id.emplace(s, static_cast<int32_t>(symbols.size()));
    symbols.push_back(s);
  };
  add_symbol(std::string(kSpace));
  for (int c = '!'; c < 0x7F; ++c) add_symbol(std::string(1, static_cast<char>(c)));
  const int32_t n_base = static_cast<int32_t>(symbols.size());
  const int64_t n_merges = o.vocab_size - static_cast<int64_t>(v.tokens.size()) - n_base;
  EDGE_CHECK(n_merges >= 0, "BPE vocabulary size {} is below the {} fixed pieces", o.vocab_size,
             v.tokens.size() + static_cast<size_t>(n_base));

  // Chunk counts, then the chunks in sorted order (hash order must not leak into the result).
  std::unordered_map<std::string, int64_t> counts;
  for (const std::string& t : texts) count_chunks(t, counts);
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::vector<int32_t>> words;  // each chunk as symbol ids; chunks with untrained bytes skipped
  std::vector<int64_t> freq;
  for (const auto& [chunk, count] : sorted) {
    std::vector<int32_t> w;
    bool ok = true;
    for (const std::string& s : split_symbols(chunk)) {
      auto it = symbol_id.find(s);
      if (it == symbol_id.end()) {
        ok = false;
        break;
      }
      w.push_back(it->second);
    }
    if (ok && w.size() > 1) {
      words.push_back(std::move(w));
      freq.push_back(count);
    }
  }

  // Pair statistics: count of each adjacent pair, and the words (chunks) it occurs in.
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> pair_words;
  auto count_word = [&](int32_t wi, int64_t sign) {
    const auto& w = words[static_cast<size_t>(wi)];
    for (size_t j = 0; j + 1 < w.size(); ++j) {
      const uint64_t k = pair_key(w[j], w[j + 1]);
      pair_count[k] += sign * freq[static_cast<size_t>(wi)];
      if (sign > 0) pair_words[k].push_back(wi);
    }
  };
  for (int32_t wi = 0; wi < static_cast<int32_t>(words.size()); ++wi) count_word(wi, +1);

  std::vector<std::string> merged_pieces;
  for (int64_t m = 0; m < n_merges; ++m) {
    // The most frequent pair; ties go to the lexicographically smallest (left, right) strings.
    uint64_t best = 0;
    int64_t best_count = 0;
    for (const auto& [k, c] : pair_count) {
      if (c < best_count || c <= 0) continue;
      if (c == best_count) {
        const auto& bl = symbols[best >> 32];
        const auto& br = symbols[best & 0xFFFFFFFFu];
        const auto& l = symbols[k >> 32];
        const auto& r = symbols[k & 0xFFFFFFFFu];
        if (std::tie(l, r) >= std::tie(bl, br)) continue;
      }
      best = k;
      best_count = c;
    }
    if (best_count < o.min_pair_count) break;
    const int32_t a = static_cast<int32_t>(best >> 32), b = static_cast<int32_t>(best & 0xFFFFFFFFu);
    const std::string piece = symbols[a] + symbols[b];
    // A piece reachable by two different splits is already a symbol: merge into it.
    int32_t id;
    if (auto it = symbol_id.find(piece); it != symbol_id.end()) {
      id = it->second;
    } else {
      add_symbol(piece);
      id = static_cast<int32_t>(symbols.size()) - 1;
      merged_pieces.push_back(piece);
    }
    std::vector<int32_t> where = std::move(pair_words[best]);
    pair_words.erase(best);
    std::sort(where.begin(), where.end());
    where.erase(std::unique(where.begin(), where.end()), where.end());
    for (int32_t wi : where) {
      auto& w = words[static_cast<size_t>(wi)];
      bool has = false;
      for (size_t j = 0; j + 1 < w.size() && !has; ++j) has = w[j] == a && w[j + 1] == b;
      if (!has) continue;  // a stale entry: an earlier merge already consumed the pair here
      count_word(wi, -1);
      std::vector<int32_t> nw;
      for (size_t j = 0; j < w.size(); ++j) {
        if (j + 1 < w.size() && w[j] == a && w[j + 1] == b) {
          nw.push_back(id);
          ++j;
        } else {
          nw.push_back(w[j]);
        }
      }
      w = std::move(nw);
      count_word(wi, +1);
    }
    pair_count.erase(best);
    if (static_cast<int64_t>(merged_pieces.size()) >= n_merges) break;
  }

  // Vocabulary: fixed pieces, base characters, merged pieces in rank order.
  const float n_pieces = static_cast<float>(n_base + static_cast<int32_t>(merged_pieces.size()));
  for (int32_t i = 0; i < n_base; ++i) {
    v.tokens.push_back(symbols[static_cast<size_t>(i)]);
    v.types.push_back(static_cast<int32_t>(TokenType::Normal));
    v.scores.push_back(-n_pieces - static_cast<float>(i));  // below every merge: base pieces never outrank one
  }
  for (size_t r = 0; r < merged_pieces.size(); ++r) {
    v.tokens.push_back(merged_pieces[r]);
    v.types.push_back(static_cast<int32_t>(TokenType::Normal));
    v.scores.push_back(-static_cast<float>(r));
  }
  v.add_bos = true;
  v.add_eos = false;
  v.add_space_prefix = false;
  return v;
}

}  // namespace edgellm::study
