// The questions of a generated user: L1 (the words of a source sentence), L2 (paraphrased), L3 (two hops
// through a relative's name, stated in two documents), L4 (the rating of an unseen film from the user's
// taste), L5 (the user's next message, held out); and the fine-tuning and pretraining QA pairs from
// documents (their own templates, never a test one).
// Not the document generation (generator.cpp).
#include <algorithm>
#include <set>

#include "bench/study/generator_detail.h"
#include "runtime/error.h"

namespace edgellm::study {

using namespace detail;

namespace {

std::vector<int32_t> docs_stating(const User& u, int32_t fact) {
  std::vector<int32_t> out;
  for (const auto& d : u.documents)
    if (std::find(d.states.begin(), d.states.end(), fact) != d.states.end()) out.push_back(d.id);
  return out;
}

std::string value_or(const User& u, const std::string& key, const std::string& fallback) {
  const int32_t i = find_fact(u, key);
  return i < 0 ? fallback : u.facts[i].value;
}

// A held-out message about `topic` in the user's phrasing: greeting, pet phrases, preferences, sign-off.
std::string heldout_message(const User& u, const Style& st, const std::string& to, const std::string& topic) {
  std::vector<std::string> s;
  if (topic == "the weekend") {
    s = {"this weekend i want to cook " + value_or(u, "favorite_food", "something simple"),
         "maybe we can do some " + value_or(u, "hobby", "walking") + " together",
         "i will put on some " + value_or(u, "favorite_music", "music")};
  } else if (topic == "dinner plans") {
    s = {"let us meet at " + value_or(u, "favorite_restaurant", "my place"),
         "i will order " + value_or(u, "favorite_dessert", "something sweet") + " for us",
         "i will bring " + value_or(u, "favorite_drink", "something to drink")};
  } else if (topic == "a trip") {
    s = {"i still dream of visiting " + value_or(u, "dream_trip", "the sea"),
         "we could leave in " + value_or(u, "favorite_season", "spring"),
         "i will pack " + value_or(u, "favorite_fruit", "snacks") + " for the road"};
  } else if (topic == "my week") {
    s = {"work at " + value_or(u, "employer", "the office") + " was busy",
         find_fact(u, "swim_time") >= 0 ? "on " + value_or(u, "swim_time", "") + " i go swimming as usual"
                                        : std::string("i went for a long walk on sunday"),
         "i finally read some " + value_or(u, "favorite_book", "books")};
  } else {  // "a birthday party"
    s = {"my birthday is in " + value_or(u, "birth_month", "a few weeks"),
         "there will be " + value_or(u, "favorite_dessert", "cake") + " and " +
             value_or(u, "favorite_music", "music"),
         "please wear something " + value_or(u, "favorite_colour", "nice")};
  }
  return st.greeting + " " + to + ", " + st.phrases[0] + ", " + s[0] + ". " + s[1] + ". " + st.phrases[1] + ", " +
         s[2] + ". " + st.signoff + ".";
}

double guess_chance(const Slot& s) {
  if (s.list == "male") return 1.0 / male_names().size();
  if (s.list == "female") return 1.0 / female_names().size();
  if (s.list == "any") return 1.0 / (male_names().size() + female_names().size());
  return 1.0 / values_of(s.list).size();
}

}  // namespace

namespace detail {

void build_questions(User& u, const std::vector<StatementRecord>& recs, const Taste& taste, uint64_t seed) {
  Rng r(mix_hash(mix_hash(seed, 0x51554553), static_cast<uint64_t>(u.index)));
  auto add = [&](Question q) {
    q.id = "u" + std::to_string(u.index) + "-q" + std::to_string(u.questions.size());
    u.questions.push_back(std::move(q));
  };

  // ---- L1 / L2: the user's own facts, changed ones first so that both levels get some ----
  std::vector<int32_t> changed, plain;
  for (size_t i = 0; i < u.facts.size(); ++i) {
    const Fact& f = u.facts[i];
    if (!slot_of(f).relation.empty() || f.times_stated == 0) continue;
    (f.history.empty() ? plain : changed).push_back(static_cast<int32_t>(i));
  }
  shuffle(r, changed);
  shuffle(r, plain);
  std::vector<int32_t> order = changed;
  order.insert(order.end(), plain.begin(), plain.end());
  int32_t n1 = 0, n2 = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    const int32_t fi = order[k];
    const Fact& f = u.facts[fi];
    const Slot& s = slot_of(f);
    Level level;
    if (k % 2 == 0 && n1 < 12) level = Level::L1;
    else if (n2 < 12 && !s.l2.empty()) level = Level::L2;
    else if (n1 < 12) level = Level::L1;
    else break;
    Question q;
    q.level = level;
    q.answer = f.value;
    q.evidence = {docs_stating(u, fi)};
    q.facts = {fi};
    q.about_changed_fact = !f.history.empty();
    q.chance = guess_chance(s);
    if (level == Level::L1) {
      // The question that goes with the template of the first statement of the current value.
      const auto it = std::find_if(recs.begin(), recs.end(),
                                   [&](const StatementRecord& x) { return x.fact == fi && x.current; });
      EDGE_CHECK(it != recs.end(), "study generator: fact '{}' has no statement", f.slot);
      q.text = fill(it->change ? s.changes[it->tmpl].l1 : s.states[it->tmpl].l1, f.value);
      ++n1;
    } else {
      q.text = pick(r, s.l2);
      ++n2;
    }
    add(std::move(q));
  }

