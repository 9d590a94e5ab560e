// results.csv: one row per (run, checkpoint, level) with every factor, metric, seed and git revision;
// reading, atomic appending (under a file lock), resume sets and merging of shards.
// Not the statistics (bench/study/stats.h) nor the report.
#pragma once

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace edgellm::study {

struct ResultRow {
  std::string run_id, base, compression, method;
  int rank = 0;
  double data = 1.0;
  int seed = 0;
  double lr = 0;
  int steps = 0;              // optimizer steps at this checkpoint (0 without training)
  double seconds = 0;         // training (or indexing, for RAG) wall seconds up to this checkpoint
  double cpu_seconds = NAN;   // the same work in CPU seconds of the run's process (user + system, every
                              // thread); NaN in results written before it was recorded
  int level = 0;              // 1..5 (0 in a failure row): the task kinds of benchmark.h
  int n_questions = 0;
  double em = 0, f1 = 0, rouge_l = 0;
  double score = 0;           // the level's headline: exact match (L1-L4), ROUGE-L (L5)
  double base_score = 0;      // the same compressed base, untrained and closed-book (the `none` baseline)
  double gold_score = -1;     // the base reading the gold documents (RAG methods), −1 when not measured
  double answerable = 0;      // share of the level's questions answerable from the available documents
  int n_docs = 0;             // documents available for learning
  double peak_mib = 0;        // peak resident memory of the run's process (max RSS)
  double arena_mib = 0;       // peak of edgellm's tensor arena
  double weight_mib = 0;      // the compressed weights' storage (nominal for group-int formats)
  double latency_ms = 0;      // mean time to answer one question
  double gain_per_s = 0;      // (score − base_score) / seconds
  double gain_per_mib = 0;    // (score − base_score) / peak_mib
  std::string status = "ok";  // ok | error: ... | timeout | crash: signal N
  std::string git_rev = "unknown";

  // Row key: run_id, steps, level.
  std::string key() const;
};

const std::vector<std::string>& csv_columns();
// The columns added since the first results files: a file whose header lacks exactly these still reads.
const std::vector<std::string>& added_columns();
std::string csv_header();
std::string to_csv_line(const ResultRow& r);
// Throws FormatError(file, "line N", ...) on a wrong column count or a bad number. `columns` names the
// file's columns (its header): csv_columns(), or csv_columns() without some of added_columns().
ResultRow parse_csv_line(const std::string& line, const std::string& file, int64_t line_no,
                         const std::vector<std::string>& columns = csv_columns());

// Reads a results file; an absent file is empty. Throws FormatError on a header that is neither
// csv_header() nor it without some added_columns() (schema mismatch), or a bad line.
std::vector<ResultRow> read_results(const std::string& path);
// Appends rows (writing the header first when the file is new) in one write under an flock.
void append_results(const std::string& path, const std::vector<ResultRow>& rows);
// Writes a complete file atomically.
void write_results(const std::string& path, const std::vector<ResultRow>& rows);
std::set<std::string> finished_runs(const std::vector<ResultRow>& rows);

// Joins files: rows with the same key must agree on factors and quality metrics (timings may differ;
// the first is kept), else FormatError naming both files and lines. Output sorted by key.
std::vector<ResultRow> merge_results(const std::vector<std::string>& paths);

// The git revision the binary was built from ("unknown" when it was not built from a checkout).
std::string git_revision();

}  // namespace edgellm::study
