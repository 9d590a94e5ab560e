// Answer metrics of the study: exact match and token F1 (SQuAD-style normalisation) for QA, ROUGE-L
// (longest common subsequence of tokens) for L5 (style) replies. Not an evaluator: the grid averages these.
#pragma once

#include <string>
#include <vector>

namespace edgellm::study {

// Lowercase, punctuation to spaces, drop the articles a/an/the, collapse whitespace.
std::string normalize_answer(const std::string& s);
// Lowercase, punctuation to spaces, split on whitespace (articles kept). ROUGE-L's tokens.
std::vector<std::string> rouge_tokens(const std::string& s);

bool exact_match(const std::string& pred, const std::string& gold);      // normalize(pred) == normalize(gold)
double token_f1(const std::string& pred, const std::string& gold);       // F1 of normalised token multisets
double rouge_l(const std::string& pred, const std::string& gold);        // F1 of LCS precision and recall

}  // namespace edgellm::study
