// One run of the study: load and compress the base, personalize it for the run's test user(s) with
// the run's method, and score every question level at every checkpoint. Not the scheduler: the driver
// (bench/study/driver.h) runs each RunSpec in its own process and collects the rows.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bench/study/benchmark.h"
#include "bench/study/grid.h"
#include "bench/study/results.h"
#include "models/runner.h"

namespace edgellm::study {

// Where the compressed copy of `base` lives in the output folder (made once, then reused).
std::string compressed_base_path(const std::string& out_dir, const std::string& base, const std::string& compression);
// Loads base compressed as asked: f32 returns the base as loaded (f16 weights widened on use);
// others are read from the cache or made (calibrated on memorized users' documents) and written to it.
Model load_compressed(const std::string& base, const std::string& compression, const std::string& out_dir,
                      const std::function<void(const std::string&)>& log = {});

// Greedy answer to a prompt: decodes until a newline or max_new tokens (24 for L1-L4, 64 for L5 replies);
// returns the trimmed text.
std::string greedy_answer(const Model& m, const std::string& prompt, int max_new);

// Runs one spec; rows: one per (checkpoint, level). out_dir holds the compressed-base cache.
std::vector<ResultRow> run_one(const RunSpec& s, const std::string& out_dir,
                               const std::function<void(const std::string&)>& log = {});

// The users of a run (user_offset + seed·users + k); tests may replace the generator.
using UserSource = std::function<User(uint64_t bench_seed, int64_t index)>;
void set_user_source(UserSource src);  // empty: generate_user

}  // namespace edgellm::study
