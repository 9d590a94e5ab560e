// The study's text formats: the user header, document lines, closed-book, reading and continuation
// prompts, and the names of the task kinds.
// Not a tokenizer: the exact strings here are what every base is trained on and evaluated with.
#include "bench/study/benchmark.h"

namespace edgellm::study {

std::string user_header(const User& u) { return "user: " + u.name + "\n"; }

std::string document_line(const Document& d) {
  return d.kind + " day " + std::to_string(d.day) + ": " + d.text + "\n";
}

std::string document_text(const User& u, const Document& d) { return user_header(u) + document_line(d); }

std::string closed_book_prompt(const User& u, const std::string& q) {
  return user_header(u) + "question: " + q + "\nanswer:";
}

std::string reading_prompt(const User& u, const std::vector<std::string>& context_docs, const std::string& q) {
  std::string s = user_header(u) + "context:\n";
  for (const auto& d : context_docs) {
    s += d;
    if (s.empty() || s.back() != '\n') s += '\n';
  }
  return s + "question: " + q + "\nanswer:";
}

std::string continuation_prompt(const User& u, const std::vector<std::string>& context_docs, const std::string& opening) {
  std::string s = user_header(u);
  for (const auto& d : context_docs) {
    s += d;
    if (s.back() != '\n') s += '\n';
  }
  return s + opening;
}

const char* level_kind(int level) {
  static const char* const k[] = {"", "recall", "paraphrase", "composition", "classification", "style"};
  return level >= 1 && level <= kLevels ? k[level] : "?";
}

}  // namespace edgellm::study
