// Internals shared by the tokenizer implementations: constructors and the greedy pair-merge engine.
// Not public API: include tokenizer.h instead.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <string_view>
#include <vector>

#include "models/tokenizer.h"

namespace edgellm::detail {

std::unique_ptr<Tokenizer> make_spm_tokenizer(const TokenizerVocab& v, bool unigram);
std::unique_ptr<Tokenizer> make_byte_bpe_tokenizer(const TokenizerVocab& v);

// A run of bytes of the text being tokenized, linked to its neighbours.
struct MergeSymbol {
  uint32_t start, len;   // bytes [start, start + len) of the text
  int32_t prev, next;    // neighbour indices, -1 at the ends
};

// Greedy pair merging shared by SentencePiece BPE (priority = score of the merged piece) and byte-level BPE
// (priority = -rank of the merge): repeatedly merge the adjacent pair with the highest priority, the
// leftmost one on ties, until no pair has a priority. `priority(start, len_left, len_right)` returns
// std::nullopt for pairs that may not merge. Returns the surviving symbols in text order.
template <class PriorityFn>
std::vector<MergeSymbol> merge_pairs(std::vector<MergeSymbol> sym, PriorityFn priority) {
  struct Candidate {
    double priority;
    int32_t left, right;
    uint32_t len;  // len(left) + len(right) when pushed: a stale candidate no longer matches
    bool operator<(const Candidate& o) const {  // std::priority_queue pops the largest
      if (priority != o.priority) return priority < o.priority;
      return left > o.left;
    }
  };
  std::priority_queue<Candidate> queue;
  auto try_push = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    if (auto p = priority(sym[l].start, sym[l].len, sym[r].len)) queue.push({*p, l, r, sym[l].len + sym[r].len});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(sym.size()); ++i) try_push(i, i + 1);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    MergeSymbol& l = sym[c.left];
    MergeSymbol& r = sym[c.right];
    if (l.len == 0 || r.len == 0 || l.next != c.right || l.len + r.len != c.len) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = c.left;
    try_push(l.prev, c.left);
    try_push(c.left, l.next);
  }
  std::vector<MergeSymbol> out;
  for (int32_t i = sym.empty() ? -1 : 0; i >= 0; i = sym[i].next) out.push_back(sym[i]);
  return out;
}

}  // namespace edgellm::detail
