// Tests of the benchmark generator: determinism, evidence, answerable shares, L2 paraphrase, L3 two
// documents, changed facts, gendered names, the text formats. Not the pretraining mix (test_pretrain_data).
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <set>
#include <sstream>
#include <tuple>

#include <unistd.h>

#include <filesystem>

#include "bench/study/benchmark.h"
#include "bench/study/generator_detail.h"
#include "models/runner.h"
#include "rag/ingest.h"
#include "train/data.h"

using namespace edgellm::study;
using edgellm::DataRecord;

namespace {

std::string dump(const User& u) {
  std::ostringstream s;
  s << "# " << u.name << " (user " << u.index << ")\n";
  for (const auto& f : u.facts) {
    s << "fact " << f.slot << " = " << f.value;
    for (const auto& h : f.history) s << " [was " << h << "]";
    s << " x" << f.times_stated << "\n";
  }
  for (const auto& d : u.documents) s << "[" << d.id << "] " << document_line(d);
  for (const auto& q : u.questions) {
    s << q.id << " L" << static_cast<int>(q.level) << (q.about_changed_fact ? " (changed)" : "") << ": " << q.text
      << " -> " << q.answer << " | evidence";
    for (const auto& g : q.evidence) {
      s << " {";
      for (int32_t d : g) s << d << " ";
      s << "}";
    }
    s << "\n";
  }
  return s.str();
}

const std::set<std::string>& stopwords() {
  static const std::set<std::string> w = {
      "i",     "me",   "my",   "a",    "an",    "the",  "is",   "am",    "are",  "was",  "do",   "does", "did",
      "what",  "which", "who", "whom", "where", "when", "how",  "in",    "on",   "at",   "of",   "to",   "for",
      "with",  "and",   "or",  "it",   "its",   "that", "this", "these", "by",   "from", "as",   "be",   "have",
      "has",   "there", "than", "any", "every", "most", "best", "up",    "one",  "s"};
  return w;
}

std::set<std::string> content_words(const std::string& text) {
  std::set<std::string> out;
  std::string w;
  auto flush = [&] {
    if (!w.empty() && !stopwords().count(w)) out.insert(w);
    w.clear();
  };
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else flush();
  }
  flush();
  return out;
}

double jaccard(const std::set<std::string>& a, const std::set<std::string>& b) {
  if (a.empty() && b.empty()) return 0;
  size_t inter = 0;
  for (const auto& x : a) inter += b.count(x);
  return static_cast<double>(inter) / static_cast<double>(a.size() + b.size() - inter);
}

std::vector<int32_t> all_docs(const User& u) {
  std::vector<int32_t> ids(u.documents.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  return ids;
}

bool same_user(const User& a, const User& b) { return dump(a) == dump(b); }

// The sentences of a document (split at ". "), for checks on what a single sentence says.
std::vector<std::string> sentences(const std::string& text) {
  std::vector<std::string> out;
  size_t a = 0;
  for (size_t p = text.find(". "); p != std::string::npos; p = text.find(". ", a)) {
    out.push_back(text.substr(a, p - a));
    a = p + 2;
  }
  out.push_back(text.substr(a));
  return out;
}

}  // namespace

TEST_CASE("study generator: a user is a pure function of (seed, index, options)") {
  const User a = generate_user(7, 3), b = generate_user(7, 3);
  CHECK(same_user(a, b));
  CHECK_FALSE(same_user(a, generate_user(8, 3)));
  CHECK_FALSE(same_user(a, generate_user(7, 4)));
  GeneratorOptions o;
  o.n_facts = 20;
  CHECK_FALSE(same_user(a, generate_user(7, 3, o)));
  CHECK(a.facts.size() == 40);
  CHECK(detail::catalogue().size() >= 50);
  if (std::getenv("EDGELLM_STUDY_DUMP")) std::cout << dump(a) << dump(generate_user(7, 1'000'000));
}

