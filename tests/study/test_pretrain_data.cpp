// Tests of the study's pretraining stream: determinism, shares, the reading curriculum, answers present
// in the context, test users never drawn, general text. Not the packer (bench/study/pretrain.h).
#include <doctest/doctest.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>

#include "bench/study/generator_detail.h"
#include "bench/study/pretrain_data.h"
#include "runtime/error.h"

using namespace edgellm::study;

namespace {

std::string joined(const PretrainExample& ex) {
  std::string s;
  for (const auto& seg : ex) s += seg.text;
  return s;
}

std::string header_name(const std::string& text) {
  REQUIRE(text.rfind("user: ", 0) == 0);
  return text.substr(6, text.find('\n') - 6);
}

// (question, answer) pairs of an example's "question: ...\nanswer: ...\n" lines.
std::vector<std::pair<std::string, std::string>> qa_pairs(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t p = text.find("question: "); p != std::string::npos; p = text.find("question: ", p + 1)) {
    const size_t e = text.find("\nanswer: ", p);
    REQUIRE(e != std::string::npos);
    const size_t f = text.find('\n', e + 9);
    out.emplace_back(text.substr(p + 10, e - p - 10), text.substr(e + 9, f - e - 9));
  }
  return out;
}

PretrainMix small_mix() {
  PretrainMix m;
  m.seed = 3;
  m.memorized_users = 20;
  m.share_general = 0.1;
  m.share_lm = 0.2;
  m.share_closed_book = 0.2;
  return m;
}

}  // namespace

TEST_CASE("pretrain data: example k is a pure function of (mix, k)") {
  const auto general = general_text();
  const PretrainMix m = small_mix();
  for (int64_t k : {0, 1, 17, 123456}) CHECK(joined(pretrain_example(m, k, 0.5, general)) == joined(pretrain_example(m, k, 0.5, general)));
  CHECK(joined(pretrain_example(m, 5, 0.5, general)) != joined(pretrain_example(m, 6, 0.5, general)));
  PretrainMix m2 = m;
  m2.seed = 4;
  int differ = 0;
  for (int64_t k = 0; k < 20; ++k) differ += joined(pretrain_example(m, k, 0.5, general)) != joined(pretrain_example(m2, k, 0.5, general));
  CHECK(differ >= 18);
  if (std::getenv("EDGELLM_STUDY_DUMP"))
    for (int64_t k = 0; k < 8; ++k) std::cout << "---- example " << k << "\n" << joined(pretrain_example(m, k, 0.7, general));
}

TEST_CASE("pretrain data: shares, memorized users, and no test user ever") {
  const auto general = general_text();
  const PretrainMix m = small_mix();
  std::set<std::string> test_names, memorized_names;
  for (int64_t i = 0; i < m.test_users; ++i) test_names.insert(detail::user_name(m.seed, m.test_user_offset + i));
  for (int64_t i = 0; i < m.memorized_users; ++i) memorized_names.insert(detail::user_name(m.seed, i));
  CHECK(test_names.size() == static_cast<size_t>(m.test_users));  // names are unique in the name space
  int count[4] = {0, 0, 0, 0};
  const int N = 1500;
  for (int64_t k = 0; k < N; ++k) {
    PretrainKind kind;
    const int64_t user = pretrain_user(m, k, &kind);
    ++count[static_cast<int>(kind)];
    CHECK_FALSE((user >= m.test_user_offset && user < m.test_user_offset + m.test_users));
    if (kind == PretrainKind::General) continue;
    const std::string text = joined(pretrain_example(m, k, 1.0, general));
    const std::string name = header_name(text);
    CHECK_MESSAGE(test_names.count(name) == 0, "example " << k << " is about test user " << name);
    if (kind == PretrainKind::Lm || kind == PretrainKind::ClosedBook) {
      CHECK(user < m.memorized_users);
      CHECK(memorized_names.count(name) == 1);
    } else {
      CHECK(user >= m.fresh_user_offset);
      CHECK(memorized_names.count(name) == 0);  // reading is never about a memorized user
    }
  }
  CHECK(std::abs(count[0] / double(N) - 0.1) < 0.03);
  CHECK(std::abs(count[1] / double(N) - 0.2) < 0.04);
  CHECK(std::abs(count[2] / double(N) - 0.2) < 0.04);
  CHECK(std::abs(count[3] / double(N) - 0.5) < 0.05);
}

