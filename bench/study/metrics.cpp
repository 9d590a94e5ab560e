// Exact match, token F1 and ROUGE-L on whitespace tokens after a fixed ASCII normalisation.
// Not stemming nor synonyms: a paraphrase of the gold answer scores by shared tokens only.
#include "bench/study/metrics.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

namespace edgellm::study {

std::vector<std::string> rouge_tokens(const std::string& s) {
  std::string t;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    t += (std::isalnum(u) || u >= 0x80) ? static_cast<char>(std::tolower(u)) : ' ';
  }
  std::istringstream in(t);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

static std::vector<std::string> answer_tokens(const std::string& s) {
  std::vector<std::string> out;
  for (auto& w : rouge_tokens(s))
    if (w != "a" && w != "an" && w != "the") out.push_back(std::move(w));
  return out;
}

std::string normalize_answer(const std::string& s) {
  std::string out;
  for (const auto& w : answer_tokens(s)) out += (out.empty() ? "" : " ") + w;
  return out;
}

bool exact_match(const std::string& pred, const std::string& gold) {
  return normalize_answer(pred) == normalize_answer(gold);
}

double token_f1(const std::string& pred, const std::string& gold) {
  const auto p = answer_tokens(pred), g = answer_tokens(gold);
  if (p.empty() || g.empty()) return p.empty() && g.empty() ? 1.0 : 0.0;
  std::map<std::string, int> count;
  for (const auto& w : g) ++count[w];
  int common = 0;
  for (const auto& w : p)
    if (count[w]-- > 0) ++common;
  if (common == 0) return 0.0;
  const double precision = static_cast<double>(common) / p.size(), recall = static_cast<double>(common) / g.size();
  return 2 * precision * recall / (precision + recall);
}

double rouge_l(const std::string& pred, const std::string& gold) {
  const auto p = rouge_tokens(pred), g = rouge_tokens(gold);
  if (p.empty() || g.empty()) return p.empty() && g.empty() ? 1.0 : 0.0;
  // lcs[j] over gold positions, one row of the classic DP table at a time.
  std::vector<size_t> prev(g.size() + 1, 0), cur(g.size() + 1, 0);
  for (size_t i = 1; i <= p.size(); ++i) {
    for (size_t j = 1; j <= g.size(); ++j)
      cur[j] = p[i - 1] == g[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  const double lcs = static_cast<double>(prev[g.size()]);
  if (lcs == 0) return 0.0;
  const double precision = lcs / p.size(), recall = lcs / g.size();
  return 2 * precision * recall / (precision + recall);
}

}  // namespace edgellm::study