TEST_CASE("study generator: questions per level, evidence, states and the text") {
  for (int64_t idx = 0; idx < 40; ++idx) {
    const User u = generate_user(11, idx);
    int n[5] = {0, 0, 0, 0, 0};
    for (const auto& q : u.questions) ++n[static_cast<int>(q.level)];
    CHECK(n[1] == 12);
    CHECK(n[2] == 12);
    CHECK(n[3] >= 4);
    CHECK(n[3] <= 6);
    CHECK(n[4] == 3);
    // Every question answerable from the user's full data; the L4 reference never in a document.
    for (const auto& q : u.questions) {
      CHECK(answerable(q, all_docs(u)));
      CHECK(q.id == "u" + std::to_string(idx) + "-q" + std::to_string(&q - u.questions.data()));
      if (q.level != Level::L4) CHECK((q.chance > 0 && q.chance <= 0.25));
      if (q.level == Level::L4) {
        for (const auto& d : u.documents) CHECK(d.text.find(q.answer) == std::string::npos);
        CHECK(std::find(u.heldout.begin(), u.heldout.end(), q.answer) != u.heldout.end());
      }
    }
    // A document that "states" a fact contains its current value; days increase; some documents are
    // messages, diaries and notes; sentences per document 2..5 (messages add greeting and sign-off).
    for (const auto& d : u.documents) {
      for (int32_t f : d.states) CHECK(d.text.find(u.facts[f].value) != std::string::npos);
      if (d.id > 0) CHECK(d.day > u.documents[d.id - 1].day);
      const size_t ns = sentences(d.text).size();
      CHECK(ns >= 2);
      CHECK(ns <= 6);
    }
    // Some facts stated once, some several times; some answers of several words.
    int once = 0, several = 0, multiword = 0;
    for (const auto& f : u.facts) {
      CHECK(f.times_stated >= 1);
      once += f.times_stated == 1;
      several += f.times_stated >= 2;
    }
    for (const auto& q : u.questions) multiword += q.level != Level::L4 && q.answer.find(' ') != std::string::npos;
    CHECK(once >= 10);
    CHECK(several >= 10);
    CHECK(multiword >= 1);
  }
}

TEST_CASE("study generator: relatives have gendered names") {
  for (int64_t idx = 0; idx < 60; ++idx) {
    const User u = generate_user(5, idx);
    std::set<std::string> names;
    for (const auto& f : u.facts) {
      const auto& s = detail::slot_of(f);
      if (s.rel_noun.empty()) continue;
      CHECK(names.insert(f.value).second);  // no two relatives share a name
      const auto& m = detail::male_names();
      const auto& w = detail::female_names();
      const bool male = std::find(m.begin(), m.end(), f.value) != m.end();
      const bool female = std::find(w.begin(), w.end(), f.value) != w.end();
      CHECK(male != female);
      if (s.list == "male") CHECK_MESSAGE(male, f.slot << " = " << f.value);
      if (s.list == "female") CHECK_MESSAGE(female, f.slot << " = " << f.value);
    }
    const int32_t b = detail::find_fact(u, "brother_name");
    if (b >= 0) {
      const auto& m = detail::male_names();
      CHECK(std::find(m.begin(), m.end(), u.facts[b].value) != m.end());
    }
  }
}

TEST_CASE("study generator: the answerable share at each data amount, recounted by brute force") {
  double share[3] = {0, 0, 0};
  int total = 0;
  for (int64_t idx = 0; idx < 30; ++idx) {
    const User u = generate_user(3, idx);
    const auto d25 = documents_at(u, 0.25, 9), d50 = documents_at(u, 0.5, 9), d100 = documents_at(u, 1.0, 9);
    CHECK(documents_at(u, 0.5, 9) == d50);
    CHECK(d25.size() == static_cast<size_t>(std::lround(0.25 * u.documents.size())));
    CHECK(std::includes(d50.begin(), d50.end(), d25.begin(), d25.end()));
    CHECK(std::includes(d100.begin(), d100.end(), d50.begin(), d50.end()));
    CHECK(d100 == all_docs(u));
    CHECK(documents_at(u, 0.5, 10) != d50);
    const std::vector<int32_t>* sets[3] = {&d25, &d50, &d100};
    for (const auto& q : u.questions) {
      if (q.level == Level::L4) continue;
      ++total;
      for (int s = 0; s < 3; ++s) {
        // Brute force: every fact the answer needs has its current value stated in a chosen document.
        bool brute = true;
        for (int32_t f : q.facts) {
          bool found = false;
          for (int32_t d : *sets[s]) {
            const auto& st = u.documents[d].states;
            found |= std::find(st.begin(), st.end(), f) != st.end();
          }
          brute &= found;
        }
        CHECK(answerable(q, *sets[s]) == brute);
        share[s] += brute;
      }
    }
  }
  for (double& s : share) s /= total;
  MESSAGE("answerable share at 25/50/100%: " << share[0] << " " << share[1] << " " << share[2]);
  CHECK(share[0] < share[1]);
  CHECK(share[1] < share[2]);
  CHECK(share[2] == 1.0);
  CHECK(share[0] > 0.15);
  CHECK(share[0] < 0.6);
}

