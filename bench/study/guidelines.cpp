// guidelines.md: the paper's three findings judged by their pre-registered comparisons (verdicts.h), each
// with its power, plus further findings (best method per level and per memory budget, the time crossover).
// Not hand-written conclusions: every verdict comes from bench/study/verdicts.cpp.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bench/study/analysis.h"
#include "bench/study/benchmark.h"
#include "bench/study/grid.h"
#include "bench/study/verdicts.h"
#include "runtime/atomic_file.h"

namespace edgellm::study {

namespace {

std::string pp(const MeanCi& d) {
  return d.n < 2 ? fmt::format("{:+.1f} pp (n={}, no interval)", d.mean * 100, d.n)
                 : fmt::format("{:+.1f} pp [{:+.1f}, {:+.1f}] (n={})", d.mean * 100, d.lo() * 100, d.hi() * 100, d.n);
}
std::string capitalized(Outcome o) {
  std::string s = outcome_name(o);
  s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}
std::string test_line(const TTest& t) {
  return fmt::format("{:+.1f} pp, standard error {:.1f} pp (paired t over {} seeds, t = {:.2f}, df = {}, p = {:.2g})",
                     t.estimate * 100, t.se * 100, t.n, t.t, t.n - 1, t.p);
}

// One finding: the pre-registered primary comparison decides; the secondaries, Holm-corrected, are context.
std::string finding(const Analysis& a, const Verdict& v, std::string& summary) {
  const Finding& f = *v.finding;
  std::string s = fmt::format("## Finding {}: {}\n\nPrimary comparison (pre-registered in bench/study/README.md): {}. "
                              "Positive means {}.\n\n", f.number, f.claim, f.primary.label, f.direction);
  std::string verdict;
  const TTest& t = v.primary.test;
  if (!v.missing.empty()) {
    verdict = "**Inconclusive** (not testable): " + v.missing + ".";
  } else {
    verdict = fmt::format("**{}**: {}; ", capitalized(v.outcome()), test_line(t));
    verdict += v.outcome() == Outcome::Supported      ? "significant at α = 0.05 in the paper's direction."
               : v.outcome() == Outcome::Contradicted ? "significant at α = 0.05 against the paper's direction."
                                                      : "not significant at α = 0.05: these data neither support nor contradict it.";
  }
  if (f.number == 1) {
    const auto g = a.gold.find(a.center_base);
    if (g != a.gold.end() && g->second.count(1) && g->second.at(1).mean < 0.8)
      verdict += fmt::format(" Caveat: the base reads poorly (gold-context L1 {:.0f}% < 80%), so RAG is capped by the "
                             "reader rather than by retrieval.", g->second.at(1).mean * 100);
  }
  if (f.number == 2)
    verdict += fmt::format(" Learning rates: LoRA {:g}, full {:g} (the defaults; report.md's learning-rate table has the "
                           "sweep), warm-up and cosine to lr/10 at each run's last checkpoint.",
                           learning_rate_of("lora-r8"), learning_rate_of("full"));
  s += verdict + "\n\n";
  const Power pw = design_power(v);
  std::string qs;
  for (const auto& [l, n] : v.questions) qs += fmt::format("{}L{} {}", qs.empty() ? "" : ", ", l, n);
  s += fmt::format("Power of this design ({} seeds; questions per seed: {}; every question a fair coin, the largest "
                   "Bernoulli variance, cells independent given the seed; cells of one seed share its "
                   "users and questions, which usually makes the observed spread smaller): the primary comparison's per-seed SD is {:.1f} pp, its minimum detectable "
                   "effect (power ≥ {:.0f}%, two-sided α = 0.05; computed at {:.0f}% under normal noise) {}, its power "
                   "against a 10 pp effect {}.\n\n",
                   v.units, qs.empty() ? "none recorded" : qs, pw.sd * 100, kClaimedPower * 100, kDesignPower * 100,
                   !std::isfinite(pw.mde) ? std::string("undefined (fewer than 2 seeds)")
                   : pw.mde > pw.largest ? fmt::format("{:.1f} pp, more than the largest difference this comparison can show "
                                                       "({:.0f} pp): no possible effect is detectable", pw.mde * 100, pw.largest * 100)
                                         : fmt::format("{:.1f} pp", pw.mde * 100),
                   std::isfinite(pw.power_10pp) ? fmt::format("{:.0f}%", pw.power_10pp * 100) : std::string("undefined"));
  int sup = 0, con = 0;
  for (const auto& x : v.secondary) sup += x.outcome == Outcome::Supported, con += x.outcome == Outcome::Contradicted;
  if (!v.secondary.empty()) {
    s += fmt::format("Secondary comparisons ({}, Holm-corrected within this finding): {} significant in the paper's "
                     "direction, {} against it. The ten smallest p-values:\n\n| comparison | difference | p | p (Holm) |\n"
                     "|---|---|---|---|\n", v.secondary.size(), sup, con);
    std::vector<const Tested*> by_p;
    for (const auto& x : v.secondary) by_p.push_back(&x);
    std::sort(by_p.begin(), by_p.end(), [](const Tested* x, const Tested* y) { return x->test.p < y->test.p; });
    for (size_t i = 0; i < by_p.size() && i < 10; ++i)
      s += fmt::format("| {} | {:+.1f} ± {:.1f} pp | {:.2g} | {:.2g} |\n", by_p[i]->comparison.label, by_p[i]->test.estimate * 100,
                       by_p[i]->test.se * 100, by_p[i]->test.p, by_p[i]->p_holm);
    s += "\n";
  }
  summary += fmt::format("Finding {} ({}): {}{}\n", f.number, f.claim, outcome_name(v.outcome()),
                         v.missing.empty() ? fmt::format(" (primary {:+.1f} pp, p = {:.2g}; minimum detectable effect {:.0f} pp)",
                                                         t.estimate * 100, t.p, pw.mde * 100)
                                           : " (not testable: " + v.missing + ")");
  return s;
}

// The time budget at which fine-tuning overtakes retrieval: per checkpoint, the best fine-tuning method's QA
// accuracy minus the best RAG method's (center base, f32, all data), paired by seed.
std::string crossover(const Analysis& a, std::string& summary) {
  std::string s = fmt::format("\n### Fine-tuning vs RAG by time budget ({}, f32, all data)\n\n"
                              "| steps | training {} s | best FT | best RAG | FT − RAG |\n|---|---|---|---|---|\n",
                              short_base(a.center_base), a.cpu_recorded() ? "CPU" : "wall");
  std::string r, first_ahead;
  double best_rag_mean = -1;
  Cell rag;
  for (const auto& m : a.methods)
    if (is_retrieval_only(m)) {
      const Cell c = qa_cell(a.score, a.at(m, "f32", 1.0, a.center_base, 0));
      if (!c.by_seed.empty() && c.ci().mean > best_rag_mean) best_rag_mean = c.ci().mean, rag = c, r = m;
    }
  if (r.empty()) return "";
  for (int st : a.checkpoints) {
    std::string f;
    Cell ft;
    double bm = -1;
    for (const auto& m : a.methods)
      if (is_finetune_only(m)) {
        const Cell c = qa_cell(a.score, a.at(m, "f32", 1.0, a.center_base, st));
        if (!c.by_seed.empty() && c.ci().mean > bm) bm = c.ci().mean, ft = c, f = m;
      }
    if (f.empty()) continue;
    const MeanCi d = paired_diff(ft, rag);
    if (first_ahead.empty() && d.n >= 2 && d.lo() > 0) first_ahead = fmt::format("{} steps", st);
    s += fmt::format("| {} | {:.1f} | {} {} | {} {} | {} |\n", st, a.cost_seconds(a.at(f, "f32", 1.0, a.center_base, st)),
                     f, pct(ft.ci()), r, pct(rag.ci()), pp(d));
  }
  const std::string line = first_ahead.empty()
                               ? "fine-tuning is not significantly ahead of the best RAG method at any budget measured"
                               : "fine-tuning is first significantly ahead of the best RAG method (" + r + ") at " + first_ahead +
                                     "; below that, retrieval is the better or equal choice";
  summary += "  time budget: " + line + "\n";
  return s + "\nQA accuracy (L1-L3); training seconds are the best fine-tuning method's, on this machine (CPU seconds of the run's process where recorded, which machine load does not stretch): " + line + ".\n";
}

std::string further(const Analysis& a, std::string& summary) {
  std::string s = "## Further findings\n\n### Best method per level (any configuration measured)\n\n"
                  "Ranked by the lower end of the 95% interval, as the advisor ranks (a high mean from three noisy "
                  "seeds does not win; a single seed ranks last).\n\n"
                  "| level | best configuration | score | runner-up |\n|---|---|---|---|\n";
  for (int l = 1; l <= kLevels; ++l) {
    std::vector<std::pair<MeanCi, Config>> v;
    for (const auto& c : configs(a.score)) {
      const MeanCi q = a.ranking_ci(c, l);
      if (q.n) v.push_back({q, c});
    }
    if (v.empty()) continue;
    std::sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.first.rank_low() > y.first.rank_low(); });
    s += fmt::format("| L{} | {} | {} | {} |\n", l, v[0].second.label(), pct(v[0].first),
                     v.size() > 1 ? v[1].second.label() + " " + pct(v[1].first) : "–");
    summary += fmt::format("  best at L{}: {} = {}%\n", l, v[0].second.label(), pct(v[0].first));
  }
  s += "\n### Best method per memory budget (peak resident MiB of the run)\n\n| budget | best configuration | QA accuracy |\n|---|---|---|\n";
  std::vector<double> mems;
  for (const auto& c : configs(a.score)) mems.push_back(a.mean_of(a.peak, c));
  std::sort(mems.begin(), mems.end());
  mems.erase(std::remove_if(mems.begin(), mems.end(), [](double x) { return !(x > 0); }), mems.end());
  for (double q : {0.1, 0.25, 0.5, 1.0}) {
    if (mems.empty()) break;
    const double budget = mems[static_cast<size_t>(q * static_cast<double>(mems.size() - 1))];
    Config best;
    MeanCi bq;
    bq.mean = -1;
    for (const auto& c : configs(a.score)) {
      const MeanCi qa = a.qa_ci(c);
      if (qa.n && a.mean_of(a.peak, c) <= budget && qa.mean > bq.mean) bq = qa, best = c;
    }
    if (bq.n) s += fmt::format("| ≤ {:.1f} MiB | {} | {} |\n", budget, best.label(), pct(bq));
  }
  s += crossover(a, summary);
  s += "\n### RAG and the reader\n\n";
  for (const auto& b : a.bases) s += "- " + a.gold_note(b) + ": RAG cannot exceed retrieval recall × this.\n";
  return s + "\n";
}

}  // namespace

// Writes DIR/guidelines.md; returns the terminal summary.
std::string write_guidelines(const std::string& dir, const Analysis& a) {
  std::string summary;
  std::string md = "# Guidelines from the edgellm study\n\nThe three findings of Qin et al. (\"Empirical Guidelines "
                   "for Deploying LLMs onto Resource-constrained Edge Devices\") checked against this study's "
                   "results. Each finding has one primary comparison, pre-registered in bench/study/README.md (fixed "
                   "before a grid runs; results older than the pre-registration are re-judged by it, not chosen by "
                   "it), tested by a paired t-test over seeds (two-sided, α = 0.05). The rule is symmetric: "
                   "*supported* when the primary difference is significant in the paper's direction, *contradicted* "
                   "when it is significant in the opposite direction, *inconclusive* otherwise. Secondary comparisons "
                   "are Holm-corrected and never change a verdict.\n\n";
  for (const auto& v : judge(a)) md += finding(a, v, summary);
  md += further(a, summary);
  write_file_atomic(dir + "/guidelines.md", md);
  return summary;
}

}  // namespace edgellm::study
