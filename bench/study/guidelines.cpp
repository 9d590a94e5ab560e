// guidelines.md: the paper's three findings checked against the results, with numbers and 95% intervals
// computed here, plus further findings (best method per level and per memory budget).
// Not hand-written conclusions: every sentence's verdict comes from the interval arithmetic below.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bench/study/analysis.h"
#include "bench/study/grid.h"
#include "runtime/atomic_file.h"

namespace edgellm::study {

namespace {

bool is_ft(const std::string& m) { return is_training_method(m) && !is_rag_method(m); }
bool is_pure_rag(const std::string& m) { return m.rfind("rag-", 0) == 0; }
std::string chance_note(int k, int n) {
  return fmt::format("chance alone would give {:.1f} of {} (P(≥ {}) = {:.2g})", 0.025 * n, n, k, chance_of_at_least(k, n));
}

// The verdict of a finding tested by n comparisons, k of them significant in its favour: supported only when
// k is more than chance alone gives. `claim` completes "in k of n ...", `means` is the weak fallback's count.
std::string count_verdict(int k, int n, const std::string& claim, const std::string& weak, const std::string& means) {
  if (k && chance_of_at_least(k, n) < 0.05)
    return fmt::format("**Supported**: in {} of {} {}; {}.", k, n, claim, chance_note(k, n));
  return fmt::format("**{}**: in {} of {} {}, but {}; {}.", weak, k, n, claim, chance_note(k, n), means);
}

std::string pp(const MeanCi& d) {
  return d.n < 2 ? fmt::format("{:+.1f} pp (n={}, no interval)", d.mean * 100, d.n)
                 : fmt::format("{:+.1f} pp [{:+.1f}, {:+.1f}] (n={})", d.mean * 100, d.lo() * 100, d.hi() * 100, d.n);
}
// The method of a family with the best mean at a level (center base, f32, all data, reference budget).
std::string best_of(const Analysis& a, bool (*fam)(const std::string&), int level, const Cell** cell) {
  std::string best;
  double bm = -1;
  for (const auto& m : a.methods) {
    if (!fam(m)) continue;
    const auto it = a.score.find({a.at_ref(m, "f32", 1.0, a.center_base), level});
    if (it == a.score.end()) continue;
    const double v = it->second.ci().mean;
    if (v > bm) bm = v, best = m, *cell = &it->second;
  }
  return best;
}

std::string finding1(const Analysis& a, std::string& summary) {
  std::string s = "## Finding 1: the better of fine-tuning and RAG depends on task difficulty\n\n";
  s += fmt::format("Best fine-tuning method vs best RAG method per level ({}, f32, all data, {} steps; difference "
                   "fine-tuning − RAG paired by seed). {}\n\n| level | best FT | best RAG | FT − RAG |\n|---|---|---|---|\n",
                   short_base(a.center_base), a.ref_steps, a.gold_note(a.center_base));
  int ft_wins = 0, rag_wins = 0, pos = 0, neg = 0;
  std::string ft_levels, rag_levels;
  for (int l = 1; l <= 4; ++l) {
    const Cell *cf = nullptr, *cr = nullptr;
    const std::string f = best_of(a, is_ft, l, &cf), r = best_of(a, is_pure_rag, l, &cr);
    if (f.empty() || r.empty()) continue;
    const MeanCi d = paired_diff(*cf, *cr);
    s += fmt::format("| L{} | {} {} | {} {} | {} |\n", l, f, pct(cf->ci()), r, pct(cr->ci()), pp(d));
    if (d.n >= 2 && d.lo() > 0) ++ft_wins, ft_levels += fmt::format(" L{}", l);
    if (d.n >= 2 && d.hi() < 0) ++rag_wins, rag_levels += fmt::format(" L{}", l);
    pos += d.mean > 0, neg += d.mean < 0;
  }
  std::string verdict;
  const std::string where = fmt::format(" Significantly ahead: fine-tuning at{}, RAG at{}.", ft_levels.empty() ? " none" : ft_levels,
                                        rag_levels.empty() ? " none" : rag_levels);
  if (pos + neg == 0) verdict = "**Not testable**: the results lack fine-tuning or RAG runs at the center point.";
  else if (ft_wins && rag_wins) verdict = "**Supported**: fine-tuning is significantly better at some levels and RAG at others.";
  else if (pos && neg) verdict = "**Weakly supported**: the sign of the difference changes with the level, but not every difference's interval excludes zero.";
  else if (pos || neg) verdict = fmt::format("**Not supported**: {} is ahead or tied at every level measured.", pos ? "fine-tuning" : "RAG");
  else verdict = "**Not supported**: no difference at any level.";
  if (pos + neg) verdict += where;
  const auto g = a.gold.find(a.center_base);
  if (g != a.gold.end() && g->second.count(1) && g->second.at(1).mean < 0.8)
    verdict += fmt::format(" Caveat: the base reads poorly (gold-context L1 {:.0f}% < 80%), so RAG is capped by the "
                           "reader rather than by retrieval; the comparison says little about RAG itself.",
                           g->second.at(1).mean * 100);
  summary += "Finding 1 (FT vs RAG depends on difficulty): " + verdict.substr(2, verdict.find("**", 2) - 2) + "\n";
  return s + "\n" + verdict + "\n\n";
}

std::string finding2(const Analysis& a, std::string& summary) {
  std::string s = "## Finding 2: longer fine-tuning need not help\n\n"
                  "For each training method and data amount (f32): the last checkpoint minus the best earlier one "
                  "(QA accuracy, paired by seed). Picking the best earlier checkpoint favours it slightly; a clearly "
                  "negative interval still means the extra steps hurt.\n\n"
                  "| method | data | best earlier | last | last − best earlier |\n|---|---|---|---|---|\n";
  int hurt = 0, flat = 0, n = 0;
  if (a.checkpoints.size() < 2) return s + "\n**Not testable**: fewer than two checkpoints.\n\n";
  const int last = a.checkpoints.back();
  for (const auto& m : a.methods) {
    if (!is_training_method(m)) continue;
    for (double d : a.datas) {
      const Cell cl = qa_cell(a.score, a.at(m, "f32", d, a.center_base, last));
      if (cl.by_seed.empty()) continue;
      int best_s = -1;
      Cell best;
      for (size_t i = 0; i + 1 < a.checkpoints.size(); ++i) {
        const Cell c = qa_cell(a.score, a.at(m, "f32", d, a.center_base, a.checkpoints[i]));
        if (!c.by_seed.empty() && (best_s < 0 || c.ci().mean > best.ci().mean)) best = c, best_s = a.checkpoints[i];
      }
      if (best_s < 0) continue;
      const MeanCi diff = paired_diff(cl, best);
      ++n, hurt += diff.n >= 2 && diff.hi() < 0, flat += diff.mean < 0;
      s += fmt::format("| {} | {:.0f}% | {} steps: {} | {} steps: {} | {} |\n", m, d * 100, best_s, pct(best.ci()), last,
                       pct(cl.ci()), pp(diff));
    }
  }
  std::string verdict;
  if (n == 0) verdict = "**Not testable**: no training method has several checkpoints on f32.";
  else if (hurt)
    verdict = count_verdict(hurt, n, "settings the last checkpoint is significantly worse than an earlier one",
                            "Weakly supported", fmt::format("the mean fell in {} of {}", flat, n));
  else if (flat) verdict = fmt::format("**Weakly supported**: in {} of {} settings the mean fell after the best earlier checkpoint, but no decline is significant.", flat, n);
  else verdict = "**Not supported**: no setting declined after its best earlier checkpoint.";
  summary += "Finding 2 (longer FT need not help): " + verdict.substr(2, verdict.find("**", 2) - 2) + "\n";
  return s + "\n" + verdict + " Learning rates: LoRA 3e-3, full 3e-4 (fixed).\n\n";
}

std::string finding3(const Analysis& a, std::string& summary) {
  std::string s = "## Finding 3: a compressed model may learn better from little data\n\n";
  if (a.datas.empty()) return s + "**Not testable**.\n\n";
  const double d = a.datas.front();
  s += fmt::format("LoRA on each compressed base minus LoRA on f32, at the smallest data amount ({:.0f}%), per "
                   "checkpoint (QA accuracy, paired by seed).\n\n| compression | steps | compressed | f32 | difference |\n"
                   "|---|---|---|---|---|\n", d * 100);
  int better = 0, ahead = 0, n = 0;
  std::string best_line;
  double best_mean = -1;
  for (const auto& m : a.methods) {
    if (!is_ft(m) || m == "full") continue;
    for (const auto& comp : a.compressions) {
      if (comp == "f32") continue;
      for (int st : a.checkpoints) {
        const Cell cc = qa_cell(a.score, a.at(m, comp, d, a.center_base, st));
        const Cell cf = qa_cell(a.score, a.at(m, "f32", d, a.center_base, st));
        if (cc.by_seed.empty() || cf.by_seed.empty()) continue;
        const MeanCi diff = paired_diff(cc, cf);
        ++n, better += diff.n >= 2 && diff.lo() > 0, ahead += diff.mean > 0;
        const std::string line = fmt::format("| {} ({}) | {} | {} | {} | {} |\n", comp, m, st, pct(cc.ci()), pct(cf.ci()), pp(diff));
        s += line;
        if (diff.mean > best_mean) best_mean = diff.mean, best_line = line;
      }
    }
  }
  std::string verdict;
  if (n == 0) verdict = "**Not testable**: no compressed and f32 LoRA runs share a data amount and checkpoint.";
  else if (better)
    verdict = count_verdict(better, n, "comparisons the compressed base is significantly better", "Weakly supported (a hint)",
                            fmt::format("its mean is higher in {} of {}", ahead, n));
  else if (ahead) verdict = fmt::format("**Weakly supported (a hint)**: the compressed base's mean is higher in {} of {} comparisons, none significant.", ahead, n);
  else verdict = "**Not supported**: f32 is at least as good in every comparison.";
  summary += "Finding 3 (compressed learns better from little data): " + verdict.substr(2, verdict.find("**", 2) - 2) + "\n";
  return s + "\n" + verdict + "\n\n";
}

// The time budget at which fine-tuning overtakes retrieval: per checkpoint, the best fine-tuning method's QA
// accuracy minus the best RAG method's (center base, f32, all data), paired by seed.
std::string crossover(const Analysis& a, std::string& summary) {
  std::string s = fmt::format("\n### Fine-tuning vs RAG by time budget ({}, f32, all data)\n\n"
                              "| steps | training s | best FT | best RAG | FT − RAG |\n|---|---|---|---|---|\n",
                              short_base(a.center_base));
  std::string r, first_ahead;
  double best_rag_mean = -1;
  Cell rag;
  for (const auto& m : a.methods)
    if (is_pure_rag(m)) {
      const Cell c = qa_cell(a.score, a.at(m, "f32", 1.0, a.center_base, 0));
      if (!c.by_seed.empty() && c.ci().mean > best_rag_mean) best_rag_mean = c.ci().mean, rag = c, r = m;
    }
  if (r.empty()) return "";
  for (int st : a.checkpoints) {
    std::string f;
    Cell ft;
    double bm = -1;
    for (const auto& m : a.methods)
      if (is_ft(m)) {
        const Cell c = qa_cell(a.score, a.at(m, "f32", 1.0, a.center_base, st));
        if (!c.by_seed.empty() && c.ci().mean > bm) bm = c.ci().mean, ft = c, f = m;
      }
    if (f.empty()) continue;
    const MeanCi d = paired_diff(ft, rag);
    if (first_ahead.empty() && d.n >= 2 && d.lo() > 0) first_ahead = fmt::format("{} steps", st);
    s += fmt::format("| {} | {:.1f} | {} {} | {} {} | {} |\n", st, a.mean_of(a.seconds, a.at(f, "f32", 1.0, a.center_base, st)),
                     f, pct(ft.ci()), r, pct(rag.ci()), pp(d));
  }
  const std::string line = first_ahead.empty()
                               ? "fine-tuning is not significantly ahead of the best RAG method at any budget measured"
                               : "fine-tuning is first significantly ahead of the best RAG method (" + r + ") at " + first_ahead +
                                     "; below that, retrieval is the better or equal choice";
  summary += "  time budget: " + line + "\n";
  return s + "\nQA accuracy (L1-L3); training seconds are the best fine-tuning method's, on this machine: " + line + ".\n";
}

std::string further(const Analysis& a, std::string& summary) {
  std::string s = "## Further findings\n\n### Best method per level (any configuration measured)\n\n"
                  "| level | best configuration | score | runner-up |\n|---|---|---|---|\n";
  for (int l = 1; l <= 4; ++l) {
    std::vector<std::pair<MeanCi, Config>> v;
    for (const auto& c : configs(a.score)) {
      const MeanCi q = a.level_ci(c, l);
      if (q.n) v.push_back({q, c});
    }
    if (v.empty()) continue;
    std::sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.first.mean > y.first.mean; });
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
                   "results. Verdicts are computed from 95% intervals over seeds: *supported* needs intervals that "
                   "exclude zero, and where a finding is tested by many comparisons, more of them than chance alone "
                   "would give (a binomial guide at 2.5% per one-sided interval); *weakly supported* means the means "
                   "agree but the intervals do not.\n\n";
  md += finding1(a, summary);
  md += finding2(a, summary);
  md += finding3(a, summary);
  md += further(a, summary);
  write_file_atomic(dir + "/guidelines.md", md);
  return summary;
}

}  // namespace edgellm::study
