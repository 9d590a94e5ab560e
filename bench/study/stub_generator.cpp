// TEMPORARY stand-in for h-gen's generator (removed when branch h-gen is merged): a few facts per user,
// one document per fact, L1-L4 questions. Not the benchmark: only lets the grid and runner be tested.
#include <algorithm>
#include <numeric>
#include <random>

#include "bench/study/benchmark.h"
#include "runtime/error.h"

namespace edgellm::study {

namespace {
const char* kNames[] = {"anna", "ben", "carla", "dario", "eva", "felix", "gina", "hugo"};
const char* kCities[] = {"paris", "rome", "oslo", "lima", "kyoto", "cairo", "quito", "perth"};
const char* kPets[] = {"rex", "milo", "luna", "coco", "nala", "otto", "kiwi", "bruno"};
}  // namespace

User generate_user(uint64_t seed, int64_t index, const GeneratorOptions&) {
  std::mt19937_64 rng(seed * 1000003u + static_cast<uint64_t>(index));
  auto pick = [&](const char* const* a) { return std::string(a[rng() % 8]); };
  User u;
  u.index = index;
  u.name = pick(kNames) + " " + std::to_string(index % 1000);
  u.facts = {{"home_city", pick(kCities)}, {"pet_name", pick(kPets)}, {"sister_name", pick(kNames)}};
  const std::string a[3] = {"i live in " + u.facts[0].value, "my pet is called " + u.facts[1].value,
                            "my sister is " + u.facts[2].value};
  for (int i = 0; i < 3; ++i) u.documents.push_back({i, 3 * i + 1, "diary", a[i] + ".", {i}});
  u.questions = {
      {"u" + std::to_string(index) + "-q0", Level::L1, "where do i live?", u.facts[0].value, {{0}}},
      {"u" + std::to_string(index) + "-q1", Level::L2, "what is the name of my animal?", u.facts[1].value, {{1}}},
      {"u" + std::to_string(index) + "-q2", Level::L3, "who is my sister and where do i live?",
       u.facts[2].value + " " + u.facts[0].value, {{0}, {2}}},
      {"u" + std::to_string(index) + "-q3", Level::L4, "write a note about your pet.",
       "my pet " + u.facts[1].value + " is sleeping.", {{1}}}};
  u.heldout = {u.questions[3].answer};
  return u;
}

std::vector<int32_t> documents_at(const User& u, double fraction, uint64_t seed) {
  std::vector<int32_t> ids(u.documents.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(ids.begin(), ids.end(), rng);
  ids.resize(static_cast<size_t>(std::max<double>(1, std::round(fraction * static_cast<double>(ids.size())))));
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool answerable(const Question& q, const std::vector<int32_t>& doc_ids) {
  for (const auto& g : q.evidence) {
    bool any = false;
    for (int32_t d : g) any = any || std::find(doc_ids.begin(), doc_ids.end(), d) != doc_ids.end();
    if (!any) return false;
  }
  return true;
}

std::string user_header(const User& u) { return "user: " + u.name + "\n"; }
std::string document_text(const User& u, const Document& d) {
  return user_header(u) + d.kind + " day " + std::to_string(d.day) + ": " + d.text + "\n";
}
std::string closed_book_prompt(const User& u, const std::string& q) {
  return user_header(u) + "question: " + q + "\nanswer:";
}
std::string reading_prompt(const User& u, const std::vector<std::string>& docs, const std::string& q) {
  std::string s = user_header(u) + "context:\n";
  for (const auto& d : docs) s += d;
  return s + "question: " + q + "\nanswer:";
}
std::vector<User> load_lamp(const std::string& q, const std::string&) { fail("{}: LaMP loader not in the stub", q); }

}  // namespace edgellm::study
