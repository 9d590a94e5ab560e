// Shared views over result rows (see analysis.h). Not a renderer.
#include "bench/study/analysis.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "bench/study/benchmark.h"
#include "bench/study/grid.h"

namespace edgellm::study {

std::string pct(const MeanCi& c) {
  if (c.n == 0) return "–";
  return c.n < 2 ? fmt::format("{:.1f}", c.mean * 100) : fmt::format("{:.1f} ± {:.1f}", c.mean * 100, c.half * 100);
}

std::string recipe_gold_note(const std::string& base) {
  namespace fs = std::filesystem;
  const fs::path b(base), dir = b.parent_path();
  const std::string stem = b.stem().string();
  const std::string size = stem.rfind("base-", 0) == 0 ? stem.substr(5) : stem;  // base-s.gguf -> recipe-s.md
  for (const fs::path& p : {dir / ("recipe-" + size + ".md"), dir / (stem + ".recipe.md"), dir / ("recipe-" + stem + ".md"),
                            dir / "recipe.md"}) {
    std::ifstream in(p);
    if (!in) continue;
    std::string line, heading, any;
    int hits = 0;
    while (std::getline(in, line)) {
      if (line.rfind("#", 0) == 0) heading = line;
      if (line.find("gold-context") == std::string::npos || line.find('%') == std::string::npos) continue;
      ++hits;
      std::string v = line;
      for (const char* strip : {"| gold-context accuracy |", "|"}) {
        const auto k = v.find(strip);
        if (k != std::string::npos) v.erase(k, std::string(strip).size());
      }
      const auto b0 = v.find_first_not_of(' '), e0 = v.find_last_not_of(' ');
      v = fmt::format("{} ({})", b0 == std::string::npos ? v : v.substr(b0, e0 - b0 + 1), p.filename().string());
      if (heading.find(stem) != std::string::npos) return v;
      if (any.empty()) any = v;
    }
    if (hits == 1) return any;
  }
  return "";
}

std::string short_base(const std::string& base) {
  const std::filesystem::path p(base);
  const auto stem = p.stem().string();
  if (stem.empty()) return base;
  // A Hugging Face folder is often just "model": its parent tells them apart (tiny-llama/model, tiny-qwen2/model).
  if (!p.has_extension() && p.has_parent_path() && p.parent_path().has_filename())
    return (p.parent_path().filename() / p.filename()).string();
  return stem;
}

Analysis::Analysis(const std::vector<ResultRow>& rows) {
  std::map<std::string, int> base_rows;
  std::set<std::string> b, m, c;
  std::set<double> d;
  std::set<int> ck;
  for (const auto& r : rows) {
    if (r.status != "ok") {
      failed.push_back(r);
      continue;
    }
    ok.push_back(r);
    ++base_rows[r.base];
    b.insert(r.base), m.insert(r.method), c.insert(r.compression), d.insert(r.data);
    if (r.steps > 0) ck.insert(r.steps);
  }
  bases = {b.begin(), b.end()}, methods = {m.begin(), m.end()}, datas = {d.begin(), d.end()};
  checkpoints = {ck.begin(), ck.end()};
  for (const auto& comp : edgellm::study::compressions())  // the grid's order
    if (c.count(comp)) compressions.push_back(comp);
  std::map<std::string, double> wmib;  // ties: the smaller base is the center
  for (const auto& r : ok)
    if (r.compression == "f32") wmib[r.base] = r.weight_mib;
  for (const auto& [base, n] : base_rows)
    if (center_base.empty() || n > base_rows[center_base] ||
        (n == base_rows[center_base] && wmib[base] < wmib[center_base]))
      center_base = base;
  for (int s : checkpoints)
    if (ref_steps == 0 || std::abs(std::log(s / 100.0)) < std::abs(std::log(ref_steps / 100.0))) ref_steps = s;
  score = tabulate(ok);
  peak = tabulate(ok, [](const ResultRow& r) { return r.peak_mib; });
  seconds = tabulate(ok, [](const ResultRow& r) { return r.seconds; });
  latency = tabulate(ok, [](const ResultRow& r) { return r.latency_ms; });
  std::vector<ResultRow> timed;
  for (const auto& r : ok)
    if (std::isfinite(r.cpu_seconds)) timed.push_back(r);
  cpu = tabulate(timed, [](const ResultRow& r) { return r.cpu_seconds; });
  // Gold-context accuracy: every RAG run of the f32 base measures it; one value per seed.
  std::map<std::string, std::map<int, std::map<int, double>>> g;  // base -> level -> seed -> value
  for (const auto& r : ok)
    if (r.gold_score >= 0 && r.compression == "f32") g[r.base][r.level][r.seed] = r.gold_score;
  for (const auto& [base, lv] : g)
    for (const auto& [level, seeds] : lv) {
      std::vector<double> v;
      for (const auto& [s, x] : seeds) v.push_back(x);
      gold[base][level] = mean_ci(v);
    }
}

Config Analysis::at(const std::string& method, const std::string& comp, double data, const std::string& base,
                    int steps) const {
  return Config{base, comp, method, data, is_training_method(method) ? steps : 0, 0.0};
}

MeanCi Analysis::level_ci(const Config& c, int level) const {
  const auto it = score.find({c, level});
  return it == score.end() ? MeanCi{} : it->second.ci();
}

MeanCi Analysis::ranking_ci(const Config& c, int level) const {
  MeanCi q = level_ci(c, level);
  if (q.n < 2 || q.half > 1e-9 || scored_by_rouge(level)) return q;
  double questions = 0;
  int rows = 0;
  for (const auto& r : ok)
    if (r.level == level && r.base == c.base && r.method == c.method && r.compression == c.compression &&
        r.data == c.data && r.steps == c.steps)
      questions += r.n_questions, ++rows;
  const double m = rows ? q.n * questions / rows : 0;  // answers behind the mean
  if (m > 0) {
    const double p = (q.mean * m + 0.5) / (m + 1);  // pulled half an answer from 0 and 1: those get an interval too
    q.half = t_quantile_975(q.n - 1) * std::sqrt(p * (1 - p) / m);
  }
  return q;
}

double Analysis::mean_of(const Table& t, const Config& c) const {
  double s = 0;
  int n = 0;
  for (int l = 1; l <= 4; ++l) {
    const auto it = t.find({c, l});
    if (it == t.end()) continue;
    for (const auto& [seed, x] : it->second.by_seed) s += x, ++n;
  }
  return n ? s / n : NAN;
}

double Analysis::cost_seconds(const Config& c) const {
  const double v = mean_of(cpu, c);
  return std::isfinite(v) ? v : mean_of(seconds, c);
}

std::string Analysis::gold_note(const std::string& base, bool with_recipe) const {
  const auto it = gold.find(base);
  if (it == gold.end()) return fmt::format("gold-context accuracy of {}: not measured (no RAG run on f32)", short_base(base));
  std::string s;
  for (int l = 1; l <= 3; ++l) {
    const auto jt = it->second.find(l);
    s += (l > 1 ? "/" : "") + (jt == it->second.end() ? std::string("–") : fmt::format("{:.0f}", jt->second.mean * 100));
  }
  const std::string recipe = with_recipe ? recipe_gold_note(base) : "";
  return fmt::format("reader {}: gold-context L1/L2/L3 = {}% (f32, measured in this study{})", short_base(base), s,
                     recipe.empty() ? "" : "; pretraining recipe: " + recipe);
}

std::vector<LevelVsNone> levels_against_none(const Analysis& a) {
  std::vector<LevelVsNone> out;
  const Config none = a.at_ref("none", "f32", 1.0, a.center_base);
  for (int l = 1; l <= kLevels; ++l) {
    const auto base_it = a.score.find({none, l});
    if (base_it == a.score.end()) continue;
    std::vector<std::pair<std::string, TTest>> tests;
    for (const auto& m : a.methods) {
      if (m == "none") continue;
      const auto it = a.score.find({a.at_ref(m, "f32", 1.0, a.center_base), l});
      if (it == a.score.end()) continue;
      std::vector<double> d;
      for (const auto& [seed, v] : it->second.by_seed)
        if (const auto b = base_it->second.by_seed.find(seed); b != base_it->second.by_seed.end()) d.push_back(v - b->second);
      tests.push_back({m, paired_t_test(d)});
    }
    if (tests.empty()) continue;
    std::vector<double> ps;
    for (const auto& x : tests) ps.push_back(x.second.p);
    const std::vector<double> adj = holm_adjust(ps);
    size_t best = 0;
    auto rank = [&](size_t i) { return std::pair{tests[i].second.estimate > 0 ? -adj[i] : -2.0, tests[i].second.estimate}; };
    for (size_t i = 1; i < tests.size(); ++i)
      if (rank(i) > rank(best)) best = i;
    LevelVsNone r;
    r.level = l, r.none = base_it->second.ci(), r.method = tests[best].first, r.test = tests[best].second;
    r.p_holm = adj[best];
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace edgellm::study