TEST_CASE("pretrain data: closed-book QA answers a memorized user's facts and film ratings") {
  const auto general = general_text();
  const PretrainMix m = small_mix();
  int n = 0;
  for (int64_t k = 0; k < 400; ++k) {
    PretrainKind kind;
    const int64_t user = pretrain_user(m, k, &kind);
    if (kind != PretrainKind::ClosedBook) continue;
    const User u = generate_user(m.seed, user, m.generator);
    const std::string text = joined(pretrain_example(m, k, 0.0, general));
    CHECK(text.rfind(user_header(u), 0) == 0);
    for (const auto& qa : qa_pairs(text)) {
      const auto &q = qa.first, &a = qa.second;  // (no structured binding: clang 14 cannot capture one)
      bool is_fact = false;
      for (const auto& f : u.facts) is_fact |= f.value == a;
      for (const auto& x : u.ratings) is_fact |= q.find(x.title) != std::string::npos && x.verdict == a;
      CHECK_MESSAGE(is_fact, q << " -> " << a);
      ++n;
    }
  }
  CHECK(n > 80);
}

TEST_CASE("pretrain data: reading comprehension follows the curriculum and its answers are in the context") {
  const auto general = general_text();
  PretrainMix m = small_mix();
  m.share_general = m.share_lm = m.share_closed_book = 0;  // all reading
  double qa_sum = 0;
  int levels_seen = 0;
  std::set<std::string> questions;
  for (double progress : {0.0, 0.5, 1.0}) {
    size_t min_docs = 99, max_docs = 0;
    for (int64_t k = 0; k < 150; ++k) {
      const PretrainExample ex = pretrain_example(m, k, progress, general);
      REQUIRE(ex.size() >= 2);
      const std::string& ctx = ex[0].text;
      CHECK(ctx.find("\ncontext:\n") != std::string::npos);
      size_t docs = 0;
      for (const char* kind : {"\ndiary day ", "\nmessage day ", "\nnote day "})
        for (size_t p = ctx.find(kind); p != std::string::npos; p = ctx.find(kind, p + 1)) ++docs;
      min_docs = std::min(min_docs, docs);
      max_docs = std::max(max_docs, docs);
      const auto qa = qa_pairs(joined(ex));
      CHECK(qa.size() == ex.size() - 1);
      CHECK(static_cast<int32_t>(qa.size()) <= m.max_qa_per_context);
      qa_sum += qa.size();
      for (const auto& p : qa) {
        const auto &q = p.first, &a = p.second;  // (no structured binding: clang 14 cannot capture one)
        CHECK_MESSAGE(ctx.find(a) != std::string::npos, q << " -> " << a << " not in\n" << ctx);
        questions.insert(q);
      }
      for (const auto& seg : ex) CHECK(seg.scored);
    }
    if (progress == 0.0) {
      CHECK(max_docs == 1);
    } else if (progress == 1.0) {
      CHECK(min_docs >= 3);
      CHECK(max_docs == 5);
    }
  }
  CHECK(qa_sum / 450 > 2.5);
  // Two-hop reading is practised on fresh users, in pretraining's own wording (never the L3 test one).
  for (const char* q : {"in which city does my", "what is the job of my", "what does my"})
    for (const auto& x : questions) levels_seen += x.find(q) != std::string::npos;
  CHECK(levels_seen >= 3);
  for (const char* q : {"name the city where my", "name the job of my", "which dish do i enjoy eating most?"})
    for (const auto& x : questions) CHECK_MESSAGE(x.find(q) == std::string::npos, x);
}

TEST_CASE("pretrain data: bad mixes are refused") {
  const auto general = general_text();
  PretrainMix m = small_mix();
  m.share_general = 0.8;
  m.share_lm = 0.5;
  CHECK_THROWS_AS(pretrain_example(m, 0, 0, general), edgellm::Error);
  m = small_mix();
  m.test_user_offset = 10;  // below the memorized users
  CHECK_THROWS_AS(pretrain_example(m, 0, 0, general), edgellm::Error);
  m = small_mix();
  m.test_user_offset = detail::name_space() * 100 + 5;  // test names would collide with memorized ones
  CHECK_THROWS_AS(pretrain_example(m, 0, 0, general), edgellm::Error);
  m = small_mix();
  m.share_general = 1;
  CHECK_THROWS_AS(pretrain_example(m, 0, 0, {}), edgellm::Error);
}

