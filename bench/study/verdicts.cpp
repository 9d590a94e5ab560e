// The findings' pre-registered comparisons, their paired t-tests, Holm-corrected secondaries and power.
// Not a search for the comparison that comes out best: the primaries are fixed in the table below.
#include "bench/study/verdicts.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "bench/study/grid.h"

namespace edgellm::study {

namespace {

Term term(double w, const std::string& method, const std::string& comp, double data, int level,
          Budget b = Budget::Reference) {
  Term t;
  t.weight = w, t.method = method, t.compression = comp, t.data = data, t.level = level, t.budget = b;
  return t;
}

// (a − b) at level `hard` minus (a − b) at level `easy`.
std::vector<Term> method_by_level(const std::string& a, const std::string& b, int hard, int easy, int steps = 0) {
  std::vector<Term> v = {term(1, a, "f32", 1.0, hard), term(-1, b, "f32", 1.0, hard), term(-1, a, "f32", 1.0, easy),
                         term(1, b, "f32", 1.0, easy)};
  for (auto& t : v) t.steps = steps;
  return v;
}
// (method on comp − method on f32) at little data minus the same at all data, QA accuracy.
std::vector<Term> compression_by_data(const std::string& m, const std::string& comp, double little, int steps = 0) {
  std::vector<Term> v = {term(1, m, comp, little, 0), term(-1, m, "f32", little, 0), term(-1, m, comp, 1.0, 0),
                         term(1, m, "f32", 1.0, 0)};
  for (auto& t : v) t.steps = steps;
  return v;
}
// An earlier checkpoint minus the last, QA accuracy.
std::vector<Term> earlier_minus_last(const std::string& m, double data, int earlier = 0) {
  std::vector<Term> v = {term(1, m, "f32", data, 0, Budget::Quarter), term(-1, m, "f32", data, 0, Budget::Last)};
  v[0].steps = earlier;
  return v;
}

}  // namespace

const std::vector<Finding>& findings() {
  static const std::vector<Finding> f = {
      {1, "the better of fine-tuning and RAG depends on the task's difficulty",
       "fine-tuning gains on RAG as questions get harder (RAG ahead on single facts, fine-tuning on composition)",
       {"(lora-r8 − rag-bm25) at L3 minus (lora-r8 − rag-bm25) at L1; f32, 100% data, reference budget",
        method_by_level("lora-r8", "rag-bm25", 3, 1)},
       "every other fine-tuning method (lora-r*, full, ft+qa) × RAG method (rag-*) × checkpoint, the same "
       "difference in differences"},
      {2, "longer fine-tuning need not help",
       "the earlier checkpoint scores higher than the last (the extra steps hurt)",
       {"lora-r8 QA accuracy at the checkpoint nearest a quarter of the last minus at the last; f32, 100% data",
        earlier_minus_last("lora-r8", 1.0)},
       "every other training method × data amount, the same difference"},
      {3, "a compressed model may learn better than an uncompressed one from little data",
       "compression costs less (or helps more) at little data than at all data",
       {"(lora-r8 on rtn4 − lora-r8 on f32) at 25% data minus the same at 100% data; QA accuracy, reference budget",
        compression_by_data("lora-r8", "rtn4", 0.25)},
       "every other compression × LoRA-trained method (not full) × checkpoint, the same difference in differences"},
  };
  return f;
}

std::string preregistration_markdown() {
  std::string s = "| finding | the paper's claim | primary comparison | positive means | secondary (Holm-corrected) |\n"
                  "|---|---|---|---|---|\n";
  for (const auto& f : findings())
    s += fmt::format("| {} | {} | {} | {} | {} |\n", f.number, f.claim, f.primary.label, f.direction, f.secondary);
  return s;
}

const char* outcome_name(Outcome o) {
  return o == Outcome::Supported ? "supported" : o == Outcome::Contradicted ? "contradicted" : "inconclusive";
}

namespace {

int resolve_steps(const Analysis& a, const Term& t) {
  if (!is_training_method(t.method)) return 0;
  if (t.steps > 0) return t.steps;
  if (a.checkpoints.empty()) return -1;
  const int last = a.checkpoints.back();
  if (t.budget == Budget::Reference) return a.ref_steps;
  if (t.budget == Budget::Last) return last;
  int best = -1;  // nearest to last/4 on a log scale, never the last itself
  for (int s : a.checkpoints)
    if (s < last && (best < 0 || std::abs(std::log(4.0 * s / last)) < std::abs(std::log(4.0 * best / last)))) best = s;
  return best;
}

// Per seed, Σ weight·value over the terms (seeds present in every term); `missing` names the first absent
// cell. `bernoulli_var`: the variance of one seed's difference from its questions alone, each answer a coin
// with its cell's mean rate, Σ w²·p(1−p)/n (QA terms: (1/9)·Σ over L1..L3).
struct PerSeed {
  std::vector<double> d;
  double bernoulli_var = 0;
};
PerSeed per_seed(const Analysis& a, const Comparison& c, const std::map<int, int>& questions, std::string* missing) {
  std::map<int, double> sum;
  std::map<int, int> seen;
  PerSeed out;
  for (const auto& t : c.terms) {
    const int steps = resolve_steps(a, t);
    const Config cfg = a.at(t.method, t.compression, t.data, a.center_base, std::max(0, steps));
    Cell cell;
    if (steps >= 0) {
      if (t.level == 0) cell = qa_cell(a.score, cfg);
      else if (const auto it = a.score.find({cfg, t.level}); it != a.score.end()) cell = it->second;
    }
    if (cell.by_seed.empty()) {
      if (missing && missing->empty()) *missing = "no results for " + cfg.label() + (t.level ? fmt::format(" at L{}", t.level) : "");
      return {};
    }
    for (const auto& [seed, x] : cell.by_seed) sum[seed] += t.weight * x, ++seen[seed];
    for (int l = t.level ? t.level : 1; l <= (t.level ? t.level : 3); ++l) {
      const auto q = questions.find(l);
      const double p = a.level_ci(cfg, l).mean, share = t.level ? 1.0 : 1.0 / 9;
      if (q != questions.end() && q->second > 0) out.bernoulli_var += t.weight * t.weight * share * p * (1 - p) / q->second;
    }
  }
  for (const auto& [seed, x] : sum)
    if (seen[seed] == static_cast<int>(c.terms.size())) out.d.push_back(x);
  return out;
}

Tested run_test(const Analysis& a, const Comparison& c, const std::map<int, int>& questions, double alpha,
                std::string* missing = nullptr) {
  Tested t;
  t.comparison = c;
  const PerSeed ps = per_seed(a, c, questions, missing);
  t.test = paired_t_test(ps.d);
  // Every seed showing the same difference (common at a floor or a ceiling, where answers are few) says
  // nothing about the spread: the t-test would call it certain. Use the questions' own sampling error.
  if (t.test.n >= 2 && t.test.se < 1e-9 && ps.bernoulli_var > 0) {
    t.test.se = std::sqrt(ps.bernoulli_var / t.test.n);
    t.test.t = t.test.estimate / t.test.se;
    t.test.p = t_two_sided_p(t.test.t, t.test.n - 1);
  }
  if (t.test.n >= 2 && t.test.p < alpha) t.outcome = t.test.estimate > 0 ? Outcome::Supported : Outcome::Contradicted;
  return t;
}

bool same_terms(const Comparison& x, const Comparison& y, const Analysis& a) {
  if (x.terms.size() != y.terms.size()) return false;
  for (size_t i = 0; i < x.terms.size(); ++i) {
    const Term &p = x.terms[i], &q = y.terms[i];
    if (p.weight != q.weight || p.method != q.method || p.compression != q.compression || p.data != q.data ||
        p.level != q.level || resolve_steps(a, p) != resolve_steps(a, q))
      return false;
  }
  return true;
}

std::vector<Comparison> secondaries(const Analysis& a, int finding) {
  std::vector<Comparison> out;
  if (finding == 1) {
    for (const auto& f : a.methods)
      for (const auto& r : a.methods)
        if (is_finetune_only(f) && is_retrieval_only(r))
          for (int st : a.checkpoints)
            out.push_back({fmt::format("({} − {}) L3 − L1, {} steps", f, r, st), method_by_level(f, r, 3, 1, st)});
  } else if (finding == 2) {
    for (const auto& m : a.methods)
      if (is_training_method(m))
        for (double d : a.datas) out.push_back({fmt::format("{} at {:.0f}% data: quarter − last", m, d * 100), earlier_minus_last(m, d)});
  } else {
    const double little = a.datas.empty() ? 0.25 : a.datas.front();
    for (const auto& m : a.methods)
      if (is_training_method(m) && m != "full")
        for (const auto& comp : a.compressions)
          if (comp != "f32")
            for (int st : a.checkpoints)
              out.push_back({fmt::format("{} on {}: {:.0f}% − 100% data, {} steps", m, comp, little * 100, st),
                             compression_by_data(m, comp, little, st)});
  }
  return out;
}

}  // namespace

std::vector<Verdict> judge(const Analysis& a, double alpha) {
  std::map<int, int> questions;
  std::set<int> seeds;
  for (const auto& r : a.ok)
    if (r.base == a.center_base) questions[r.level] = std::max(questions[r.level], r.n_questions), seeds.insert(r.seed);
  std::vector<Verdict> out;
  for (const auto& f : findings()) {
    Verdict v;
    v.finding = &f, v.questions = questions;
    v.primary = run_test(a, f.primary, questions, alpha, &v.missing);
    if (v.primary.test.n < 2 && v.missing.empty())
      v.missing = v.primary.test.n == 1 ? "a single seed: no test is possible" : "no seed is in every cell";
    v.units = v.primary.test.n >= 2 ? v.primary.test.n : static_cast<int>(seeds.size());
    std::vector<double> ps;
    for (const auto& c : secondaries(a, f.number)) {
      if (same_terms(c, f.primary, a)) continue;
      Tested t = run_test(a, c, questions, alpha);
      if (t.test.n < 2) continue;  // not measured: not part of the family
      v.secondary.push_back(t), ps.push_back(t.test.p);
    }
    const std::vector<double> adj = holm_adjust(ps);
    for (size_t i = 0; i < adj.size(); ++i) {
      Tested& t = v.secondary[i];
      t.p_holm = adj[i];
      t.outcome = adj[i] < alpha ? (t.test.estimate > 0 ? Outcome::Supported : Outcome::Contradicted) : Outcome::Inconclusive;
    }
    out.push_back(std::move(v));
  }
  return out;
}

double design_sd(const Comparison& c, const std::map<int, int>& q) {
  auto var_level = [&](int l) {
    const auto it = q.find(l);
    return it == q.end() || it->second <= 0 ? NAN : 0.25 / it->second;
  };
  double var = 0;
  for (const auto& t : c.terms) {
    const double v = t.level > 0 ? var_level(t.level) : (var_level(1) + var_level(2) + var_level(3)) / 9;
    var += t.weight * t.weight * v;
  }
  return std::sqrt(var);
}

Power design_power(const Verdict& v) {
  Power p;
  p.sd = design_sd(v.finding->primary, v.questions);
  p.mde = minimum_detectable_effect(p.sd, v.units, kDesignPower);
  p.power_10pp = t_test_power(0.10, p.sd, v.units);
  p.largest = 0;
  for (const auto& t : v.finding->primary.terms) p.largest += std::max(0.0, t.weight);
  return p;
}

}  // namespace edgellm::study
