// report.md and its figures: accuracy vs time budget, vs data amount, method × compression, method ×
// difficulty, base size, and the memory–accuracy frontier, each with 95% intervals over seeds.
// Not the guidelines (bench/study/guidelines.cpp) and not the statistics (bench/study/stats.h).
#include "bench/study/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "bench/study/analysis.h"
#include "bench/study/benchmark.h"
#include "bench/study/grid.h"
#include "bench/study/plot.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"

namespace edgellm::study {

std::string write_guidelines(const std::string& dir, const Analysis& a);  // guidelines.cpp

namespace {

void push(Series& s, double x, const MeanCi& c) {
  s.x.push_back(x), s.y.push_back(c.mean), s.lo.push_back(c.lo()), s.hi.push_back(c.hi());
}

struct Writer {
  const Analysis& a;
  std::string dir, md;
  std::vector<std::string> figures;

  void figure(const Figure& f, const std::string& name, const std::string& caption) {
    const std::string stem = dir + "/plots/" + name;
    if (write_figure(f, stem)) {
      figures.push_back(stem);
      md += fmt::format("![{}](plots/{}.png)\n\n*{}* ([SVG](plots/{}.svg))\n\n", f.title, name, caption, name);
    } else {
      md += fmt::format("*Figure \"{}\" skipped: this build has no cairo (install libcairo2-dev and rebuild).* {}\n\n",
                        f.title, caption);
    }
  }

  bool any_rag(const std::vector<std::string>& ms) const {
    return std::any_of(ms.begin(), ms.end(), [](const std::string& m) { return is_rag_method(m); });
  }

  // ---- accuracy vs time budget (steps and seconds) per method -------------------------------------
  void time_budget() {
    const std::string& b = a.center_base;
    md += "## Accuracy vs time budget\n\n";
    Figure fs, ft;
    fs.title = "QA accuracy vs training steps (" + short_base(b) + ", f32, all data)";
    fs.xlabel = "optimizer steps (log)", fs.ylabel = "QA accuracy (L1-L3 exact match)", fs.log_x = true;
    ft = fs;
    ft.title = "QA accuracy vs training seconds (" + short_base(b) + ", f32, all data)";
    ft.xlabel = a.cpu_recorded() ? "training CPU seconds (log)" : "training wall seconds (log)";
    std::string table = "| method | " , sep = "|---|";
    for (int s : a.checkpoints) table += fmt::format("{} steps | ", s), sep += "---|";
    table += "\n" + sep + "\n";
    for (const auto& m : a.methods) {
      Series ss{m}, st{m};
      std::string row = "| " + m + " | ";
      for (int s : a.checkpoints) {
        const Config c = a.at(m, "f32", 1.0, b, s);
        const MeanCi q = a.qa_ci(c);
        if (q.n == 0) {
          row += "– | ";
          continue;
        }
        push(ss, s, q);
        row += pct(q) + " | ";
        const double sec = a.cost_seconds(c);
        if (is_training_method(m) && sec > 0) push(st, sec, q);
      }
      if (ss.x.empty()) continue;
      if (!is_training_method(m)) ss.name += " (no training)";
      fs.series.push_back(ss);
      if (!st.x.empty()) ft.series.push_back(st);
      table += row + "\n";
    }
    md += "QA accuracy (mean of L1-L3 exact match, %, mean ± 95% CI over seeds). Methods without training "
          "are drawn flat across the budgets. Learning rates are fixed per method (LoRA 3e-3, full 3e-4).\n\n" +
          table + "\n";
    const std::string note = a.gold_note(b);
    figure(fs, "accuracy_vs_steps", "Bands: 95% CI over seeds. " + note);
    figure(ft, "accuracy_vs_seconds", "Training time measured on this machine (CPU seconds of the run's process where "
                                      "recorded); bars: 95% CI over seeds.");
  }