TEST_CASE("pretrain data: general text") {
  std::string source;
  const auto text = general_text(&source);
  REQUIRE(text.size() >= 30);
  bool ascii = true, long_enough = true;
  for (const auto& p : text) {
    long_enough &= p.size() >= 20;
    for (char c : p) ascii &= static_cast<unsigned char>(c) < 0x80 && (c == '\n' || c >= 0x20);
  }
  CHECK(ascii);
  CHECK(long_enough);
  if (std::filesystem::is_directory("/usr/share/games/fortunes")) {
    CHECK(source.find("fortunes") != std::string::npos);
    CHECK(text.size() > 1000);
  } else {
    CHECK(source.find("built-in") != std::string::npos);
  }
  MESSAGE("general text: " << source);
}

// Not run by default (--no-skip): how fast the stream is and how long its examples are.
TEST_CASE("pretrain data: throughput and lengths" * doctest::skip()) {
  const auto general = general_text();
  const PretrainMix m;  // the defaults
  const int N = 20000;
  size_t chars[4] = {0, 0, 0, 0}, count[4] = {0, 0, 0, 0};
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = 0; k < N; ++k) {
    PretrainKind kind;
    pretrain_user(m, k, &kind);
    chars[static_cast<int>(kind)] += joined(pretrain_example(m, k, double(k) / N, general)).size();
    ++count[static_cast<int>(kind)];
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE((N / s) << " examples/s; mean chars general/lm/closed/reading: " << chars[0] / double(count[0]) << " "
                << chars[1] / double(count[1]) << " " << chars[2] / double(count[2]) << " " << chars[3] / double(count[3]));
}

namespace {

// A question with every name (the only capitalised words) replaced: the template it was filled from.
std::string template_of(const std::string& q) {
  std::string out;
  for (size_t i = 0; i < q.size();) {
    if (std::isupper(static_cast<unsigned char>(q[i])) && (i == 0 || !std::isalpha(static_cast<unsigned char>(q[i - 1])))) {
      while (i < q.size() && std::isalpha(static_cast<unsigned char>(q[i]))) ++i;
      out += "{name}";
    } else {
      out += q[i++];
    }
  }
  return out;
}

}  // namespace

TEST_CASE("pretrain data: the template sets of test, fine-tuning and pretraining questions are disjoint") {
  std::set<std::string> test, fine, pre;
  for (const auto& s : detail::catalogue()) {
    for (const auto& st : s.states) test.insert(st.l1);
    for (const auto& st : s.changes) test.insert(st.l1);
    test.insert(s.l2.begin(), s.l2.end());
    if (!s.l3.empty()) test.insert(s.l3);
    CHECK_MESSAGE(!s.train.empty(), s.key);
    CHECK_MESSAGE(!s.pretrain.empty(), s.key);
    CHECK_MESSAGE(s.relation.empty() == s.l3_pretrain.empty(), s.key);
    fine.insert(s.train.begin(), s.train.end());
    pre.insert(s.pretrain.begin(), s.pretrain.end());
    if (!s.l3_pretrain.empty()) pre.insert(s.l3_pretrain);
  }
  CHECK(test.size() > 150);
  // The classification task's templates (L4, about an unseen film; training QA, about a rated film).
  const auto& rt = detail::rating_test_questions();
  const auto& rf = detail::rating_train_questions();
  const auto& rp = detail::rating_pretrain_questions();
  CHECK(!rt.empty());
  CHECK(!rf.empty());
  CHECK(!rp.empty());
  test.insert(rt.begin(), rt.end()), fine.insert(rf.begin(), rf.end()), pre.insert(rp.begin(), rp.end());
  for (const auto& t : test) {
    CHECK_MESSAGE(fine.count(t) == 0, "test template in fine-tuning QA: " << t);
    CHECK_MESSAGE(pre.count(t) == 0, "test template in pretraining: " << t);
  }
  for (const auto& t : fine) CHECK_MESSAGE(pre.count(t) == 0, "fine-tuning template in pretraining: " << t);
}

