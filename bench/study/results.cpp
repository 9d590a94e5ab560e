// results.csv reading, writing and merging (RFC 4180 quoting for fields with commas or quotes).
// Not an aggregation: rows are stored exactly as the runner made them.
#include "bench/study/results.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "bench/study/benchmark.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"

#ifndef EDGELLM_GIT_REV
#define EDGELLM_GIT_REV "unknown"
#endif

namespace edgellm::study {

std::string git_revision() { return EDGELLM_GIT_REV; }

std::string ResultRow::key() const { return fmt::format("{}|{:06d}|{}", run_id, steps, level); }

const std::vector<std::string>& csv_columns() {
  static const std::vector<std::string> c = {
      "run_id", "base", "compression", "method", "rank", "data", "seed", "lr", "steps", "seconds", "cpu_seconds", "level",
      "task", "n_questions", "em", "f1", "rouge_l", "score", "base_score", "gold_score", "answerable", "n_docs",
      "peak_mib", "arena_mib", "weight_mib", "latency_ms", "gain_per_s", "gain_per_mib", "status", "git_rev"};
  return c;
}

const std::vector<std::string>& added_columns() {
  static const std::vector<std::string> c = {"cpu_seconds", "task"};
  return c;
}

std::string csv_header() {
  std::string s;
  for (const auto& c : csv_columns()) s += (s.empty() ? "" : ",") + c;
  return s;
}

namespace {

std::string quote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) {
    if (c == '\n' || c == '\r') c = ' ';
    o += c;
    if (c == '"') o += '"';
  }
  return o + "\"";
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> f(1);
  bool in_q = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_q) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') f.back() += '"', ++i;
      else if (c == '"') in_q = false;
      else f.back() += c;
    } else if (c == '"') {
      in_q = true;
    } else if (c == ',') {
      f.emplace_back();
    } else if (c != '\r') {
      f.back() += c;
    }
  }
  return f;
}

std::string num(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : "nan"; }

}  // namespace

std::string to_csv_line(const ResultRow& r) {
  return fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                     r.run_id, quote(r.base), r.compression, quote(r.method), r.rank, num(r.data), r.seed,
                     num(r.lr), r.steps, num(r.seconds), num(r.cpu_seconds), r.level,
                     r.level >= 1 ? level_kind(r.level) : "", r.n_questions, num(r.em), num(r.f1),
                     num(r.rouge_l), num(r.score), num(r.base_score), num(r.gold_score), num(r.answerable),
                     r.n_docs, num(r.peak_mib), num(r.arena_mib), num(r.weight_mib), num(r.latency_ms),
                     num(r.gain_per_s), num(r.gain_per_mib), quote(r.status), quote(r.git_rev));
}

ResultRow parse_csv_line(const std::string& line, const std::string& file, int64_t line_no,
                         const std::vector<std::string>& columns) {
  const auto f = split_csv(line);
  const std::string where = fmt::format("line {}", line_no);
  if (f.size() != columns.size())
    throw FormatError(file, where, fmt::format("{} fields, expected {}", f.size(), columns.size()));
  std::map<std::string, size_t> at;
  for (size_t k = 0; k < columns.size(); ++k) at[columns[k]] = k;
  auto field = [&](const char* name) -> const std::string* {
    const auto it = at.find(name);
    return it == at.end() ? nullptr : &f[it->second];
  };
  auto d = [&](const char* name, double absent = NAN) {
    const std::string* s = field(name);
    if (!s) return absent;
    try {
      size_t p = 0;
      const double v = std::stod(*s, &p);
      if (p != s->size()) throw std::invalid_argument(*s);
      return v;
    } catch (const std::exception&) {
      throw FormatError(file, where, fmt::format("column {}: \"{}\" is not a number", name, *s));
    }
  };
  auto n = [&](const char* name) { return static_cast<int>(d(name)); };
  auto s = [&](const char* name) { return *field(name); };
  ResultRow r;
  r.run_id = s("run_id"), r.base = s("base"), r.compression = s("compression"), r.method = s("method");
  r.rank = n("rank"), r.data = d("data"), r.seed = n("seed"), r.lr = d("lr"), r.steps = n("steps");
  r.seconds = d("seconds"), r.cpu_seconds = d("cpu_seconds"), r.level = n("level"), r.n_questions = n("n_questions");
  r.em = d("em"), r.f1 = d("f1"), r.rouge_l = d("rouge_l"), r.score = d("score"), r.base_score = d("base_score");
  r.gold_score = d("gold_score"), r.answerable = d("answerable"), r.n_docs = n("n_docs"), r.peak_mib = d("peak_mib");
  r.arena_mib = d("arena_mib"), r.weight_mib = d("weight_mib"), r.latency_ms = d("latency_ms");
  r.gain_per_s = d("gain_per_s"), r.gain_per_mib = d("gain_per_mib"), r.status = s("status"), r.git_rev = s("git_rev");
  return r;
}