  // ---- accuracy vs data amount ---------------------------------------------------------------------
  void data_amount() {
    md += fmt::format("## Accuracy vs amount of personal data ({} steps for training methods)\n\n", a.ref_steps);
    Figure f;
    f.title = "QA accuracy vs data amount (" + short_base(a.center_base) + ", f32)";
    f.xlabel = "share of the user's documents available (%)", f.ylabel = "QA accuracy (L1-L3)";
    std::string t = "| method | data | QA accuracy | answerable (L1-L3) |\n|---|---|---|---|\n";
    for (const auto& m : a.methods) {
      Series s{m};
      for (double d : a.datas) {
        const Config c = a.at_ref(m, "f32", d, a.center_base);
        const MeanCi q = a.qa_ci(c);
        if (q.n == 0) continue;
        push(s, d * 100, q);
        double ans = 0;
        int n = 0;
        for (const auto& r : a.ok)
          if (r.base == c.base && r.method == m && r.compression == "f32" && r.data == d && r.level <= 3 && r.steps == c.steps)
            ans += r.answerable, ++n;
        t += fmt::format("| {} | {:.0f}% | {} | {:.0f}% |\n", m, d * 100, pct(q), n ? 100 * ans / n : 0.0);
      }
      if (s.x.size() > 1) f.series.push_back(s);
    }
    md += t + "\n";
    figure(f, "accuracy_vs_data", "Bars: 95% CI over seeds. " + a.gold_note(a.center_base));
  }

  // ---- method × compression: one figure at all data and one at the least data ----------------------
  void compression() {
    md += fmt::format("## Method × compression ({} steps for training methods)\n\n", a.ref_steps);
    std::vector<double> ds = {1.0};
    if (!a.datas.empty() && a.datas.front() < 1.0) ds.push_back(a.datas.front());
    for (double d : ds) {
      Figure f;
      f.kind = Figure::Bars;
      f.title = fmt::format("QA accuracy by compression ({}, {:.0f}% data)", short_base(a.center_base), d * 100);
      f.ylabel = "QA accuracy (L1-L3)", f.groups = a.compressions;
      std::string t = fmt::format("{:.0f}% of the documents:\n\n| method |", d * 100), sep = "|---|";
      for (const auto& c : a.compressions) t += " " + c + " |", sep += "---|";
      t += "\n" + sep + "\n";
      for (const auto& m : a.methods) {
        Series s{m};
        int have = 0;
        std::string row = "| " + m + " |";
        for (const auto& comp : a.compressions) {
          const MeanCi q = a.qa_ci(a.at_ref(m, comp, d, a.center_base));
          have += q.n > 0;
          s.y.push_back(q.n ? q.mean : NAN), s.lo.push_back(q.lo()), s.hi.push_back(q.hi());
          row += " " + pct(q) + " |";
        }
        if (have < 2) continue;
        f.series.push_back(s);
        t += row + "\n";
      }
      if (f.series.empty()) continue;
      md += t + "\n";
      figure(f, fmt::format("method_x_compression_{:.0f}", d * 100), "Bars: 95% CI over seeds. " + a.gold_note(a.center_base));
    }
    std::string wrow = "Weight storage (MiB, all weights as stored; gptq3 is packed 3-bit group-int g32 with f32 embeddings, "
                       "gptq2 2-bit with a 4-bit embedding/output matrix, rtn2 2-bit throughout): ";
    for (const auto& comp : a.compressions)
      for (const auto& r : a.ok)
        if (r.compression == comp && r.base == a.center_base) {
          wrow += fmt::format("{} {:.2f}; ", comp, r.weight_mib);
          break;
        }
    md += wrow + "\n\n";
  }

  // ---- method × difficulty --------------------------------------------------------------------------
  void difficulty() {
    md += fmt::format("## Method × difficulty ({}, f32, all data, {} steps)\n\n", short_base(a.center_base), a.ref_steps);
    Figure f;
    f.kind = Figure::Bars;
    f.title = "Score by question level (" + short_base(a.center_base) + ", f32, all data)";
    f.ylabel = "score (L1-L4 exact match, L5 ROUGE-L)", f.groups = {"L1", "L2", "L3", "L4", "L5"};
    std::string t = "| method | L1 recall | L2 paraphrase | L3 composition | L4 classification | L5 style (ROUGE-L) | token-F1 L1-L3 |\n"
                    "|---|---|---|---|---|---|---|\n";
    const Table f1 = tabulate(a.ok, [](const ResultRow& r) { return r.f1; });
    for (const auto& m : a.methods) {
      const Config c = a.at_ref(m, "f32", 1.0, a.center_base);
      Series s{m};
      std::string row = "| " + m + " |";
      int have = 0;
      for (int l = 1; l <= kLevels; ++l) {
        const MeanCi q = a.level_ci(c, l);
        have += q.n > 0;
        s.y.push_back(q.n ? q.mean : NAN), s.lo.push_back(q.lo()), s.hi.push_back(q.hi());
        row += " " + pct(q) + " |";
      }
      if (!have) continue;
      row += " " + pct(qa_cell(f1, c).ci()) + " |";
      f.series.push_back(s);
      t += row + "\n";
    }
    md += t + "\n";
    figure(f, "method_x_difficulty", "Bars: 95% CI over seeds. " + a.gold_note(a.center_base));
    above_none();
  }