TEST_CASE("pretrain data: no test question, as text or as template, occurs in any training stream") {
  PretrainMix m = small_mix();
  m.share_general = 0;  // general prose is not the generator's; it is checked against nothing here
  m.memorized_users = 6;
  m.test_users = 6;
  // The training streams: pretraining examples (LM, closed-book, reading at every curriculum stage) and,
  // for each test user, what fine-tuning sees (all documents, the ft+qa pairs in their prompts).
  std::vector<std::string> texts;
  std::vector<std::string> train_questions;
  std::set<int> kinds;
  for (int64_t k = 0; k < 400; ++k) {
    PretrainKind kind;
    pretrain_user(m, k, &kind);
    kinds.insert(static_cast<int>(kind));
    const std::string t = joined(pretrain_example(m, k, static_cast<double>(k % 5) / 4.0, {}));
    for (const auto& p : qa_pairs(t)) train_questions.push_back(p.first);
    texts.push_back(t);
  }
  CHECK(kinds.size() == 3);
  std::vector<User> test_users, all_users;
  for (int64_t i = 0; i < m.test_users; ++i) test_users.push_back(generate_user(m.seed, m.test_user_offset + i, m.generator));
  for (int64_t i = 0; i < m.memorized_users; ++i) all_users.push_back(generate_user(m.seed, i, m.generator));
  all_users.insert(all_users.end(), test_users.begin(), test_users.end());
  size_t ft_pairs = 0;
  for (const auto& u : test_users) {
    std::vector<int32_t> ids;
    for (const auto& d : u.documents) ids.push_back(d.id), texts.push_back(document_text(u, d));
    for (const auto& [q, a] : qa_from_documents(u, ids)) {
      texts.push_back(closed_book_prompt(u, q) + " " + a + "\n");
      train_questions.push_back(q);
      ++ft_pairs;
    }
    // ft+qa learns single hops only: no training question about "my <relative>" whose answer is an L3 one.
    for (const auto& q : u.questions) {
      if (q.level != Level::L3) continue;
      const std::string rel = "my " + detail::slot_of(u.facts[q.facts[0]]).rel_noun;
      for (const auto& pair : qa_from_documents(u, ids)) {  // no structured binding: clang 14 cannot capture one
        const std::string& tq = pair.first;
        CHECK_MESSAGE(!(pair.second == q.answer && tq.find(rel) != std::string::npos), tq << " memorizes L3 " << q.text);
      }
    }
  }
  CHECK(ft_pairs > 100);
  // The test questions of test and memorized users (every L1-L3 template the generator fills).
  std::set<std::string> test_texts, test_templates;
  for (const auto& u : all_users)
    for (const auto& q : u.questions)
      if (q.level != Level::L5) test_texts.insert(q.text), test_templates.insert(template_of(q.text));
  CHECK(test_templates.size() > 100);
  // And every test template of the catalogue, filled the way the generator fills it ({r} a name, {rel}
  // any relative), so that a slot these few users happen not to be asked about is checked as well.
  std::vector<std::string> rels;
  for (const auto& s : detail::catalogue())
    if (!s.rel_noun.empty()) rels.push_back(s.rel_noun);
  for (const auto& s : detail::catalogue()) {
    std::vector<std::string> ts = s.l2;
    for (const auto& st : s.states) ts.push_back(st.l1);
    for (const auto& st : s.changes) ts.push_back(st.l1);
    for (const auto& t : ts) test_templates.insert(detail::fill(t, "", "{name}"));
    for (const auto& rel : rels)
      if (!s.l3.empty()) test_templates.insert(detail::fill(s.l3, "", "", rel));
  }
  // L4's templates about every film these users rate or are asked about, in every genre they rate: a
  // training question about a rated film must not be the test question's wording.
  for (const auto& u : all_users) {
    std::set<std::string> genres;
    for (const auto& x : u.ratings) genres.insert(x.genre);
    for (const auto& x : u.ratings)
      for (const auto& g : genres)
        for (const auto& t : detail::rating_test_questions()) test_templates.insert(detail::fill_rating(t, x.title, g, ""));
  }
  for (const auto& q : train_questions)
    CHECK_MESSAGE(test_templates.count(template_of(q)) == 0, "training question with a test template: " << q);
  std::string all_text, all_templated;
  for (const auto& t : texts) all_text += t + "\n";
  all_templated = template_of(all_text);
  for (const auto& q : test_texts) CHECK_MESSAGE(all_text.find(q) == std::string::npos, "test question in training text: " << q);
  for (const auto& q : test_templates)
    CHECK_MESSAGE(all_templated.find(q) == std::string::npos, "test template in training text: " << q);
}
