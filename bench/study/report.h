// report.md, guidelines.md and the figures (plots/*.png|svg) of a study, computed from results.csv rows.
// Not the runner: everything here is a function of the rows, so `edgellm study report DIR` re-renders.
#pragma once

#include <string>
#include <vector>

#include "bench/study/results.h"

namespace edgellm::study {

struct ReportOutput {
  std::string report_path, guidelines_path;
  std::vector<std::string> figures;  // stems written (without extension)
  std::string summary;               // a few lines for the terminal: best method per level with CI
};

// Writes DIR/report.md, DIR/guidelines.md and DIR/plots/. Throws Error when no row is usable.
ReportOutput write_report(const std::string& dir, const std::vector<ResultRow>& rows);

}  // namespace edgellm::study