  // Each level's best method against `none` (levels_against_none: the paired t-test, Holm-corrected).
  void above_none() {
    md += "### Each level against the untrained base\n\nPaired t over seeds (method − none, same users), "
          "Holm-corrected over the methods of the level; center point, reference budget.\n\n"
          "| level | task | none | best method | best − none | p (Holm) | above none |\n|---|---|---|---|---|---|---|\n";
    std::string chance_note;
    for (const LevelVsNone& r : levels_against_none(a)) {
      const int l = r.level;
      md += fmt::format("| L{} | {} ({}) | {} | {} | {:+.1f} | {} | {} |\n", l, level_kind(l),
                        scored_by_rouge(l) ? "ROUGE-L" : "accuracy", pct(r.none), r.method, 100 * r.test.estimate,
                        r.p_holm < 1e-4 ? std::string("< 1e-4") : fmt::format("{:.3g}", r.p_holm),
                        r.above() ? "yes" : "no");
      if (l == 4) {  // above none is not above chance: a constant great/awful answer scores 50%
        const MeanCi q = a.level_ci(a.at_ref(r.method, "f32", 1.0, a.center_base), 4);
        chance_note = fmt::format("L4's verdicts are balanced, so a constant answer scores 50%: {} scores {} (95% CI {} "
                                  "50%), which is {}.\n\n", r.method, pct(q), q.lo() > 0.5 ? "above" : "not above",
                                  q.lo() > 0.5 ? "taste learnt from the history" : "no evidence of taste beyond the answer format");
      }
    }
    md += "\n" + chance_note;
  }

  // ---- learning rate: the sweep at the center point ------------------------------------------------
  void learning_rate() {
    std::map<std::string, std::set<double>> lrs;  // method -> swept rates (the default is 0 in a Config)
    for (const auto& [key, cell] : a.score)
      if (key.first.lr > 0 && key.first.base == a.center_base) lrs[key.first.method].insert(key.first.lr);
    if (lrs.empty()) return;
    md += fmt::format("## Learning rate ({}, f32, all data; warm-up over a tenth of the run, cosine to lr/10 at its "
                      "last checkpoint)\n\nQA accuracy (L1-L3) and L4 accuracy at each checkpoint.\n\n"
                      "| method | lr | steps | QA accuracy | L4 classification | L5 style |\n|---|---|---|---|---|---|\n",
                      short_base(a.center_base));
    for (const auto& [m, swept] : lrs) {
      std::set<double> all = swept;
      all.insert(0.0);
      for (double lr : all)
        for (int st : a.checkpoints) {
          Config c = a.at(m, "f32", 1.0, a.center_base, st);
          c.lr = lr;
          if (!a.has(c, 1)) continue;
          md += fmt::format("| {} | {:g}{} | {} | {} | {} | {} |\n", m, lr > 0 ? lr : learning_rate_of(m), lr > 0 ? "" : " (default)",
                            st, pct(a.qa_ci(c)), pct(a.level_ci(c, 4)), pct(a.level_ci(c, 5)));
        }
    }
    md += "\n";
  }

  // ---- base size ---------------------------------------------------------------------------------------
  void bases() {
    if (a.bases.size() < 2) return;
    md += fmt::format("## Base model (f32, all data, {} steps)\n\n| method |", a.ref_steps);
    for (const auto& b : a.bases) md += " " + short_base(b) + " |";
    md += "\n|---|" + std::string() ;
    for (size_t i = 0; i < a.bases.size(); ++i) md += "---|";
    md += "\n";
    for (const auto& m : a.methods) {
      std::string row = "| " + m + " |";
      for (const auto& b : a.bases) row += " " + pct(a.qa_ci(a.at_ref(m, "f32", 1.0, b))) + " |";
      md += row + "\n";
    }
    md += "\n";
    for (const auto& b : a.bases) md += "- " + a.gold_note(b) + "\n";
    md += "\n";
  }

