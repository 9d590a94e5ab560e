// write_benchmark_jsonl: generated users as JSON lines (facts, documents, questions, held-out texts)
// for people to inspect. Not read back by anything: the generator is the source of truth.
#include <nlohmann/json.hpp>

#include "bench/study/benchmark.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"

namespace edgellm::study {

static nlohmann::json user_json(const User& u) {
  using nlohmann::json;
  json facts = json::array(), docs = json::array(), questions = json::array(), ratings = json::array();
  for (const auto& f : u.facts)
    facts.push_back({{"slot", f.slot}, {"value", f.value}, {"history", f.history}, {"times_stated", f.times_stated}});
  for (const auto& d : u.documents)
    docs.push_back({{"id", d.id}, {"day", d.day}, {"kind", d.kind}, {"text", d.text}, {"states", d.states}});
  for (const auto& x : u.ratings)
    ratings.push_back({{"title", x.title}, {"genre", x.genre}, {"verdict", x.verdict}, {"doc", x.doc}});
  for (const auto& q : u.questions)
    questions.push_back({{"id", q.id},
                         {"level", static_cast<int>(q.level)},
                         {"text", q.text},
                         {"answer", q.answer},
                         {"evidence", q.evidence},
                         {"facts", q.facts},
                         {"about_changed_fact", q.about_changed_fact},
                         {"chance", q.chance},
                         {"continues", q.continues}});
  return {{"index", u.index},  {"name", u.name},           {"facts", facts},     {"documents", docs},
          {"ratings", ratings}, {"questions", questions}, {"heldout", u.heldout}};
}

void write_benchmark_jsonl(uint64_t seed, int64_t first_user, int64_t n_users, const std::string& path) {
  EDGE_CHECK(n_users >= 0 && first_user >= 0, "write_benchmark_jsonl: bad user range {} + {}", first_user, n_users);
  AtomicFile out(path);
  for (int64_t i = first_user; i < first_user + n_users; ++i) {
    nlohmann::json j = user_json(generate_user(seed, i));
    j["seed"] = seed;
    out.write(j.dump() + "\n");
  }
  out.commit();
}

}  // namespace edgellm::study
