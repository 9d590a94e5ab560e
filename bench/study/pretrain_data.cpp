// The study's pretraining stream: example k is general text, LM text or closed-book QA of a memorized
// user, or reading comprehension (1-5 documents, then several QA pairs) about a fresh user.
// Not a packer or a tokenizer (bench/study/pretrain.h). Test users are never drawn.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "bench/study/generator_detail.h"
#include "bench/study/pretrain_data.h"
#include "runtime/error.h"

namespace edgellm::study {

using namespace detail;

namespace {

void check_mix(const PretrainMix& m) {
  const double shares = m.share_general + m.share_lm + m.share_closed_book;
  EDGE_CHECK(m.share_general >= 0 && m.share_lm >= 0 && m.share_closed_book >= 0 && shares <= 1 + 1e-9,
             "pretrain mix: shares {} {} {} must be >= 0 and sum to <= 1", m.share_general, m.share_lm,
             m.share_closed_book);
  EDGE_CHECK(m.memorized_users >= 1 || m.share_lm + m.share_closed_book == 0,
             "pretrain mix: LM/closed-book shares need memorized_users >= 1");
  EDGE_CHECK(m.memorized_users <= m.test_user_offset && m.test_users >= 0 &&
                 m.test_user_offset + m.test_users <= m.fresh_user_offset,
             "pretrain mix: need memorized_users ({}) <= test_user_offset ({}) and test users below "
             "fresh_user_offset ({})",
             m.memorized_users, m.test_user_offset, m.fresh_user_offset);
  // Names repeat every name_space() indices: memorized and test users must not share a name.
  const int64_t n = name_space();
  const int64_t t0 = m.test_user_offset % n;
  EDGE_CHECK(m.memorized_users + m.test_users <= n && t0 >= m.memorized_users && t0 + m.test_users <= n,
             "pretrain mix: memorized users [0, {}) and test users [{}, +{}) collide in the name space of {} "
             "(choose test_user_offset so that its remainder mod {} lies after the memorized users)",
             m.memorized_users, m.test_user_offset, m.test_users, n, n);
  EDGE_CHECK(m.max_qa_per_context >= 1, "pretrain mix: max_qa_per_context must be >= 1");
}

// A user's name is protected when it is a memorized or a test user's: fresh users skip those.
bool protected_name(const PretrainMix& m, int64_t index) {
  const int64_t n = name_space();
  const int64_t x = index % n, t0 = m.test_user_offset % n;
  return x < m.memorized_users || (x >= t0 && x < t0 + m.test_users);
}

PretrainKind draw_kind(const PretrainMix& m, Rng& r) {
  const double u = r.uniform();
  if (u < m.share_general) return PretrainKind::General;
  if (u < m.share_general + m.share_lm) return PretrainKind::Lm;
  if (u < m.share_general + m.share_lm + m.share_closed_book) return PretrainKind::ClosedBook;
  return PretrainKind::Reading;
}

Rng example_rng(const PretrainMix& m, int64_t k) { return Rng(mix_hash(mix_hash(m.seed, 0x50524554), static_cast<uint64_t>(k))); }

// Memorized users are drawn again and again: keep them (per thread; generation is pure).
const User& memorized_user(const PretrainMix& m, int64_t j) {
  struct Key {
    uint64_t seed;
    int32_t nf, nd;
    double sc, so;
    int64_t j;
    bool operator<(const Key& o) const {
      return std::tie(seed, nf, nd, sc, so, j) < std::tie(o.seed, o.nf, o.nd, o.sc, o.so, o.j);
    }
  };
  thread_local std::map<Key, User> cache;
  const Key key{m.seed, m.generator.n_facts, m.generator.n_documents, m.generator.share_changed,
                m.generator.share_once, j};
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache.size() > 4096) cache.clear();
    it = cache.emplace(key, generate_user(m.seed, j, m.generator)).first;
  }
  return it->second;
}

std::string qa_line(const std::string& q, const std::string& a) { return "question: " + q + "\nanswer: " + a + "\n"; }

}  // namespace

int64_t pretrain_user(const PretrainMix& m, int64_t k, PretrainKind* kind_out) {
  check_mix(m);
  Rng r = example_rng(m, k);
  const PretrainKind kind = draw_kind(m, r);
  if (kind_out) *kind_out = kind;
  if (kind == PretrainKind::General) return -1;
  if (kind == PretrainKind::Lm || kind == PretrainKind::ClosedBook)
    return static_cast<int64_t>(below(r, static_cast<uint64_t>(m.memorized_users)));
  int64_t idx = m.fresh_user_offset + k;
  while (protected_name(m, idx)) idx += 7;
  return idx;
}

