// Internals of the benchmark generator shared by its .cpp files: word lists, the fact-slot catalogue,
// seeded helpers. Not a public interface: callers use bench/study/benchmark.h.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench/study/benchmark.h"
#include "models/sampler.h"

namespace edgellm::study::detail {

using Words = std::vector<std::string>;

// ---- word lists (vocab.cpp): lowercase ASCII, names capitalised ---------------------------------
const Words& male_names();
const Words& female_names();
const Words& surnames();
const Words& values_of(const std::string& list);  // "city", "job", "food", ... (throws on unknown)
const Words& filler_sentences();
const Words& distractor_templates();  // "{p} lives in {city}" style: {p} a person, {<list>} a value
const Words& distractor_people();     // "a woman at the bakery" style subjects (no relative nouns)
const Words& greetings();
const Words& signoffs();
const Words& pet_phrases();

// ---- the fact-slot catalogue (catalogue.cpp) ---------------------------------------------------
// A statement template and the L1 question that uses its words. Placeholders: {v} the value,
// {av} the value with "a"/"an", {r} the name of the person a hop slot is about.
struct Statement {
  std::string text;
  std::string l1;
};

struct Slot {
  std::string key;
  std::string list;                  // value list for values_of(); "male"/"female"/"any" for names
  std::string relation;              // hop slots: key of the name slot of the person it is about
  std::string rel_noun;              // name slots: "brother", "best friend" (used by L3 questions)
  std::vector<Statement> states;     // >= 2
  std::vector<Statement> changes;    // statements of a new value; empty: the fact never changes
  // Three disjoint sets of question templates, so that no test wording is ever trained on:
  //   test:        states[].l1, changes[].l1 (L1), l2 (L2), l3 (L3);
  //   fine-tuning: train (ft+qa's generated QA; single hops only: a two-hop training question about a
  //                test user would be the L3 answer memorized under another wording);
  //   pretraining: pretrain and l3_pretrain (closed-book and reading-comprehension QA of the bases).
  std::vector<std::string> l2;        // paraphrased test questions (empty: no L2)
  std::vector<std::string> train;     // fine-tuning QA questions
  std::vector<std::string> pretrain;  // pretraining QA questions
  std::string l3, l3_pretrain;        // hop slots: two-hop templates with {rel}, test and pretraining
};

const std::vector<Slot>& catalogue();
int32_t slot_index(const std::string& key);  // -1 when absent

// Fills {v}, {av}, {r}, {rel} in a template.
std::string fill(const std::string& tmpl, const std::string& v, const std::string& r = "",
                 const std::string& rel = "");
std::string with_article(const std::string& v);  // "an engineer", "a nurse"

// ---- the classification task (taste.cpp) --------------------------------------------------------
// Templates with {t} a film title, {g} its genre, {v} the verdict; three disjoint question sets.
const Words& rating_statements();          // in documents
const Words& rating_test_questions();      // L4: an unseen film of a rated genre
const Words& rating_train_questions();     // ft+qa: a rated film
const Words& rating_pretrain_questions();  // pretraining QA: a rated film
std::string fill_rating(const std::string& tmpl, const std::string& title, const std::string& genre,
                        const std::string& verdict);
struct Taste {
  std::vector<Rating> rated;            // 12: two films of each of six genres, each in its own document
                                        // (several share one when there are fewer than 12 documents)
  std::vector<int32_t> templ;           // rating_statements() index of each rated film
  std::vector<Rating> unseen;           // 6: one unseen film per genre (L4's questions; doc unused)
  std::vector<int32_t> question_templ;  // rating_test_questions() index of each
};
// A pure function of (seed, index) with a random stream of its own; documents among [0, n_docs).
Taste draw_taste(uint64_t seed, int64_t index, int32_t n_docs);

// ---- seeded helpers ----------------------------------------------------------------------------
uint64_t mix_hash(uint64_t a, uint64_t b);                         // splitmix64 of a combination
inline uint64_t below(Rng& r, uint64_t n) { return n ? r.next() % n : 0; }
template <class T>
const T& pick(Rng& r, const std::vector<T>& v) { return v[below(r, v.size())]; }
template <class T>
void shuffle(Rng& r, std::vector<T>& v) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(r, i)]);
}

// The number of distinct user names; user names are a seeded bijection of (index mod this).
int64_t name_space();
std::string user_name(uint64_t seed, int64_t index);

// Per-user bookkeeping the question builder needs beyond User (generator.cpp -> questions.cpp).
struct StatementRecord {
  int32_t fact = 0;
  int32_t doc = 0;
  bool current = true;     // states the current value (not a superseded one)
  bool change = false;     // uses a change template
  int32_t tmpl = 0;        // index into states or changes
  int32_t version = 0;     // index into Fact::history, or history.size() for the current value
};

struct Style {
  std::string greeting, signoff;
  std::vector<std::string> phrases;
};

Style user_style(uint64_t seed, int64_t index);
const Slot& slot_of(const Fact& f);
std::string fact_person(const User& u, const Fact& f);  // the {r} name of a hop fact ("" otherwise)
int32_t find_fact(const User& u, const std::string& key);  // -1 when absent

// questions.cpp: the test questions and held-out texts of a generated user.
void build_questions(User& u, const std::vector<StatementRecord>& recs, const Taste& taste, uint64_t seed);

// A question-answer pair about `fact` (two_hop: through the relative's name, also stated).
struct QaPair {
  std::string question, answer;
  int32_t fact = 0;  // -1: a rated film (no fact)
  bool two_hop = false;
};
enum class QaUse : int32_t { FineTuning, Pretraining };
// The pairs about the facts whose current value doc_ids state, worded with the templates of `use`;
// pretraining adds a two-hop pair where a hop fact and its relative's name are both stated; then one pair
// per film the documents rate.
std::vector<QaPair> qa_pairs(const User& u, const std::vector<int32_t>& doc_ids, QaUse use);

}  // namespace edgellm::study::detail