  // ---- memory–accuracy frontier -------------------------------------------------------------------
  void frontier() {
    md += "## Memory–accuracy frontier\n\n";
    Figure f;
    f.kind = Figure::Scatter;
    f.title = "Peak memory vs QA accuracy (every configuration and budget)";
    f.xlabel = "peak resident memory of the run (MiB)", f.ylabel = "QA accuracy (L1-L3)";
    struct P { double mem; MeanCi q; Config c; };
    std::vector<P> pts;
    std::map<std::string, Series> by_method;
    for (const auto& c : configs(a.score)) {
      const MeanCi q = a.qa_ci(c);
      const double mem = a.mean_of(a.peak, c);
      if (q.n == 0 || !(mem > 0)) continue;
      pts.push_back({mem, q, c});
      auto& s = by_method[c.method];
      s.name = c.method;
      push(s, mem, q);
    }
    for (auto& [m, s] : by_method) f.series.push_back(s);
    std::sort(pts.begin(), pts.end(), [](const P& x, const P& y) { return x.mem < y.mem || (x.mem == y.mem && x.q.mean > y.q.mean); });
    std::string t = "Pareto-optimal configurations (no other uses less memory and scores higher):\n\n"
                    "| peak MiB | QA accuracy | configuration |\n|---|---|---|\n";
    double best = -1;
    for (const auto& p : pts)
      if (p.q.mean > best) {
        best = p.q.mean;
        f.frontier.x.push_back(p.mem), f.frontier.y.push_back(p.q.mean);
        t += fmt::format("| {:.1f} | {} | {} |\n", p.mem, pct(p.q), p.c.label());
      }
    md += t + "\n";
    figure(f, "memory_frontier", "Vertical bars: 95% CI over seeds; dashed: the Pareto frontier. " + a.gold_note(a.center_base));
  }

  // ---- timing spread between the seeds of one configuration ----------------------------------------
  // The seeds of a configuration do the same work (same steps, same number of questions), so their CPU
  // seconds should agree; wall seconds also carry whatever else the machine was doing.
  void timing_spread() {
    std::vector<double> cpu_r, wall_r;
    double worst_cpu = 0, worst_wall = 0;
    std::string worst_cpu_label, worst_wall_label;
    auto ratio = [](const Table& t, const Config& c) {
      double lo = INFINITY, hi = 0;
      std::map<int, double> per_seed;  // one value per seed (the levels of a row set share it)
      for (int l = 1; l <= 4; ++l)
        if (const auto it = t.find({c, l}); it != t.end())
          for (const auto& [seed, x] : it->second.by_seed) per_seed[seed] = x;
      for (const auto& [seed, x] : per_seed) lo = std::min(lo, x), hi = std::max(hi, x);
      return per_seed.size() >= 2 && lo > 0 ? hi / lo : NAN;
    };
    for (const auto& c : configs(a.score)) {
      if (!is_training_method(c.method) || c.steps != a.ref_steps) continue;
      const double rc = ratio(a.cpu, c), rw = ratio(a.seconds, c);
      if (std::isfinite(rc)) {
        cpu_r.push_back(rc);
        if (rc > worst_cpu) worst_cpu = rc, worst_cpu_label = c.label();
      }
      if (std::isfinite(rw)) {
        wall_r.push_back(rw);
        if (rw > worst_wall) worst_wall = rw, worst_wall_label = c.label();
      }
    }
    if (wall_r.empty()) return;
    auto line = [](const char* what, std::vector<double> v, double worst, const std::string& label) {
      std::sort(v.begin(), v.end());
      const auto over2 = std::count_if(v.begin(), v.end(), [](double x) { return x > 2; });
      return fmt::format("| {} | {} | {:.2f} | {:.2f} | {} | {} |\n", what, v.size(), v[v.size() / 2], worst, over2, label);
    };
    md += fmt::format("## Timing spread between seeds ({} steps)\n\nSlowest seed ÷ fastest seed of each training "
                      "configuration's training time. Seeds of a configuration do the same work; CPU seconds of the run's "
                      "process (getrusage, user + system) should not depend on machine load, wall seconds do.\n\n"
                      "| clock | configurations | median max/min | largest max/min | configurations > 2× | largest at |\n"
                      "|---|---|---|---|---|---|\n", a.ref_steps);
    if (!cpu_r.empty()) md += line("CPU", cpu_r, worst_cpu, worst_cpu_label);
    else md += "| CPU | 0 | – | – | – | not recorded in these results |\n";
    md += line("wall", wall_r, worst_wall, worst_wall_label) + "\n";
  }

