// The classification task (L4): each user's film taste (three genres "great", three "awful"), the rated
// films their documents mention, the L4 questions about unseen films, and the rating QA of training.
// Not the placement of sentences in documents (generator.cpp) nor the fact questions (questions.cpp).
#include <algorithm>
#include <utility>

#include "bench/study/generator_detail.h"
#include "runtime/error.h"

namespace edgellm::study::detail {

namespace {

const Words& genres() {
  static const Words w = {"horror", "comedy", "western", "cartoon", "war", "spy", "musical", "romance", "crime", "disaster"};
  return w;
}
const Words& title_adjectives() {
  static const Words w = {"silent", "golden", "last", "broken", "hidden", "crimson", "lonely", "frozen",
                          "burning", "secret", "endless", "dark", "lost", "wild", "quiet", "little"};
  return w;
}
const Words& title_nouns() {
  static const Words w = {"river", "harbour", "mountain", "letter", "garden", "promise", "valley", "winter",
                          "island", "bridge", "road", "crown", "mirror", "forest", "station", "door"};
  return w;
}

}  // namespace

// Three disjoint template sets, as for facts: documents state a rating ({t} title, {g} genre, {v}
// verdict); the test asks about an unseen film of a rated genre; training QA asks about a rated film.
const Words& rating_statements() {
  static const Words w = {"i watched {t}, a {g} film, and it was {v}", "last night i saw {t}, a {g} film, and found it {v}",
                          "{t} is a {g} film and i thought it was {v}"};
  return w;
}
const Words& rating_test_questions() {
  static const Words w = {"what will i think of {t}, a {g} film i have not seen?",
                          "how will {t}, a new {g} film, seem to me?"};
  return w;
}
const Words& rating_train_questions() {
  // With the genre, as the documents state it: ft+qa may learn the taste (genre -> verdict), not only titles.
  static const Words w = {"what did i think of {t}, the {g} film?", "how was the {g} film {t} for me?"};
  return w;
}
const Words& rating_pretrain_questions() {
  static const Words w = {"how did i find {t}?", "what was my verdict on {t}?"};
  return w;
}

std::string fill_rating(const std::string& tmpl, const std::string& title, const std::string& genre,
                        const std::string& verdict) {
  std::string s = tmpl;
  const std::pair<std::string, std::string> subs[] = {{"{t}", title}, {"{g}", genre}, {"{v}", verdict}};
  for (const auto& [k, v] : subs)
    for (size_t p = s.find(k); p != std::string::npos; p = s.find(k, p + v.size())) s.replace(p, k.size(), v);
  return s;
}

Taste draw_taste(uint64_t seed, int64_t index, int32_t n_docs) {
  // A stream of its own: the facts and documents drawn before version 3 are unchanged by it.
  Rng r(mix_hash(mix_hash(seed, 0x5441535445), static_cast<uint64_t>(index)));
  std::vector<std::string> g = genres();
  shuffle(r, g);
  std::vector<std::string> titles;
  for (const auto& a : title_adjectives())
    for (const auto& n : title_nouns()) titles.push_back("the " + a + " " + n);
  shuffle(r, titles);
  std::vector<int32_t> docs(static_cast<size_t>(n_docs));
  for (int32_t i = 0; i < n_docs; ++i) docs[static_cast<size_t>(i)] = i;
  shuffle(r, docs);
  Taste t;
  size_t next_title = 0;
  for (int k = 0; k < 6; ++k) {
    const std::string verdict = k < 3 ? "great" : "awful";
    for (int j = 0; j < 2; ++j) {
      Rating x;
      x.title = titles[next_title++], x.genre = g[static_cast<size_t>(k)], x.verdict = verdict;
      x.doc = docs[t.rated.size() % docs.size()];  // one per document, unless there are fewer than 12
      t.rated.push_back(x);
      t.templ.push_back(static_cast<int32_t>(below(r, rating_statements().size())));
    }
    Rating unseen;
    unseen.title = titles[next_title++], unseen.genre = g[static_cast<size_t>(k)], unseen.verdict = verdict;
    t.unseen.push_back(unseen);
    t.question_templ.push_back(static_cast<int32_t>(below(r, rating_test_questions().size())));
  }
  return t;
}

}  // namespace edgellm::study::detail
