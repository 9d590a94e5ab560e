// BM25 index construction and scoring, and the retrieval word splitter.
// Not incremental: adding chunks rebuilds the index (the file is rewritten anyway).
#include "rag/bm25.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "models/unicode.h"
#include "runtime/error.h"

namespace edgellm::rag {

uint32_t lower_codepoint(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;            // Latin-1 À..Þ except ×
  if (cp >= 0x100 && cp <= 0x137) return cp | 1;                         // Latin Extended-A pairs
  if (cp >= 0x139 && cp <= 0x148) return (cp & 1) ? cp + 1 : cp;
  if (cp >= 0x14A && cp <= 0x177) return cp | 1;
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;         // Greek Α..Ϋ
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;                        // Cyrillic А..Я
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;                        // Cyrillic Ѐ..Џ
  return cp;
}

std::vector<std::string> retrieval_words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  size_t pos = 0;
  while (pos < text.size()) {
    const auto d = unicode::decode_utf8(text, pos);
    pos += d.len;
    if (d.cp != unicode::kInvalid && (unicode::is_letter(d.cp) || unicode::is_number(d.cp))) {
      unicode::append_utf8(cur, lower_codepoint(d.cp));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

void Bm25Index::build(const std::vector<std::string_view>& chunk_texts) {
  std::map<std::string, std::vector<Posting>> inv;  // ordered: terms come out sorted
  chunk_len.assign(chunk_texts.size(), 0);
  uint64_t total = 0;
  std::unordered_map<std::string, uint32_t> tf;
  for (size_t c = 0; c < chunk_texts.size(); ++c) {
    tf.clear();
    auto words = retrieval_words(chunk_texts[c]);
    chunk_len[c] = static_cast<uint32_t>(words.size());
    total += words.size();
    for (auto& w : words) ++tf[std::move(w)];
    for (auto& [w, n] : tf) inv[w].push_back({static_cast<uint32_t>(c), n});
  }
  terms.clear();
  postings.clear();
  term_start.assign(1, 0);
  for (auto& [w, list] : inv) {
    terms.push_back(w);
    postings.insert(postings.end(), list.begin(), list.end());  // chunks ascending: visited in order
    term_start.push_back(postings.size());
  }
  avgdl = chunk_texts.empty() ? 0.0 : static_cast<double>(total) / static_cast<double>(chunk_texts.size());
  finish_load();
}

void Bm25Index::finish_load() {
  lookup_.clear();
  lookup_.reserve(terms.size());
  for (size_t i = 0; i < terms.size(); ++i) lookup_.emplace(terms[i], static_cast<uint32_t>(i));
}

double Bm25Index::idf(uint64_t df) const {
  const double N = static_cast<double>(n_chunks());
  return std::log(1.0 + (N - static_cast<double>(df) + 0.5) / (static_cast<double>(df) + 0.5));
}

int64_t Bm25Index::find(const std::string& term) const {
  auto it = lookup_.find(term);
  return it == lookup_.end() ? -1 : static_cast<int64_t>(it->second);
}

namespace {

// Adds each distinct query term's contribution into scores (N); `touched` lists chunks scored.
template <class OnTouch>
void accumulate(const Bm25Index& ix, std::string_view query, std::vector<float>& scores, OnTouch&& on_touch) {
  auto words = retrieval_words(query);
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  const double k1 = ix.params.k1, b = ix.params.b;
  const double avgdl = ix.avgdl > 0 ? ix.avgdl : 1.0;
  for (const auto& w : words) {
    const int64_t t = ix.find(w);
    if (t < 0) continue;
    const uint64_t b0 = ix.term_start[t], b1 = ix.term_start[t + 1];
    const double idf = ix.idf(b1 - b0);
    for (uint64_t p = b0; p < b1; ++p) {
      const Posting& ps = ix.postings[p];
      const double tf = ps.tf;
      const double norm = k1 * (1.0 - b + b * ix.chunk_len[ps.chunk] / avgdl);
      if (scores[ps.chunk] == 0.0f) on_touch(ps.chunk);
      scores[ps.chunk] += static_cast<float>(idf * tf * (k1 + 1.0) / (tf + norm));
    }
  }
}

}  // namespace

std::vector<float> Bm25Index::score_all(std::string_view query) const {
  std::vector<float> scores(n_chunks(), 0.0f);
  accumulate(*this, query, scores, [](uint32_t) {});
  return scores;
}

std::vector<Scored> Bm25Index::search(std::string_view query, size_t k) const {
  thread_local std::vector<float> scores;
  scores.assign(n_chunks(), 0.0f);
  std::vector<uint32_t> touched;
  accumulate(*this, query, scores, [&](uint32_t c) { touched.push_back(c); });
  std::vector<Scored> cands;
  cands.reserve(touched.size());
  for (uint32_t c : touched) cands.push_back({c, scores[c]});
  keep_top_k(cands, k);
  return cands;
}

}  // namespace edgellm::rag
