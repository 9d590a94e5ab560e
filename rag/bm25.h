// Okapi BM25 over an inverted index of chunks, with a Unicode-aware word tokenizer for retrieval.
// Not a query language: no phrases, no boolean operators, no stemming or stop words.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rag/topk.h"

namespace edgellm::rag {

// Words for retrieval: maximal runs of letters (\p{L}) and numbers (\p{N}) (combining marks split
// words: no normalization); lowercased for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic (the simple one-to-one
// mappings; no full Unicode case folding). Everything else separates words.
std::vector<std::string> retrieval_words(std::string_view text);
// Simple lowercase of one code point (identity outside the ranges above).
uint32_t lower_codepoint(uint32_t cp);

struct Bm25Params {
  float k1 = 1.2f;
  float b = 0.75f;
};

struct Posting {
  uint32_t chunk;
  uint32_t tf;  // occurrences of the term in the chunk
};

// score(q, d) = Σ_{distinct t in q} idf(t) · tf·(k1 + 1) / (tf + k1·(1 − b + b·|d|/avgdl))
// idf(t) = ln(1 + (N − df + 0.5) / (df + 0.5))   (Lucene's variant: always positive)
// N = chunks, df = chunks containing t, |d| = words in the chunk, avgdl = mean |d|.
struct Bm25Index {
  Bm25Params params;
  std::vector<std::string> terms;     // sorted bytewise
  std::vector<uint64_t> term_start;   // (terms + 1): postings of terms[i] are [term_start[i], term_start[i+1])
  std::vector<Posting> postings;      // per term, by chunk ascending
  std::vector<uint32_t> chunk_len;    // (N) words per chunk
  double avgdl = 0;

  // Rebuilds everything from the chunks' texts.
  void build(const std::vector<std::string_view>& chunk_texts);
  // Builds the term -> index lookup after terms were filled from a file.
  void finish_load();

  uint32_t n_chunks() const { return static_cast<uint32_t>(chunk_len.size()); }
  double idf(uint64_t df) const;
  // Index of `term` in terms, or -1.
  int64_t find(const std::string& term) const;
  // The k best chunks for the query (only chunks sharing a word with it), score descending.
  std::vector<Scored> search(std::string_view query, size_t k) const;
  // BM25 score of every chunk (N), for tests and fusion.
  std::vector<float> score_all(std::string_view query) const;

 private:
  std::unordered_map<std::string, uint32_t> lookup_;
};

}  // namespace edgellm::rag
