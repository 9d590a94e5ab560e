// The advisor: from a study's results, the best measured configurations that fit a memory budget, a
// time budget and an amount of personal data, for a question level. For a base the study never ran (a model
// spec: builtin:1.1b, a .gguf, an HF folder) it predicts memory and time at that model's size with the cost model
// (bench/study/cost_model.h) and says that the quality was measured on another base. It never predicts quality.
#pragma once

#include <string>
#include <vector>

namespace edgellm::study {

struct AdviseOptions {
  double mem_mib = 0;     // peak resident memory allowed (0: any)
  double time_s = 0;      // training/indexing CPU seconds allowed (wall seconds for results without them; 0: any)
  std::string data = "100%";  // "40" or "40%": share of the user's documents; "12docs": a number of documents
  int level = 1;          // 1..4
  std::string base;       // only this base (path or stem; or a model spec the study has no results for); empty: any
  std::string cost_model; // the fitted cost model for an unmeasured base; empty: default_cost_model_path()
  std::vector<std::string> results;  // results.csv files; empty: default_results_files()
};

// The committed full study (bench/study/report/results.csv beside this source tree, or under the
// working directory) and study-out/results.csv when present.
std::vector<std::string> default_results_files(const std::string& out_dir = "study-out");

// The recommendation as printable text: the fitting configuration with the highest lower 95% bound, or a
// tie when others' intervals overlap it. Throws Error (with the command that makes results) when there are
// no results, or none for an asked base that is no model either ("no results for base X (have: A, B)");
// explains when nothing measured fits the budgets.
std::string advise(const AdviseOptions& o);

}  // namespace edgellm::study
