// The study driver: enumerates a grid (or a shard of it), skips runs already in results.csv, makes the
// compressed bases once, runs every remaining spec in its own process (`edgellm study run-one`) with
// `jobs` at a time, records failures and timeouts as rows, and renders the report.
// Not a cluster scheduler: one machine; shards + `edgellm study merge` spread a grid over many.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bench/study/grid.h"
#include "bench/study/report.h"

namespace edgellm::study {

struct StudyOptions {
  GridOptions grid;
  std::string out = "study-out";
  int shard_i = 0, shard_n = 1;
  int jobs = 0;                  // runs at once; 0: one per core
  int threads = 0;               // threads per run; 0: cores / jobs
  double run_timeout_s = 1800;   // a run past this is killed and recorded as a timeout
  bool in_process = false;       // tests: call run_one here instead of spawning (no crash isolation)
  std::string exe = "/proc/self/exe";
  bool dry_run = false;          // print the plan and the estimate, run nothing
  bool retry_failed = false;     // drop this shard's failed runs from results.csv and run them again
  std::function<void(const std::string&)> log;
};

struct StudyResult {
  int planned = 0, skipped = 0, ran = 0, failed = 0;
  double estimate_s = 0, seconds = 0;
  ReportOutput report;
};

// Estimated seconds of one run on this machine (from the base's parameter count, steps and questions).
double estimate_run_seconds(const RunSpec& s, int64_t n_params, int threads);
StudyResult run_study(const StudyOptions& o);

}  // namespace edgellm::study
