// Embedder batches from the reading stream's users and held-out retrieval cases (see embedder_data.h).
// Not a cache: users are generated again per batch (a few ms each), so a step is a pure function of its index.
#include "bench/study/embedder_data.h"

#include <algorithm>
#include <set>

#include "bench/study/generator_detail.h"
#include "runtime/error.h"

namespace edgellm::study {

using namespace detail;

int64_t reading_user(const PretrainMix& mix, int64_t k) {
  PretrainKind kind;
  const int64_t u = pretrain_user(mix, k, &kind);
  return kind == PretrainKind::Reading ? u : -1;
}

namespace {

// The first reading example at or after stream position k: its user.
int64_t reading_user_from(const PretrainMix& mix, int64_t k) {
  for (;; ++k)
    if (const int64_t u = reading_user(mix, k); u >= 0) return u;
}

int64_t train_user(const EmbedderData& d, int64_t step) {
  Rng r(mix_hash(mix_hash(d.mix.seed, 0x454d4244), static_cast<uint64_t>(step)));  // "EMBD"
  return reading_user_from(d.mix, static_cast<int64_t>(below(r, static_cast<uint64_t>(d.train_examples))));
}

bool states(const Document& doc, int32_t fact) {
  return std::find(doc.states.begin(), doc.states.end(), fact) != doc.states.end();
}

}  // namespace

std::vector<int64_t> embedder_train_users(const EmbedderData& d, int64_t steps) {
  std::vector<int64_t> out;
  for (int64_t s = 0; s < steps; ++s) out.push_back(train_user(d, s));
  return out;
}

rag::EmbedBatch embedder_batch(const EmbedderData& d, int64_t step) {
  EDGE_CHECK(d.queries >= 1 && d.documents >= d.queries, "embedder data: need 1 <= queries <= documents ({} and {})",
             d.queries, d.documents);
  const User u = generate_user(d.mix.seed, train_user(d, step), d.mix.generator);
  Rng r(mix_hash(mix_hash(d.mix.seed, 0x42415443), static_cast<uint64_t>(step)));  // "BATC"
  std::vector<int32_t> all(u.documents.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
  std::vector<QaPair> pool = qa_pairs(u, all, QaUse::Pretraining);  // never a test or fine-tuning template
  shuffle(r, pool);
  // Greedy: a query joins when its fact is new, and a document stating it exists that states no other
  // chosen fact (and whose own fact no chosen document states): no in-batch negative is a positive.
  std::vector<int32_t> facts, docs;
  rag::EmbedBatch b;
  for (const QaPair& p : pool) {
    if (static_cast<int32_t>(b.queries.size()) == d.queries) break;
    if (std::find(facts.begin(), facts.end(), p.fact) != facts.end()) continue;
    bool clash = false;
    for (int32_t doc : docs) clash = clash || states(u.documents[doc], p.fact);
    if (clash) continue;
    std::vector<int32_t> pos;
    for (int32_t doc : all)
      if (states(u.documents[doc], p.fact) &&
          std::none_of(facts.begin(), facts.end(), [&](int32_t f) { return states(u.documents[doc], f); }) &&
          std::find(docs.begin(), docs.end(), doc) == docs.end())
        pos.push_back(doc);
    if (pos.empty()) continue;
    facts.push_back(p.fact), docs.push_back(pick(r, pos));
    b.queries.push_back(p.question);
  }
  EDGE_CHECK(!b.queries.empty(), "embedder data: user {} gave no question-document pair", u.index);
  // Negatives: documents of the same user stating none of the batch's facts (distractors included).
  std::vector<int32_t> neg;
  for (int32_t doc : all)
    if (std::find(docs.begin(), docs.end(), doc) == docs.end() &&
        std::none_of(facts.begin(), facts.end(), [&](int32_t f) { return states(u.documents[doc], f); }))
      neg.push_back(doc);
  shuffle(r, neg);
  for (size_t i = 0; i < neg.size() && static_cast<int32_t>(docs.size()) < d.documents; ++i) docs.push_back(neg[i]);
  for (int32_t doc : docs) b.documents.push_back(document_line(u.documents[doc]));
  return b;
}

std::vector<rag::RecallCase> embedder_eval_cases(const EmbedderData& d, int64_t n_users,
                                                 std::vector<std::vector<std::string>>& documents,
                                                 std::vector<int64_t>* users) {
  std::vector<User> us;
  int64_t k = d.eval_from;
  for (int64_t i = 0; i < n_users; ++i, ++k) {
    while (reading_user(d.mix, k) < 0) ++k;
    us.push_back(generate_user(d.mix.seed, reading_user(d.mix, k), d.mix.generator));
    if (users) users->push_back(us.back().index);
  }
  documents.assign(us.size(), {});  // sized first: the cases point into it
  std::vector<rag::RecallCase> cases;
  for (size_t i = 0; i < us.size(); ++i) {
    for (const auto& doc : us[i].documents) documents[i].push_back(document_line(doc));
    for (const auto& q : us[i].questions) {
      if (q.level == Level::L4) continue;  // a reply to write, not a fact to find
      rag::RecallCase c;
      c.query = q.text, c.documents = &documents[i];
      for (const auto& g : q.evidence) c.relevant.insert(c.relevant.end(), g.begin(), g.end());
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

}  // namespace edgellm::study
