// Generated users as JSON lines: write_benchmark_jsonl (facts, documents, questions, held-out texts, for people to
// inspect) and training_records / write_training_records (what a run trains on, in edgellm's one data format).
// Not read back by the study: the generator is the source of truth.
#include <nlohmann/json.hpp>

#include "bench/study/benchmark.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"

namespace edgellm::study {

static nlohmann::json user_json(const User& u) {
  using nlohmann::json;
  json facts = json::array(), docs = json::array(), questions = json::array();
  for (const auto& f : u.facts)
    facts.push_back({{"slot", f.slot}, {"value", f.value}, {"history", f.history}, {"times_stated", f.times_stated}});
  for (const auto& d : u.documents)
    docs.push_back({{"id", d.id}, {"day", d.day}, {"kind", d.kind}, {"text", d.text}, {"states", d.states}});
  for (const auto& q : u.questions)
    questions.push_back({{"id", q.id},
                         {"level", static_cast<int>(q.level)},
                         {"text", q.text},
                         {"answer", q.answer},
                         {"evidence", q.evidence},
                         {"facts", q.facts},
                         {"about_changed_fact", q.about_changed_fact},
                         {"chance", q.chance}});
  return {{"index", u.index}, {"name", u.name},           {"facts", facts},
          {"documents", docs}, {"questions", questions}, {"heldout", u.heldout}};
}

std::vector<DataRecord> training_records(const User& u, const std::vector<int32_t>& avail, bool with_qa) {
  std::vector<DataRecord> out;
  for (int32_t i : avail) {
    const Document& d = u.documents[static_cast<size_t>(i)];
    DataRecord r;
    r.kind = DataRecord::Kind::Text;
    r.text = document_text(u, d);
    r.id = fmt::format("u{}-d{}", u.index, d.id);
    r.metadata = nlohmann::json{{"user", u.index}, {"day", d.day}, {"kind", d.kind}}.dump();
    out.push_back(std::move(r));
  }
  if (with_qa) {  // training-template QA pairs about what the available documents state (never a test question)
    int k = 0;
    for (const auto& [q, a] : qa_from_documents(u, avail)) {
      DataRecord r;
      r.kind = DataRecord::Kind::Pair;
      r.prompt = closed_book_prompt(u, q);
      r.response = " " + a + "\n";
      r.id = fmt::format("u{}-qa{}", u.index, k++);
      r.metadata = nlohmann::json{{"user", u.index}, {"kind", "qa"}}.dump();
      out.push_back(std::move(r));
    }
  }
  return out;
}

void write_training_records(uint64_t seed, int64_t first_user, int64_t n_users, const std::string& path) {
  EDGE_CHECK(n_users >= 0 && first_user >= 0, "write_training_records: bad user range {} + {}", first_user, n_users);
  AtomicFile out(path);
  for (int64_t i = first_user; i < first_user + n_users; ++i) {
    const User u = generate_user(seed, i);
    std::vector<int32_t> all(u.documents.size());
    for (size_t d = 0; d < all.size(); ++d) all[d] = static_cast<int32_t>(d);
    for (const DataRecord& r : training_records(u, all, true)) out.write(data_record_json(r) + "\n");
  }
  out.commit();
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