TEST_CASE("study generator: L2 shares few content words with its evidence, L1 many") {
  double l1_sum = 0, l2_max = 0;
  int n1 = 0;
  for (int64_t idx = 0; idx < 40; ++idx) {
    const User u = generate_user(21, idx);
    for (const auto& q : u.questions) {
      if (q.level != Level::L1 && q.level != Level::L2) continue;
      const auto qw = content_words(q.text);
      double best = 0;  // overlap with the evidence sentence closest to the question
      for (int32_t d : q.evidence[0])
        for (const auto& s : sentences(u.documents[d].text))
          if (s.find(q.answer) != std::string::npos) best = std::max(best, jaccard(qw, content_words(s)));
      if (q.level == Level::L2) {
        CHECK_MESSAGE(best <= 0.2, q.text << " vs its evidence: " << best);
        l2_max = std::max(l2_max, best);
      } else {
        CHECK_MESSAGE(best > 0, q.text << " shares no content word with its evidence");
        l1_sum += best;
        ++n1;
      }
    }
  }
  MESSAGE("mean L1 Jaccard " << l1_sum / n1 << ", max L2 Jaccard " << l2_max);
  CHECK(l1_sum / n1 > 0.3);
}

TEST_CASE("study generator: L3 needs two documents, the second without the relation word") {
  int n = 0;
  for (int64_t idx = 0; idx < 40; ++idx) {
    const User u = generate_user(4, idx);
    for (const auto& q : u.questions) {
      if (q.level != Level::L3) continue;
      ++n;
      REQUIRE(q.evidence.size() == 2);
      for (int32_t a : q.evidence[0]) CHECK(std::find(q.evidence[1].begin(), q.evidence[1].end(), a) == q.evidence[1].end());
      for (const auto& d : u.documents) CHECK_FALSE(answerable(q, {d.id}));
      CHECK(answerable(q, {q.evidence[0][0], q.evidence[1][0]}));
      const auto& rel = detail::slot_of(u.facts[q.facts[0]]).rel_noun;
      CHECK(q.text.find(rel) != std::string::npos);
      // The hop sentence names the relative, not the relation.
      for (int32_t d : q.evidence[1])
        for (const auto& s : sentences(u.documents[d].text))
          if (s.find(q.answer) != std::string::npos && s.find(u.facts[q.facts[0]].value) != std::string::npos)
            CHECK(s.find("my " + rel) == std::string::npos);
    }
  }
  CHECK(n >= 40 * 4);
}

TEST_CASE("study generator: a changed fact's question asks for the latest value") {
  int n = 0;
  for (int64_t idx = 0; idx < 40; ++idx) {
    const User u = generate_user(6, idx);
    int changed = 0;
    for (const auto& f : u.facts) changed += !f.history.empty();
    CHECK(changed == 6);
    for (const auto& q : u.questions) {
      if (!q.about_changed_fact) continue;
      ++n;
      const Fact& f = u.facts[q.facts.back()];
      REQUIRE_FALSE(f.history.empty());
      CHECK(q.answer == f.value);
      const int32_t first_new = *std::min_element(q.evidence.back().begin(), q.evidence.back().end());
      // Every old value is stated, in a document before the first statement of the current value,
      // and documents stating an old value are not evidence.
      for (size_t h = 0; h < f.history.size(); ++h) {
        int32_t last_old = -1;
        for (const auto& d : u.documents)
          for (const auto& s : sentences(d.text))
            if (s.find(f.history[h]) != std::string::npos && d.id < first_new) last_old = d.id;
        CHECK_MESSAGE(last_old >= 0, f.slot << " old value " << f.history[h] << " never stated early");
      }
    }
  }
  CHECK(n >= 40 * 3);
}

TEST_CASE("study generator: prompt formats") {
  User u;
  u.name = "Anna Berg";
  Document d;
  d.day = 3;
  d.kind = "note";
  d.text = "i live in oslo.";
  CHECK(user_header(u) == "user: Anna Berg\n");
  CHECK(document_line(d) == "note day 3: i live in oslo.\n");
  CHECK(document_text(u, d) == "user: Anna Berg\nnote day 3: i live in oslo.\n");
  CHECK(closed_book_prompt(u, "where do i live?") == "user: Anna Berg\nquestion: where do i live?\nanswer:");
  CHECK(reading_prompt(u, {document_line(d), document_line(d)}, "where do i live?") ==
        "user: Anna Berg\ncontext:\nnote day 3: i live in oslo.\nnote day 3: i live in oslo.\n"
        "question: where do i live?\nanswer:");
}

