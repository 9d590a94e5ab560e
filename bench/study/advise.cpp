// Picks the measured configuration with the highest lower 95% bound under memory, time (CPU seconds where
// recorded) and data budgets, or calls a tie (see advise.h). Not a model of untested settings.
#include "bench/study/advise.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <set>

#include "bench/study/analysis.h"
#include "bench/study/cost_model.h"
#include "bench/study/benchmark.h"
#include "bench/study/grid.h"
#include "runtime/error.h"

namespace edgellm::study {

std::vector<std::string> default_results_files(const std::string& out_dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  const fs::path src = fs::path(__FILE__).parent_path() / "report" / "results.csv";
  for (const fs::path& p : {fs::path("bench/study/report/results.csv"), src, fs::path(out_dir) / "results.csv"}) {
    std::error_code ec;
    if (!fs::exists(p, ec)) continue;
    const std::string c = fs::weakly_canonical(p, ec).string();
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  return out;
}

namespace {

// Share of the documents: "40", "40%", "0.4" is not accepted (ambiguous); "12docs" → 12 / docs per user.
double data_fraction(const std::string& s, double docs_per_user) {
  try {
    size_t p = 0;
    const double v = std::stod(s, &p);
    const std::string unit = s.substr(p);
    if (unit.empty() || unit == "%") {
      if (v <= 0 || v > 100) fail("--data {}: a percentage must be in (0, 100]", s);
      return v / 100;
    }
    if (unit == "docs" || unit == "doc") {
      if (docs_per_user <= 0) fail("--data {}: the results do not say how many documents a user has", s);
      return std::min(1.0, v / docs_per_user);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception&) {
  }
  fail("--data \"{}\": expected a percentage (40 or 40%) or a number of documents (12docs)", s);
}

}  // namespace

std::string advise(const AdviseOptions& o) {
  if (o.level < 1 || o.level > kLevels) fail("advise: --difficulty must be L1..L{}", kLevels);
  const auto files = o.results.empty() ? default_results_files() : o.results;
  std::vector<ResultRow> rows;
  for (const auto& f : files) {
    if (!std::filesystem::exists(f)) fail("advise: {}: no such results file", f);
    auto r = read_results(f);
    rows.insert(rows.end(), r.begin(), r.end());
  }
  if (rows.empty())
    fail("advise: no study results found (looked for bench/study/report/results.csv and study-out/results.csv).\n"
         "Make them with:  edgellm study --quick            (about 10 minutes)\n"
         "            or:  edgellm study --grid full --jobs 2  (hours; see bench/study/README.md)\n"
         "then run advise again, or pass --results FILE.");
  const Analysis a(rows);
  double docs_full = 0;
  int nd = 0;
  for (const auto& r : a.ok)
    if (r.data == 1.0) docs_full += r.n_docs, ++nd;
  const double frac = data_fraction(o.data, nd ? docs_full / nd : 0);

  struct Cand {
    Config c;
    MeanCi q;
    double mem, secs, lr = 0;
    int rank = 0;
    // Ranked by the lower end of the 95% interval: a high mean from a noisy or single seed does not win.
    // One seed has no interval, so it ranks below every configuration that has one.
    double lcb() const { return q.rank_low(); }
  };
  std::set<std::string> have_bases;
  for (const auto& c : configs(a.score)) have_bases.insert(short_base(c.base));
  // A base with no results: a model whose size the cost model can price, with quality measured on the center base.
  std::optional<LlamaConfig> sized;
  CostModel cm;
  std::string cm_path, proxy;
  if (!o.base.empty() && !have_bases.count(o.base) && !std::count(a.bases.begin(), a.bases.end(), o.base)) {
    std::string have;
    for (const auto& b : have_bases) have += (have.empty() ? "" : ", ") + b;
    sized = model_config_of(o.base);
    if (!sized)
      fail("advise: no results for base {} (have: {}), and it is no model whose size could be priced (builtin:1.1b, a "
           ".gguf file, an HF folder). Run the study on it:  edgellm study --base {}", o.base, have, o.base);
    cm_path = o.cost_model.empty() ? default_cost_model_path() : o.cost_model;
    cm = load_cost_model(cm_path);
    proxy = a.center_base;
  }
  const std::optional<LlamaConfig> proxy_cfg = sized ? model_config_of(proxy) : std::nullopt;
  std::vector<Cand> fit, all;
  for (const auto& c : configs(a.score)) {
    if (sized && c.base != proxy) continue;
    if (!sized && !o.base.empty() && c.base != o.base && short_base(c.base) != o.base) continue;
    const MeanCi q = a.ranking_ci(c, o.level);
    if (q.n == 0) continue;
    Cand k{c, q, a.mean_of(a.peak, c), a.cost_seconds(c)};
    if (sized) {  // memory and time at the asked model's size; the retrieval index scales with a dense embedder
      const CostPrediction p = predict_cost(cm, *sized, c.compression, c.method, 8, 64, o.base.rfind("builtin:", 0) != 0);
      k.mem = p.peak_bytes / (1024.0 * 1024.0);
      const std::string r = retriever_of(c.method);
      const double index_s = !is_retrieval_only(c.method) ? 0
                             : r == "bm25" || !proxy_cfg ? k.secs
                             : k.secs * matmul_params(*sized) / matmul_params(*proxy_cfg);
      k.secs = c.steps * p.seconds_per_step + index_s;
    }
    for (const auto& r : a.ok)
      if (r.base == c.base && r.method == c.method && r.compression == c.compression && r.data == c.data && r.steps == c.steps) {
        k.lr = r.lr, k.rank = r.rank;
        break;
      }
    all.push_back(k);
    if ((o.mem_mib <= 0 || k.mem <= o.mem_mib) && (o.time_s <= 0 || k.secs <= o.time_s) && c.data <= frac + 1e-9)
      fit.push_back(k);
  }
  auto by_lcb = [](const Cand& x, const Cand& y) { return x.lcb() > y.lcb() || (x.lcb() == y.lcb() && x.mem < y.mem); };
  std::sort(fit.begin(), fit.end(), by_lcb);
  std::sort(all.begin(), all.end(), by_lcb);
  std::string files_s;
  for (const auto& f : files) files_s += (files_s.empty() ? "" : ", ") + f;
  const char* clock = sized || a.cpu_recorded() ? "CPU" : "wall";  // the cost model predicts CPU seconds
  const std::string on = sized ? fmt::format("{} (quality measured on {})", o.base, short_base(proxy)) : std::string();
  std::string out = !sized ? std::string() : fmt::format(
      "No study results for base {} ({:.2f}B parameters): the quality below was measured on {} (the study's center "
      "base), not on it. Memory and time are predicted for {} by the cost model {} (fitted on seeded random models; "
      "made with `{}`).\n\n", o.base, static_cast<double>(model_params(*sized)) / 1e9, short_base(proxy), o.base, cm_path,
      cm.command);
  out += fmt::format("advise: L{} questions, memory ≤ {}, training time ≤ {} ({} seconds), data {} (= {:.0f}% of a user's documents)\n"
                                "results: {} ({} configurations measured)\n\n",
                                o.level, o.mem_mib > 0 ? fmt::format("{:.0f} MiB", o.mem_mib) : "any",
                                o.time_s > 0 ? fmt::format("{:.0f} s", o.time_s) : "any", clock, o.data, frac * 100, files_s,
                                all.size());
  if (fit.empty()) {
    out += sized ? fmt::format("Nothing fits these budgets at the size of {} (memory and time predicted).", o.base)
                 : "Nothing measured fits these budgets.";
    if (!all.empty())
      out += fmt::format(" The best measured configuration needs {:.1f} MiB, {:.1f} s and {:.0f}% data: {} ({}%).",
                         all[0].mem, all[0].secs, all[0].c.data * 100, all[0].c.label(), pct(all[0].q));
    return out + "\n";
  }
  const Cand& b = fit[0];
  // Tied with the best: every fitting configuration whose interval overlaps the best's.
  std::vector<const Cand*> tied;
  for (size_t i = 1; i < fit.size(); ++i)
    if (b.q.n >= 2 && fit[i].q.n >= 2 && fit[i].q.hi() >= b.q.lo() && b.q.hi() >= fit[i].q.lo()) tied.push_back(&fit[i]);
  const std::string metric = scored_by_rouge(o.level) ? "ROUGE-L" : "exact match";
  const std::string b_on = sized ? on : short_base(b.c.base);
  if (tied.empty()) out += fmt::format("Recommended: {} on {} compressed as {}\n", b.c.method, b_on, b.c.compression);
  else
    out += fmt::format("Tie: {} configuration(s) fit whose 95% intervals overlap the best's; the measurements cannot "
                       "tell them apart, so choose among them by cost. Highest lower bound: {} on {} compressed as {}\n",
                       tied.size() + 1, b.c.method, b_on, b.c.compression);
  if (is_training_method(b.c.method))
    out += fmt::format("  hyper-parameters: {} steps, lr {:g}, {}batch 8 × 64 tokens, AdamW, warm-up + cosine to lr/10 "
                       "over the steps (constant before benchmark version 3)\n",
                       b.c.steps, b.lr, b.c.method == "full" ? "full fine-tuning, " : fmt::format("LoRA rank {} (alpha {}), ", b.rank, 2 * b.rank));
  if (is_rag_method(b.c.method)) out += fmt::format("  retrieval: {} top-4 into the reading prompt\n", retriever_of(b.c.method));
  out += fmt::format("  expected L{} {}: {}% (95% CI over {} seeds), measured with {:.0f}% of the documents\n", o.level,
                     metric, pct(b.q), b.q.n, b.c.data * 100);
  out += fmt::format("  cost: peak {:.1f} MiB, {:.1f} {} s of training/indexing{}\n", b.mem, b.secs, clock,
                     sized ? fmt::format(" (predicted for {})", o.base) : "");
  if (is_rag_method(b.c.method)) out += "  " + a.gold_note(b.c.base) + "\n";
  out += "\nWhy: the highest lower 95% bound among the measured configurations that fit";
  if (!all.empty() && all[0].c.label() != b.c.label())
    out += fmt::format("; the best overall ({}, {}%) needs {:.1f} MiB, {:.1f} s, {:.0f}% data",
                       all[0].c.label(), pct(all[0].q), all[0].mem, all[0].secs, all[0].c.data * 100);
  out += ".\n";
  if (!tied.empty()) {
    out += "Tied with it (intervals overlap):\n";
    for (const Cand* t : tied)
      out += fmt::format("  - {}: {}% ({:.1f} MiB, {:.1f} s)\n", t->c.label(), pct(t->q), t->mem, t->secs);
  }
  out += "Next that fit, by lower bound:\n";
  int shown = 0;
  for (size_t i = 1; i < fit.size() && shown < 3; ++i)
    if (std::find(tied.begin(), tied.end(), &fit[i]) == tied.end())
      out += fmt::format("  {}. {}: {}% ({:.1f} MiB, {:.1f} s)\n", ++shown + 1, fit[i].c.label(), pct(fit[i].q), fit[i].mem, fit[i].secs);
  if (shown == 0) out += "  (none)\n";
  return out;
}

}  // namespace edgellm::study