  // ---- L3: a relative's name in one document, the relative's city/job/hobby in another ----
  int32_t n3 = 0;
  for (size_t i = 0; i < u.facts.size() && n3 < 6; ++i) {
    const Fact& f = u.facts[i];
    const Slot& s = slot_of(f);
    if (s.relation.empty()) continue;
    const int32_t ni = find_fact(u, s.relation);
    const auto name_docs = docs_stating(u, ni), hop_docs = docs_stating(u, static_cast<int32_t>(i));
    if (name_docs.empty() || hop_docs.empty()) continue;
    Question q;
    q.level = Level::L3;
    q.text = fill(s.l3, "", "", slot_of(u.facts[ni]).rel_noun);
    q.answer = f.value;
    q.evidence = {name_docs, hop_docs};
    q.facts = {ni, static_cast<int32_t>(i)};
    q.chance = guess_chance(s);
    q.about_changed_fact = !f.history.empty();
    add(std::move(q));
    ++n3;
  }

  // ---- L4: an unseen film of a genre the user rated: their verdict on the genre, "great" or "awful" ----
  for (size_t k = 0; k < taste.unseen.size(); ++k) {
    const Rating& x = taste.unseen[k];
    Question q;
    q.level = Level::L4;
    q.text = fill_rating(rating_test_questions()[static_cast<size_t>(taste.question_templ[k])], x.title, x.genre, "");
    q.answer = x.verdict;
    std::vector<int32_t> ev;
    for (const Rating& y : taste.rated)
      if (y.genre == x.genre) ev.push_back(y.doc);
    std::sort(ev.begin(), ev.end());
    q.evidence = {ev};
    q.chance = 0.5;
    add(std::move(q));
  }

  // ---- L5: the user's next message, in their style; the reference is held out of the documents ----
  const Style st = user_style(seed, u.index);
  std::string to = value_or(u, "best_friend_name", "");
  for (const char* k : {"sister_name", "brother_name", "cousin_name", "colleague_name", "partner_name"})
    if (to.empty()) to = value_or(u, k, "");
  if (to.empty()) to = "Sam";
  std::vector<std::string> topics = {"the weekend", "dinner plans", "a trip", "my week", "a birthday party"};
  shuffle(r, topics);
  const int32_t last_day = u.documents.empty() ? 0 : u.documents.back().day;
  for (int t = 0; t < 3; ++t) {
    Question q;
    q.level = Level::L5;
    q.text = "write a message to " + to + " about " + topics[t] + ".";
    q.continues = "message day " + std::to_string(last_day + 1 + t) + ":";
    q.answer = heldout_message(u, st, to, topics[t]);
    u.heldout.push_back(q.answer);
    add(std::move(q));
  }
}

std::vector<QaPair> qa_pairs(const User& u, const std::vector<int32_t>& doc_ids, QaUse use) {
  std::set<int32_t> stated;
  for (int32_t d : doc_ids) {
    EDGE_CHECK(d >= 0 && d < static_cast<int32_t>(u.documents.size()), "qa_pairs: no document {}", d);
    stated.insert(u.documents[d].states.begin(), u.documents[d].states.end());
  }
  std::vector<QaPair> out;
  for (int32_t fi : stated) {
    const Fact& f = u.facts[fi];
    const Slot& s = slot_of(f);
    const std::string person = fact_person(u, f);
    for (const auto& t : use == QaUse::FineTuning ? s.train : s.pretrain)
      out.push_back({fill(t, f.value, person), f.value, fi, false});
    if (use == QaUse::Pretraining && !s.relation.empty()) {
      const int32_t ni = find_fact(u, s.relation);
      if (stated.count(ni)) out.push_back({fill(s.l3_pretrain, "", "", slot_of(u.facts[ni]).rel_noun), f.value, fi, true});
    }
  }
  const std::set<int32_t> docs(doc_ids.begin(), doc_ids.end());
  for (const Rating& x : u.ratings)
    if (docs.count(x.doc))
      for (const auto& t : use == QaUse::FineTuning ? rating_train_questions() : rating_pretrain_questions())
        out.push_back({fill_rating(t, x.title, x.genre, ""), x.verdict, -1, false});
  return out;
}

}  // namespace detail

std::vector<std::pair<std::string, std::string>> qa_from_documents(const User& u, const std::vector<int32_t>& doc_ids) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& p : qa_pairs(u, doc_ids, QaUse::FineTuning)) out.emplace_back(std::move(p.question), std::move(p.answer));
  return out;
}

}  // namespace edgellm::study
