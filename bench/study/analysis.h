// The views the report, the guidelines and the advisor share: the center point of the grid, the
// reference training budget, the reader's gold-context accuracy, and cells by factor.
// Not a renderer: numbers only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bench/study/stats.h"

namespace edgellm::study {

struct Analysis {
  std::vector<ResultRow> ok;         // rows with status ok
  std::vector<ResultRow> failed;     // one per failed run
  Table score;                       // (config, level) -> per-seed score
  Table peak, seconds, latency;      // the same cells for peak MiB, training wall seconds, ms per answer
  Table cpu;                         // training CPU seconds (rows that record them)
  std::string center_base;           // the base with the most rows
  std::vector<std::string> bases, methods, compressions;
  std::vector<double> datas;
  std::vector<int> checkpoints;      // steps seen in training rows, ascending
  int ref_steps = 0;                 // the reference budget: the checkpoint closest to 100 steps
  std::map<std::string, std::map<int, MeanCi>> gold;  // base -> level -> gold-context score (f32)

  explicit Analysis(const std::vector<ResultRow>& rows);
  bool has(const Config& c, int level) const { return score.count({c, level}) > 0; }
  // The config of method/compression/data on base at `steps` (0 for non-training methods).
  Config at(const std::string& method, const std::string& comp, double data, const std::string& base, int steps) const;
  Config at_ref(const std::string& method, const std::string& comp, double data, const std::string& base) const {
    return at(method, comp, data, base, ref_steps);
  }
  MeanCi level_ci(const Config& c, int level) const;
  // The interval configurations are ranked by (the advisor, the best per level): level_ci, except that seeds that
  // all score the same (common at a floor or with few questions: 3 seeds at 1 of 6) get the binomial interval of
  // their answers, as the verdicts' standard error does, rather than ± 0.
  MeanCi ranking_ci(const Config& c, int level) const;
  MeanCi qa_ci(const Config& c) const { return qa_cell(score, c).ci(); }
  double mean_of(const Table& t, const Config& c) const;  // mean over levels and seeds (NaN if absent)
  // The time a configuration costs: CPU seconds where the rows record them, else wall seconds.
  double cost_seconds(const Config& c) const;
  bool cpu_recorded() const { return !cpu.empty(); }
  // "gold-context L1/L2/L3 = 94/93/81% (f32)" for a base, or a note that it was not measured.
  std::string gold_note(const std::string& base, bool with_recipe = false) const;
};

// One level's best method against `none` (the untrained base) at the center point and reference budget: the
// paired t-test over seeds (method − none, same users), Holm-corrected over the methods compared at that level.
// "Best" is the most significant method above none, or the largest gain when none is above it.
struct LevelVsNone {
  int level = 0;
  MeanCi none;           // the untrained base's score
  std::string method;    // the best method
  TTest test;            // its paired difference (estimate in score units, 0-1)
  double p_holm = 1;     // Holm-adjusted over the level's methods
  bool above() const { return p_holm < 0.05 && test.estimate > 0; }
};
// Every level that has a `none` cell at the center point and at least one other method there.
std::vector<LevelVsNone> levels_against_none(const Analysis& a);

// The gold-context accuracy the base's recipe (recipe.md beside the base, written by `edgellm pretrain`)
// records, as "recipe.md: L1 94.0% ..."; empty when there is none.
std::string recipe_gold_note(const std::string& base);

std::string pct(const MeanCi& c);  // "52.3 ± 4.1"
std::string short_base(const std::string& base);

}  // namespace edgellm::study