namespace {
// The file's columns from its header: the current ones, or the current ones less some added later.
std::vector<std::string> header_columns(const std::string& header, const std::string& path) {
  if (header == csv_header()) return csv_columns();
  const auto given = split_csv(header);
  std::vector<std::string> expected;
  for (const auto& c : csv_columns())
    if (std::find(given.begin(), given.end(), c) != given.end() ||
        std::find(added_columns().begin(), added_columns().end(), c) == added_columns().end())
      expected.push_back(c);
  if (given != expected)
    throw FormatError(path, "line 1", "header differs from this edgellm's results schema (" + csv_header() + ")");
  return given;
}
}  // namespace

std::vector<ResultRow> read_results(const std::string& path) {
  std::ifstream in(path);
  std::vector<ResultRow> rows;
  if (!in) return rows;
  std::string line;
  int64_t no = 0;
  std::vector<std::string> columns;
  while (std::getline(in, line)) {
    ++no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (no == 1) {
      columns = header_columns(line, path);
      continue;
    }
    if (line.empty()) continue;
    rows.push_back(parse_csv_line(line, path, no, columns));
  }
  return rows;
}

void append_results(const std::string& path, const std::vector<ResultRow>& rows) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fail("{}: cannot open for appending", path);
  if (::flock(fd, LOCK_EX) != 0) {
    ::close(fd);
    fail("{}: cannot lock", path);
  }
  std::string text;
  if (::lseek(fd, 0, SEEK_END) == 0) text = csv_header() + "\n";
  for (const auto& r : rows) text += to_csv_line(r) + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w <= 0) {
      ::close(fd);
      fail("{}: write failed (disk full?)", path);
    }
    done += static_cast<size_t>(w);
  }
  ::fsync(fd);
  ::close(fd);  // releases the lock
}

void write_results(const std::string& path, const std::vector<ResultRow>& rows) {
  std::string text = csv_header() + "\n";
  for (const auto& r : rows) text += to_csv_line(r) + "\n";
  write_file_atomic(path, text);
}

std::set<std::string> finished_runs(const std::vector<ResultRow>& rows) {
  std::set<std::string> s;
  for (const auto& r : rows) s.insert(r.run_id);
  return s;
}

namespace {
// Everything but timings and memory (which vary between two executions of the same run).
std::string identity(const ResultRow& r) {
  ResultRow c = r;
  c.seconds = c.cpu_seconds = c.peak_mib = c.arena_mib = c.latency_ms = c.gain_per_s = c.gain_per_mib = 0;
  c.git_rev.clear();
  return to_csv_line(c);
}
}  // namespace

std::vector<ResultRow> merge_results(const std::vector<std::string>& paths) {
  struct Origin {
    ResultRow row;
    std::string file;
    int64_t line;
  };
  std::map<std::string, Origin> by_key;
  for (const auto& p : paths) {
    std::ifstream probe(p);
    if (!probe) fail("merge: {}: cannot open", p);
    const auto rows = read_results(p);
    int64_t line = 1;
    for (const auto& r : rows) {
      ++line;
      auto [it, fresh] = by_key.try_emplace(r.key(), Origin{r, p, line});
      if (!fresh && identity(it->second.row) != identity(r))
        throw FormatError(p, fmt::format("line {}", line),
                          fmt::format("row {} conflicts with {} line {}", r.key(), it->second.file, it->second.line));
    }
  }
  std::vector<ResultRow> out;
  for (auto& [k, o] : by_key) out.push_back(std::move(o.row));
  return out;
}

}  // namespace edgellm::study