PretrainExample pretrain_example(const PretrainMix& m, int64_t k, double progress,
                                 const std::vector<std::string>& general) {
  PretrainKind kind;
  const int64_t user = pretrain_user(m, k, &kind);
  Rng r(mix_hash(example_rng(m, k).next(), 0x424f4459));  // the body's draws, independent of the kind's
  PretrainExample ex;
  if (kind == PretrainKind::General) {
    EDGE_CHECK(!general.empty(), "pretrain_example: the mix asks for general text but none was given");
    ex.push_back({pick(r, general) + "\n", true});
    return ex;
  }
  if (kind == PretrainKind::Lm) {
    const User& u = memorized_user(m, user);
    const int64_t n = static_cast<int64_t>(u.documents.size());
    const int64_t w = std::min<int64_t>(n, 1 + static_cast<int64_t>(below(r, 4)));
    const int64_t start = static_cast<int64_t>(below(r, static_cast<uint64_t>(n - w + 1)));
    std::string text = user_header(u);
    for (int64_t d = start; d < start + w; ++d) text += document_line(u.documents[d]);
    ex.push_back({text, true});
    return ex;
  }
  if (kind == PretrainKind::ClosedBook) {
    const User& u = memorized_user(m, user);
    std::vector<int32_t> all(u.documents.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
    std::vector<QaPair> pool = qa_pairs(u, all, QaUse::Pretraining);  // never a test template
    shuffle(r, pool);
    const size_t n = std::min<size_t>(pool.size(), 1 + below(r, 4));
    ex.push_back({user_header(u), true});
    for (size_t i = 0; i < n; ++i) ex.push_back({qa_line(pool[i].question, pool[i].answer), true});
    return ex;
  }

  // ---- reading comprehension: a fresh user, a context holding an anchor question's evidence ----
  const User u = generate_user(m.seed, user, m.generator);
  const int32_t cap = std::clamp<int32_t>(1 + static_cast<int32_t>(std::floor(std::clamp(progress, 0.0, 1.0) * 4.0 + 1e-9)), 1, 5);
  const int32_t lo = std::max<int32_t>(1, cap - 2);
  const int32_t n_ctx = lo + static_cast<int32_t>(below(r, static_cast<uint64_t>(cap - lo + 1)));
  std::vector<const Question*> anchors;
  for (const auto& q : u.questions)
    if (q.level <= Level::L3 && static_cast<int32_t>(q.evidence.size()) <= n_ctx) anchors.push_back(&q);
  EDGE_CHECK(!anchors.empty(), "pretrain_example: user {} has no question to read for", user);
  const Question& anchor = *pick(r, anchors);
  std::set<int32_t> ctx;
  for (const auto& group : anchor.evidence) {
    bool have = std::any_of(group.begin(), group.end(), [&](int32_t d) { return ctx.count(d) > 0; });
    if (!have) ctx.insert(pick(r, group));
  }
  while (static_cast<int32_t>(ctx.size()) < n_ctx && ctx.size() < u.documents.size())
    ctx.insert(static_cast<int32_t>(below(r, u.documents.size())));
  const std::vector<int32_t> ids(ctx.begin(), ctx.end());

  // The pairs are worded with pretraining templates: the anchor only chose the context (its evidence),
  // its test wording is never shown. The anchor's fact is asked first among equals, so it is kept.
  std::vector<QaPair> all = qa_pairs(u, ids, QaUse::Pretraining);
  const bool hop = anchor.level == Level::L3;
  const int32_t anchor_fact = anchor.facts.back();
  std::vector<QaPair> first, rest;
  for (auto& p : all) (p.fact == anchor_fact && p.two_hop == hop ? first : rest).push_back(std::move(p));
  EDGE_CHECK(!first.empty(), "pretrain_example: user {} has no pretraining question for fact '{}'", user,
             u.facts[anchor_fact].slot);
  const QaPair a0 = pick(r, first);
  shuffle(r, rest);
  // At most two questions per answer, so that a context's questions cover several of its facts.
  std::map<std::string, int> per_answer = {{a0.answer, 1}};
  std::set<std::string> seen = {a0.question};
  std::vector<std::pair<std::string, std::string>> qa;
  for (auto& p : rest)
    if (static_cast<int32_t>(qa.size()) < m.max_qa_per_context - 1 && seen.insert(p.question).second &&
        per_answer[p.answer]++ < 2)
      qa.emplace_back(std::move(p.question), std::move(p.answer));
  qa.insert(qa.begin() + static_cast<std::ptrdiff_t>(below(r, qa.size() + 1)), std::make_pair(a0.question, a0.answer));

  std::string context = user_header(u) + "context:\n";
  for (int32_t d : ids) context += document_line(u.documents[d]);
  ex.push_back({context, true});  // study-notes: keep the full LM loss on the context
  for (const auto& [q, a] : qa) ex.push_back({qa_line(q, a), true});
  return ex;
}

}  // namespace edgellm::study
