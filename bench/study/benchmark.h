// The personalization benchmark: synthetic users (profile of facts, a dated personal corpus with
// distractors, questions at four levels) generated deterministically from a seed, plus LaMP JSON.
// Not a trainer or an evaluator: the study's runner (bench/study/run.h) uses these to train and score.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/data_records.h"

namespace edgellm::study {

// What generate_user makes (defaults; bench/study/catalogue.cpp holds the 70 slots):
// - 40 facts: the user's own (city, job, employer, pet, hobby, schedule "yoga on tuesday evening", ...),
//   favourites ("spaghetti with clams"), relatives' names from gendered lists, and ~6 relatives' facts
//   ("Paul lives in oslo") that only answer a question combined with the name ("my brother is called Paul").
// - 35 dated documents (30 with facts, 5 distractor-only): 2-5 sentences, lowercase ASCII except names,
//   each ending in "."; messages read "<greeting> <Name>, ... <sign-off>." in the user's style.
//   40% of the facts are stated once, the rest 2-3 times in different templates; 15% change: the old
//   value in an earlier document, the new one later ("i moved to oslo"). A relative's name and that
//   relative's fact are never in the same document.
// - 33 questions: 12 L1 (the words of the first statement of the current value), 12 L2 (paraphrased,
//   content-word Jaccard <= 0.2 with every evidence sentence), up to 6 L3 (two hops, two documents),
//   3 L4 ("write a message to <friend> about <topic>.", answer = a held-out text in the user's style).
// Changed facts are asked about first, so both L1 and L2 hold some.

// The version of what the generator makes (users, questions, training and pretraining QA). It is part of
// every run's id and of a pretraining run's identity, so results and checkpoints of another version are
// never resumed into this one. 2: test, fine-tuning and pretraining question templates made disjoint.
inline constexpr int32_t kBenchmarkVersion = 2;

// One attribute of a user ("home_city", "brother_name", "pet_name", ...). A fact that changes
// over time has earlier values; its current value is the last one a document states.
struct Fact {
  std::string slot;                 // stable key, e.g. "home_city"
  std::string value;                // the current value (may be several words)
  std::vector<std::string> history; // earlier values, oldest first (empty: never changed)
  int32_t times_stated = 1;         // documents that state the current value
};

// One personal document: a diary entry, a message or a note, dated by `day`.
struct Document {
  int32_t id = 0;          // index in User::documents, also the chronological order
  int32_t day = 0;
  std::string kind;        // "diary" | "message" | "note"
  std::string text;        // what the model sees (without the user header)
  std::vector<int32_t> states;  // facts whose CURRENT value this document states (indices into facts)
};

enum class Level : int32_t { L1 = 1, L2 = 2, L3 = 3, L4 = 4 };

struct Question {
  std::string id;          // "u<user>-q<k>", stable across runs
  Level level = Level::L1;
  std::string text;        // e.g. "where do I live?"
  std::string answer;      // gold answer (L1-L3: one or several words; L4: the held-out reference text)
  // Evidence: the question is answerable from a set of documents S iff every group has a member in S.
  // (L1/L2: one group, every document stating the fact's current value; L3: two groups.)
  std::vector<std::vector<int32_t>> evidence;
  bool about_changed_fact = false;
  std::vector<int32_t> facts;  // the facts (indices into User::facts) the answer needs (L4: none)
  double chance = 0;           // the chance of guessing the answer from its slot's value list (L4: 0)
};

struct User {
  int64_t index = 0;       // position in the generated population
  std::string name;        // full name, used as the header of every sequence about this user
  std::vector<Fact> facts;
  std::vector<Document> documents;     // chronological
  std::vector<Question> questions;     // test questions (never used for training)
  std::vector<std::string> heldout;    // held-out texts in the user's phrasing (L4 references)
};

struct GeneratorOptions {
  int32_t n_facts = 40;        // fact slots drawn per user (of the generator's catalogue)
  int32_t n_documents = 30;    // documents per user, before distractor-only documents
  double share_changed = 0.15; // share of facts that change over time
  double share_once = 0.4;     // share of facts stated in one document only
};

// User `index` of the population drawn from `seed`: a pure function of (seed, index, options).
User generate_user(uint64_t seed, int64_t index, const GeneratorOptions& o = {});

// The subset of documents available for learning at a data amount (0 < fraction <= 1): a seeded
// choice of round(fraction · n) documents, the same for every method; nested (25% ⊂ 50% ⊂ 100%).
std::vector<int32_t> documents_at(const User& u, double fraction, uint64_t seed);
bool answerable(const Question& q, const std::vector<int32_t>& doc_ids);

// Fine-tuning question-answer pairs (ft+qa) about the facts whose current value the given documents
// state, worded with the fine-tuning templates: disjoint from the test templates and from pretraining's.
// Single hops only: no two-hop question, whose answer would be an L3 answer learnt by heart.
std::vector<std::pair<std::string, std::string>> qa_from_documents(const User& u, const std::vector<int32_t>& doc_ids);

// What a run trains on for a user, as edgellm's data records (models/data_records.h), the one format `finetune` and
// `rag index` read too: each available document as a "text" record (document_text), then with_qa's pairs as
// "prompt"/"response" records (closed_book_prompt, " answer\n"). Metadata: user, and day/kind or "qa".
std::vector<DataRecord> training_records(const User& u, const std::vector<int32_t>& avail, bool with_qa);
// Users [first_user, first_user + n_users)'s training records (every document, with the QA pairs) as JSONL, so a
// study user's data can be given to `edgellm finetune --data` and `edgellm rag index` as it is. Written atomically.
void write_training_records(uint64_t seed, int64_t first_user, int64_t n_users, const std::string& path);

// Users [first_user, first_user + n_users) of the population as JSON lines (facts, documents,
// questions, held-out texts), for people to inspect the data. Written atomically.
// Default GeneratorOptions; keys: index, name, seed, facts[{slot, value, history, times_stated}],
// documents[{id, day, kind, text, states}], questions[{id, level, text, answer, evidence, facts,
// about_changed_fact, chance}], heldout.
void write_benchmark_jsonl(uint64_t seed, int64_t first_user, int64_t n_users, const std::string& path);

// The text formats every base is trained on and every run is evaluated with (one place, so that
// pretraining and the study cannot drift apart). Each line ends in '\n'. Examples:
//   document_text:      "user: Anna Berg\ndiary day 12: i live in oslo. the train was late again.\n"
//   closed_book_prompt: "user: Anna Berg\nquestion: where do i live?\nanswer:"   + " oslo\n"
//   reading_prompt:     "user: Anna Berg\ncontext:\n<document_line>...question: where do i live?\nanswer:" + " oslo\n"
// The model's answer is the text after "answer:" up to the first '\n' (leading space stripped).
std::string user_header(const User& u);                               // "user: <name>\n"
std::string document_text(const User& u, const Document& d);          // header + "<kind> day <d>: <text>\n"
std::string document_line(const Document& d);                         // "<kind> day <d>: <text>\n"
std::string closed_book_prompt(const User& u, const std::string& q);  // header + "question: q\nanswer:"
// context_docs are document_line()s (no header): header + "context:\n" + lines + "question: q\nanswer:".
// Every prompt is completed by " <answer>\n"; several question/answer pairs may follow one context.
std::string reading_prompt(const User& u, const std::vector<std::string>& context_docs, const std::string& q);

// LaMP-format JSON (a list of {"id","input","profile":[{"id","text",...}],"output"?} plus an optional
// outputs file {"golds":[{"id","output"}]}) read as users: each entry one user whose profile items are
// documents and whose input is one L4-style question. Throws FormatError naming file and field.
std::vector<User> load_lamp(const std::string& questions_path, const std::string& outputs_path = "");

}  // namespace edgellm::study