  void efficiency() {
    md += "## Learning efficiency and inference latency (f32, all data)\n\n"
          "Gain = QA accuracy minus the untrained base's closed-book accuracy (percentage points).\n\n"
          "| method | steps | train CPU s | train wall s | gain (pp) | gain pp/s (CPU s where recorded) | gain pp/MiB | peak MiB | ms/answer |\n"
          "|---|---|---|---|---|---|---|---|---|\n";
    const Table gain = tabulate(a.ok, [](const ResultRow& r) { return r.score - r.base_score; });
    for (const auto& c : configs(a.score)) {
      if (c.base != a.center_base || c.compression != "f32" || c.data != 1.0) continue;
      const MeanCi g = qa_cell(gain, c).ci();
      const double sec = a.cost_seconds(c), wall = a.mean_of(a.seconds, c), mem = a.mean_of(a.peak, c);
      md += fmt::format("| {} | {} | {} | {:.2f} | {} | {} | {:.3f} | {:.1f} | {:.1f} |\n", c.method, c.steps,
                        std::isfinite(a.mean_of(a.cpu, c)) ? fmt::format("{:.2f}", sec) : "–", wall, pct(g),
                        // Below 10 ms (a BM25 index) the quotient is a timer artefact, not a rate worth comparing.
                        sec >= 0.01 ? fmt::format("{:.2f}", g.mean * 100 / sec) : sec > 0 ? "≫ 100 (< 0.01 s)" : "–",
                        g.mean * 100 / mem, mem,
                        a.mean_of(a.latency, c));
    }
    md += "\n";
  }
};

}  // namespace

ReportOutput write_report(const std::string& dir, const std::vector<ResultRow>& rows) {
  const Analysis a(rows);
  if (rows.empty()) fail("study report: {}: results.csv has no rows", dir);
  std::filesystem::create_directories(dir + "/plots");
  if (a.ok.empty()) {  // every run failed: say so, list why
    std::string md = fmt::format("# edgellm study report\n\nNo run succeeded ({} failed).\n\n"
                                 "| run | method | compression | status |\n|---|---|---|---|\n", a.failed.size());
    for (const auto& r : a.failed) md += fmt::format("| {} | {} | {} | {} |\n", r.run_id, r.method, r.compression, r.status);
    ReportOutput out{dir + "/report.md", dir + "/guidelines.md", {}, "no run succeeded: see the failures in report.md\n"};
    write_file_atomic(out.report_path, md);
    write_file_atomic(out.guidelines_path, "# Guidelines from the edgellm study\n\nNo run succeeded; nothing to conclude.\n");
    return out;
  }
  Writer w{a, dir, "", {}};
  std::set<std::string> runs, revs;
  for (const auto& r : rows) runs.insert(r.run_id), revs.insert(r.git_rev);
  std::string rev_list;
  for (const auto& r : revs) rev_list += (rev_list.empty() ? "" : ", ") + r;
  w.md = fmt::format(
      "# edgellm study report\n\n{} runs, {} rows ({} failed runs), git revision(s): {}.\n"
      "Bases: {}. Center point: {}, f32, 100% data, {} steps. Every number is mean ± 95% CI "
      "(Student t over seeds; ± omitted when there is a single seed). QA accuracy = mean of the L1-L3 "
      "exact-match rates (fact recall, paraphrased recall, composition); L4 (classification from the user's "
      "rated films) is scored by accuracy, L5 (the user's next message) by ROUGE-L against held-out text.\n\n",
      runs.size(), rows.size(), a.failed.size(), rev_list, [&] {
        std::string s;
        for (const auto& b : a.bases) s += (s.empty() ? "" : ", ") + short_base(b);
        return s;
      }(), short_base(a.center_base), a.ref_steps);
  for (const auto& b : a.bases) w.md += "- " + a.gold_note(b, true) + "\n";
  w.md += "\nSee [guidelines.md](guidelines.md) for the paper's three findings checked against these numbers.\n\n";
  if (!plots_available()) w.md += "*Plots were skipped: this build has no cairo.*\n\n";
  w.time_budget();
  w.difficulty();
  w.learning_rate();
  w.data_amount();
  w.compression();
  w.bases();
  w.frontier();
  w.efficiency();
  w.timing_spread();
  if (!a.failed.empty()) {
    w.md += "## Failed runs\n\n| run | method | compression | status |\n|---|---|---|---|\n";
    for (const auto& r : a.failed) w.md += fmt::format("| {} | {} | {} | {} |\n", r.run_id, r.method, r.compression, r.status);
  }
  ReportOutput out;
  out.report_path = dir + "/report.md";
  write_file_atomic(out.report_path, w.md);
  out.figures = w.figures;
  out.guidelines_path = dir + "/guidelines.md";
  out.summary = write_guidelines(dir, a);
  return out;
}

}  // namespace edgellm::study