TEST_CASE("study generator: training questions never repeat a test question's text") {
  std::set<std::string> test_texts, train_texts;
  for (int64_t idx = 0; idx < 40; ++idx) {
    const User u = generate_user(2, idx);
    for (const auto& q : u.questions) test_texts.insert(q.text);
    const auto qa = qa_from_documents(u, all_docs(u));
    CHECK(qa.size() >= u.facts.size());
    for (const auto& [q, a] : qa) train_texts.insert(q);
    // From a part of the data, only facts stated there.
    const auto part = documents_at(u, 0.25, 1);
    for (const auto& [q, a] : qa_from_documents(u, part)) {
      bool stated = false;
      for (int32_t d : part) stated |= u.documents[d].text.find(a) != std::string::npos;
      CHECK(stated);
    }
  }
  for (const auto& t : train_texts) CHECK_MESSAGE(test_texts.count(t) == 0, t);
}

TEST_CASE("study generator: invariants hold for other options") {
  for (const auto& [nf, nd, sc, so] : {std::tuple{10, 6, 0.3, 0.5}, std::tuple{70, 60, 0.1, 0.2},
                                       std::tuple{25, 12, 0.0, 1.0}, std::tuple{40, 30, 0.3, 0.0}}) {
    GeneratorOptions o;
    o.n_facts = nf;
    o.n_documents = nd;
    o.share_changed = sc;
    o.share_once = so;
    for (int64_t idx = 0; idx < 10; ++idx) {
      const User u = generate_user(1, idx, o);
      CHECK(static_cast<int>(u.facts.size()) == std::min<int>(nf, static_cast<int>(detail::catalogue().size())));
      CHECK(u.documents.size() == static_cast<size_t>(nd + nd / 6));
      std::set<std::string> texts;
      for (const auto& q : u.questions) {
        CHECK(answerable(q, all_docs(u)));
        if (q.level != Level::L4) CHECK_MESSAGE(texts.insert(q.text).second, "repeated question " << q.text);
        if (q.level == Level::L3)
          for (const auto& d : u.documents) CHECK_FALSE(answerable(q, {d.id}));
      }
      for (const auto& d : u.documents)
        for (int32_t f : d.states) CHECK(d.text.find(u.facts[f].value) != std::string::npos);
      int once = 0;
      for (const auto& f : u.facts) once += f.times_stated == 1;
      if (so == 1.0 && sc == 0.0) CHECK(once == nf);
    }
  }
}

TEST_CASE("study records: what a run trains on is written in the one data format, and finetune and rag index read it") {
  const User u = generate_user(1, 3);
  std::vector<int32_t> all(u.documents.size());
  for (size_t d = 0; d < all.size(); ++d) all[d] = static_cast<int32_t>(d);
  const std::vector<DataRecord> recs = training_records(u, all, true);
  const auto qa = qa_from_documents(u, all);
  REQUIRE(recs.size() == u.documents.size() + qa.size());
  const std::string path =
      (std::filesystem::temp_directory_path() / ("edgellm_study_records_" + std::to_string(::getpid()) + ".jsonl")).string();
  write_training_records(1, 3, 1, path);
  std::vector<DataRecord> back;
  edgellm::read_data_records(path, "study records", [&](DataRecord&& r) { back.push_back(std::move(r)); });
  REQUIRE(back.size() == recs.size());
  for (size_t i = 0; i < recs.size(); ++i) {
    CHECK(back[i].kind == recs[i].kind);
    CHECK(back[i].text == recs[i].text);
    CHECK(back[i].prompt == recs[i].prompt);
    CHECK(back[i].response == recs[i].response);
  }
  CHECK(back[0].text == document_text(u, u.documents[0]));
  CHECK(back.back().prompt == closed_book_prompt(u, qa.back().first));
  // The same file, through both consumers: every record a training example and a document.
  auto tok = edgellm::builtin_tokenizer(512);
  CHECK(edgellm::load_examples(path, *tok).size() == recs.size());
  CHECK(edgellm::rag::load_jsonl(path).size() == recs.size());
  std::filesystem::remove(path);
}
