// The benchmark's user generator: draws facts, spreads their statements over dated documents with
// distractors (changed facts: old values early, the new value later) and rated films, then builds the
// questions.
// Not the questions themselves (questions.cpp) nor the text formats (formats.cpp).
#include <algorithm>
#include <cmath>
#include <set>

#include "bench/study/generator_detail.h"
#include "runtime/error.h"

namespace edgellm::study {

namespace detail {

uint64_t mix_hash(uint64_t a, uint64_t b) {
  uint64_t z = a * 0x9e3779b97f4a7c15ULL + b + 0x632be59bd9b4e019ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t name_space() {
  return static_cast<int64_t>((male_names().size() + female_names().size()) * surnames().size());
}

// A seeded bijection of (index mod name_space): users whose indices differ by less than name_space
// never share a name, so memorized and test users (offsets chosen apart) are never confused.
std::string user_name(uint64_t seed, int64_t index) {
  const int64_t n = name_space();
  const int64_t x = ((index % n) + n) % n;
  const int64_t y = (1307 * x + static_cast<int64_t>(mix_hash(seed, 0x4e414d45) % static_cast<uint64_t>(n))) % n;
  const int64_t F = static_cast<int64_t>(male_names().size() + female_names().size());
  const int64_t f = y % F, s = y / F;
  const std::string& first = f < static_cast<int64_t>(male_names().size())
                                 ? male_names()[f]
                                 : female_names()[f - male_names().size()];
  return first + " " + surnames()[s];
}

Style user_style(uint64_t seed, int64_t index) {
  Rng r(mix_hash(mix_hash(seed, 0x5354594c45), static_cast<uint64_t>(index)));
  Style s;
  s.greeting = pick(r, greetings());
  s.signoff = pick(r, signoffs());
  std::vector<std::string> ph = pet_phrases();
  shuffle(r, ph);
  s.phrases = {ph[0], ph[1]};
  return s;
}

const Slot& slot_of(const Fact& f) {
  const int32_t i = slot_index(f.slot);
  EDGE_CHECK(i >= 0, "study generator: unknown fact slot '{}'", f.slot);
  return catalogue()[i];
}

int32_t find_fact(const User& u, const std::string& key) {
  for (size_t i = 0; i < u.facts.size(); ++i)
    if (u.facts[i].slot == key) return static_cast<int32_t>(i);
  return -1;
}

std::string fact_person(const User& u, const Fact& f) {
  const Slot& s = slot_of(f);
  if (s.relation.empty()) return "";
  const int32_t i = find_fact(u, s.relation);
  EDGE_CHECK(i >= 0, "study generator: hop fact '{}' without '{}'", f.slot, s.relation);
  return u.facts[i].value;
}

}  // namespace detail

using namespace detail;

namespace {

std::string draw_value(Rng& r, const Slot& s, std::set<std::string>& used_names) {
  if (s.list == "male" || s.list == "female" || s.list == "any") {
    const bool male = s.list == "male" || (s.list == "any" && below(r, 2) == 0);
    const Words& names = male ? male_names() : female_names();
    for (;;) {
      const std::string& n = pick(r, names);
      if (used_names.insert(n).second) return n;
    }
  }
  return pick(r, values_of(s.list));
}

// A sentence that is not about the user: filler, or a fact about someone who is not a relative.
std::string distractor(Rng& r, const std::set<std::string>& used_names) {
  if (below(r, 10) < 4) return pick(r, filler_sentences());
  std::string p;
  if (below(r, 2) == 0) {
    p = pick(r, distractor_people());
  } else {
    const Words& names = below(r, 2) ? male_names() : female_names();
    do p = pick(r, names);
    while (used_names.count(p));
  }
  std::string t = pick(r, distractor_templates());
  std::string out;
  for (size_t i = 0; i < t.size();) {
    if (t[i] != '{') {
      out += t[i++];
      continue;
    }
    const size_t j = t.find('}', i);
    std::string key = t.substr(i + 1, j - i - 1);
    if (key == "p") out += p;
    else if (key.rfind("a ", 0) == 0) out += with_article(pick(r, values_of(key.substr(2))));
    else out += pick(r, values_of(key));
    i = j + 1;
  }
  return out;
}

struct Pending {
  int32_t fact;
  int32_t version;  // index into history, or history.size() for the current value
  bool change;      // first statement of a new value: uses a change template
};

}  // namespace

User generate_user(uint64_t seed, int64_t index, const GeneratorOptions& o) {
  EDGE_CHECK(o.n_facts >= 4 && o.n_documents >= 4, "study generator: need n_facts >= 4 and n_documents >= 4");
  const auto& cat = catalogue();
  Rng r(mix_hash(seed, static_cast<uint64_t>(index)));
  User u;
  u.index = index;
  u.name = user_name(seed, index);
  std::set<std::string> used_names = {u.name.substr(0, u.name.find(' '))};

  // ---- draw slots: hop slots with their name slots first, then the rest ----
  std::vector<int32_t> hops, rest;
  for (size_t i = 0; i < cat.size(); ++i) (cat[i].relation.empty() ? rest : hops).push_back(static_cast<int32_t>(i));
  shuffle(r, hops);
  shuffle(r, rest);
  std::set<int32_t> chosen;
  const int32_t n_facts = std::min<int32_t>(o.n_facts, static_cast<int32_t>(cat.size()));
  const int32_t n_hop = std::max<int32_t>(1, static_cast<int32_t>(std::lround(n_facts * 0.15)));
  for (int32_t h : hops) {
    if (static_cast<int32_t>(chosen.size()) + 2 > n_facts / 2) break;
    if (std::count_if(chosen.begin(), chosen.end(), [&](int32_t c) { return !cat[c].relation.empty(); }) >= n_hop) break;
    chosen.insert(h);
    chosen.insert(slot_index(cat[h].relation));
  }
  for (int32_t s : rest) {
    if (static_cast<int32_t>(chosen.size()) >= n_facts) break;
    chosen.insert(s);
  }
  for (int32_t h : hops) {  // more facts asked for than the other slots hold: more relatives' facts
    const int32_t need = 1 + !chosen.count(slot_index(cat[h].relation));
    if (chosen.count(h) || static_cast<int32_t>(chosen.size()) + need > n_facts) continue;
    chosen.insert(h);
    chosen.insert(slot_index(cat[h].relation));
  }
  // Name slots first so that hop facts can refer to them; otherwise catalogue order.
  std::vector<int32_t> order(chosen.begin(), chosen.end());
  for (int32_t s : order) {
    Fact f;
    f.slot = cat[s].key;
    f.value = draw_value(r, cat[s], used_names);
    u.facts.push_back(std::move(f));
  }

  // ---- changed facts: 1 (sometimes 2) earlier values ----
  std::vector<int32_t> changeable;
  for (size_t i = 0; i < u.facts.size(); ++i)
    if (!slot_of(u.facts[i]).changes.empty()) changeable.push_back(static_cast<int32_t>(i));
  shuffle(r, changeable);
  const size_t n_changed = std::min(changeable.size(), static_cast<size_t>(std::lround(o.share_changed * n_facts)));
  std::vector<bool> changed(u.facts.size(), false);
  for (size_t k = 0; k < n_changed; ++k) {
    Fact& f = u.facts[changeable[k]];
    changed[changeable[k]] = true;
    const int n_old = below(r, 4) == 0 ? 2 : 1;
    while (static_cast<int>(f.history.size()) < n_old) {
      std::string v = pick(r, values_of(slot_of(f).list));
      if (v != f.value && std::find(f.history.begin(), f.history.end(), v) == f.history.end()) f.history.push_back(v);
    }
  }

  // ---- how often each value is stated ----
  std::vector<int32_t> unchanged;
  for (size_t i = 0; i < u.facts.size(); ++i)
    if (!changed[i]) unchanged.push_back(static_cast<int32_t>(i));
  shuffle(r, unchanged);
  const size_t n_once = std::min(unchanged.size(), static_cast<size_t>(std::lround(o.share_once * n_facts)));
  std::vector<Pending> pending;
  for (size_t i = 0; i < u.facts.size(); ++i) {
    const int32_t fi = static_cast<int32_t>(i);
    const Fact& f = u.facts[i];
    if (changed[i]) {
      for (size_t v = 0; v < f.history.size(); ++v)
        for (uint64_t t = 0, n = 1 + below(r, 2); t < n; ++t) pending.push_back({fi, static_cast<int32_t>(v), false});
      for (uint64_t t = 0, n = 1 + below(r, 2); t < n; ++t)
        pending.push_back({fi, static_cast<int32_t>(f.history.size()), t == 0});
    } else {
      const bool once = std::find(unchanged.begin(), unchanged.begin() + n_once, fi) != unchanged.begin() + n_once;
      for (uint64_t t = 0, n = once ? 1 : 2 + below(r, 2); t < n; ++t) pending.push_back({fi, 0, false});
    }
  }

  // ---- documents: fact documents plus a few distractor-only ones, in chronological order ----
  const int32_t n_fact_docs = o.n_documents;
  const int32_t n_docs = n_fact_docs + n_fact_docs / 6;
  std::vector<bool> distractor_only(n_docs, false);
  {
    std::vector<int32_t> pos(n_docs);
    for (int32_t i = 0; i < n_docs; ++i) pos[i] = i;
    shuffle(r, pos);
    for (int32_t i = 0; i < n_docs - n_fact_docs; ++i) distractor_only[pos[i]] = true;
  }
  std::vector<int32_t> fact_doc;  // fact-document rank -> document id
  for (int32_t i = 0; i < n_docs; ++i)
    if (!distractor_only[i]) fact_doc.push_back(i);

  // Two statements conflict when one is a hop fact and the other the name it hangs on: L3 needs two documents.
  std::vector<int32_t> rel_of(u.facts.size(), -1);  // fact index of a hop fact's name fact
  for (size_t i = 0; i < u.facts.size(); ++i)
    if (!slot_of(u.facts[i]).relation.empty()) rel_of[i] = find_fact(u, slot_of(u.facts[i]).relation);
  auto conflicts = [&](int32_t a, int32_t b) { return a == b || rel_of[a] == b || rel_of[b] == a; };
  const int32_t cap = std::max<int32_t>(4, static_cast<int32_t>((pending.size() + n_fact_docs - 1) / n_fact_docs) + 1);
  std::vector<std::vector<int32_t>> doc_facts(n_docs);
  std::vector<StatementRecord> recs;
  // Changed facts first (their ranges are narrow), each keeping its order of versions.
  std::stable_sort(pending.begin(), pending.end(),
                   [&](const Pending& a, const Pending& b) { return changed[a.fact] > changed[b.fact]; });
  for (const Pending& p : pending) {
    const Fact& f = u.facts[p.fact];
    const int32_t versions = static_cast<int32_t>(f.history.size()) + 1;
    const int32_t lo = p.version * n_fact_docs / versions, hi = (p.version + 1) * n_fact_docs / versions;
    int32_t best = -1;
    for (int32_t relax = 0; relax < 2 && best < 0; ++relax) {
      std::vector<int32_t> cands;
      size_t min_load = SIZE_MAX;
      for (int32_t k = lo; k < hi; ++k) {
        const auto& df = doc_facts[fact_doc[k]];
        if (!relax && static_cast<int32_t>(df.size()) >= cap) continue;
        if (std::any_of(df.begin(), df.end(), [&](int32_t g) { return conflicts(g, p.fact); })) continue;
        if (df.size() < min_load) {
          min_load = df.size();
          cands.clear();
        }
        if (df.size() <= min_load + 1) cands.push_back(fact_doc[k]);
      }
      if (!cands.empty()) best = pick(r, cands);
    }
    if (best < 0) continue;  // no room (tiny options): the statement is dropped
    doc_facts[best].push_back(p.fact);
    StatementRecord rec;
    rec.fact = p.fact;
    rec.doc = best;
    rec.current = p.version == versions - 1;
    rec.change = p.change;
    rec.version = p.version;
    rec.tmpl = static_cast<int32_t>(below(r, p.change ? slot_of(f).changes.size() : slot_of(f).states.size()));
    recs.push_back(rec);
  }
  // A changed fact's first statement of its new value must be the earliest one: keep the change
  // template on the earliest current statement.
  std::sort(recs.begin(), recs.end(), [](const StatementRecord& a, const StatementRecord& b) {
    return a.doc != b.doc ? a.doc < b.doc : a.fact < b.fact;
  });
  {
    std::set<int32_t> seen_current;
    for (auto& rec : recs) {
      if (!changed[rec.fact] || !rec.current) continue;
      const bool first = seen_current.insert(rec.fact).second;
      if (first != rec.change) {
        rec.change = first;
        rec.tmpl = static_cast<int32_t>(below(r, first ? slot_of(u.facts[rec.fact]).changes.size()
                                                       : slot_of(u.facts[rec.fact]).states.size()));
      }
    }
  }
  // Repeated statements of one value use different templates where the slot has several.
  {
    std::vector<int32_t> next(u.facts.size(), -1);
    for (auto& rec : recs) {
      if (rec.change) continue;
      const int32_t n = static_cast<int32_t>(slot_of(u.facts[rec.fact]).states.size());
      if (next[rec.fact] >= 0) rec.tmpl = next[rec.fact] % n;
      next[rec.fact] = rec.tmpl + 1;
    }
  }

  // ---- texts ----
  const Taste taste = draw_taste(seed, index, n_docs);
  const Style style = user_style(seed, index);
  std::vector<std::string> relatives;
  for (const auto& f : u.facts)
    if (!slot_of(f).rel_noun.empty()) relatives.push_back(f.value);
  int32_t day = 0;
  u.documents.resize(n_docs);
  for (int32_t d = 0; d < n_docs; ++d) {
    Document& doc = u.documents[d];
    doc.id = d;
    day += 1 + static_cast<int32_t>(below(r, 4));
    doc.day = day;
    std::vector<std::string> sentences;
    for (const auto& rec : recs) {
      if (rec.doc != d) continue;
      const Fact& f = u.facts[rec.fact];
      const Slot& s = slot_of(f);
      const std::string& value = rec.current ? f.value : f.history[rec.version];
      const std::string& tmpl = rec.change ? s.changes[rec.tmpl].text : s.states[rec.tmpl].text;
      sentences.push_back(fill(tmpl, value, fact_person(u, f)));
      if (rec.current && std::find(doc.states.begin(), doc.states.end(), rec.fact) == doc.states.end())
        doc.states.push_back(rec.fact);
    }
    for (size_t k = 0; k < taste.rated.size(); ++k)
      if (const Rating& x = taste.rated[k]; x.doc == d)
        sentences.push_back(fill_rating(rating_statements()[static_cast<size_t>(taste.templ[k])], x.title, x.genre, x.verdict));
    const size_t n_fact_sentences = sentences.size();
    size_t n_distract = n_fact_sentences == 0 ? 2 + below(r, 2) : (n_fact_sentences < 2 ? 1 : 0);
    if (sentences.size() + n_distract < 5 && below(r, 2) == 0) ++n_distract;
    for (size_t k = 0; k < n_distract; ++k) sentences.push_back(distractor(r, used_names));
    shuffle(r, sentences);
    if (below(r, 4) == 0) sentences[0] = pick(r, style.phrases) + ", " + sentences[0];
    std::string body;
    for (const auto& s : sentences) body += (body.empty() ? "" : " ") + s + ".";
    const uint64_t kind = below(r, 20);
    if (kind < 9) {
      doc.kind = "diary";
      doc.text = body;
    } else if (kind < 16) {
      doc.kind = "message";
      std::string to;
      if (!relatives.empty() && below(r, 10) < 3) {
        to = pick(r, relatives);
      } else {
        const Words& names = below(r, 2) ? male_names() : female_names();
        do to = pick(r, names);
        while (used_names.count(to));
      }
      doc.text = style.greeting + " " + to + ", " + body + " " + style.signoff + ".";
    } else {
      doc.kind = "note";
      doc.text = body;
    }
    std::sort(doc.states.begin(), doc.states.end());
  }
  for (auto& f : u.facts) {
    f.times_stated = 0;
    for (const auto& doc : u.documents)
      f.times_stated += std::count(doc.states.begin(), doc.states.end(), static_cast<int32_t>(&f - u.facts.data()));
  }
  u.ratings = taste.rated;
  build_questions(u, recs, taste, seed);
  return u;
}

std::vector<int32_t> documents_at(const User& u, double fraction, uint64_t seed) {
  EDGE_CHECK(fraction > 0 && fraction <= 1, "documents_at: fraction {} outside (0, 1]", fraction);
  const int32_t n = static_cast<int32_t>(u.documents.size());
  std::vector<int32_t> perm(n);
  for (int32_t i = 0; i < n; ++i) perm[i] = i;
  Rng r(mix_hash(mix_hash(seed, 0x444f4353), static_cast<uint64_t>(u.index)));
  shuffle(r, perm);
  const int32_t k = std::clamp<int32_t>(static_cast<int32_t>(std::lround(fraction * n)), 1, n);
  std::vector<int32_t> out(perm.begin(), perm.begin() + k);
  std::sort(out.begin(), out.end());
  return out;
}

bool answerable(const Question& q, const std::vector<int32_t>& doc_ids) {
  if (q.level == Level::L5) return true;  // its reference is the user's style, not a stated fact
  for (const auto& group : q.evidence) {
    const bool hit = std::any_of(group.begin(), group.end(), [&](int32_t d) {
      return std::find(doc_ids.begin(), doc_ids.end(), d) != doc_ids.end();
    });
    if (!hit) return false;
  }
  return !q.evidence.empty();
}

}  // namespace edgellm::study
