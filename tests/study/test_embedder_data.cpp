// The study embedder's data: its training and held-out users are reading-stream users, disjoint from the
// study's test users (by index and by name) and from each other; batches use no test wording and hold no
// false negative. Not the training (tests/train/test_contrastive.cpp checks the head's gradients).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "bench/study/embedder_data.h"
#include "bench/study/generator_detail.h"
#include "bench/study/grid.h"

using namespace edgellm::study;

TEST_CASE("embedder data: training and held-out users are reading-stream users, never the study's test users") {
  EmbedderData d;
  const PretrainMix& m = d.mix;
  // The study's test users: every grid's runs draw user_offset + seed·users + k inside the mix's test range.
  GridOptions g;
  g.bases = {"builtin:tiny"};
  g.seeds = 20;
  std::set<int64_t> test_users;
  for (const auto& s : enumerate_grid(g))
    for (int k = 0; k < s.users; ++k) test_users.insert(s.user_offset + static_cast<int64_t>(s.seed) * s.users + k);
  REQUIRE(!test_users.empty());
  std::set<std::string> test_names;
  for (int64_t u : test_users) {
    CHECK((u >= m.test_user_offset && u < m.test_user_offset + m.test_users));
    test_names.insert(detail::user_name(m.seed, u));
  }
  for (int64_t i = 0; i < m.test_users; ++i) test_names.insert(detail::user_name(m.seed, m.test_user_offset + i));

  const int64_t steps = 400;
  const std::vector<int64_t> train = embedder_train_users(d, steps);
  std::vector<std::vector<std::string>> docs;
  std::vector<int64_t> held;
  const auto cases = embedder_eval_cases(d, 30, docs, &held);
  CHECK(!cases.empty());
  const std::set<int64_t> train_set(train.begin(), train.end());
  for (int64_t u : train) {
    CHECK(u >= m.fresh_user_offset);
    CHECK(test_users.count(u) == 0);
    CHECK(test_names.count(detail::user_name(m.seed, u)) == 0);
  }
  for (int64_t u : held) {
    CHECK(u >= m.fresh_user_offset);
    CHECK(test_names.count(detail::user_name(m.seed, u)) == 0);
    CHECK(train_set.count(u) == 0);  // held out from training too
  }
}

TEST_CASE("embedder data: a batch pairs pretraining questions with documents that answer them, and nothing else does") {
  EmbedderData d;
  for (int64_t step : {0, 1, 17, 123}) {
    const auto b = embedder_batch(d, step);
    REQUIRE(b.queries.size() >= 4);
    CHECK(b.documents.size() == static_cast<size_t>(d.documents));
    CHECK(b.documents.size() >= b.queries.size());
    const edgellm::study::User u = generate_user(d.mix.seed, embedder_train_users(d, step + 1).back(), d.mix.generator);
    std::set<std::string> test_questions;
    for (const auto& q : u.questions) test_questions.insert(q.text);
    std::vector<int32_t> all(u.documents.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
    const auto pool = detail::qa_pairs(u, all, detail::QaUse::Pretraining);
    for (size_t i = 0; i < b.queries.size(); ++i) {
      CHECK(test_questions.count(b.queries[i]) == 0);  // never a test wording
      const auto p = std::find_if(pool.begin(), pool.end(), [&](const auto& x) { return x.question == b.queries[i]; });
      REQUIRE(p != pool.end());
      // The positive states the answer's fact; no other document of the batch does.
      for (size_t j = 0; j < b.documents.size(); ++j) {
        const auto doc = std::find_if(u.documents.begin(), u.documents.end(),
                                      [&](const auto& x) { return document_line(x) == b.documents[j]; });
        REQUIRE(doc != u.documents.end());
        const bool states = std::count(doc->states.begin(), doc->states.end(), p->fact) > 0;
        CHECK(states == (i == j));
      }
    }
    CHECK(embedder_batch(d, step).documents == b.documents);  // a pure function of the step
  }
}
