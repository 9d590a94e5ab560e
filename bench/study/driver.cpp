// Runs a grid: resume set, compressed-base cache, one child process per run, rows appended by the driver.
// Not crash-proof against the driver itself dying mid-append: appends are single flock'ed writes.
#include "bench/study/driver.h"

#include <fmt/format.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "bench/study/results.h"
#include "bench/study/run.h"
#include "runtime/error.h"

extern char** environ;

namespace edgellm::study {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

ResultRow failure_row(const RunSpec& s, const std::string& status) {
  ResultRow r;
  r.run_id = s.run_id(), r.base = s.base, r.compression = s.compression, r.method = s.method;
  r.rank = s.rank, r.data = s.data, r.seed = s.seed, r.lr = s.lr, r.status = status, r.git_rev = git_revision();
  return r;
}
}  // namespace

double estimate_run_seconds(const RunSpec& s, int64_t P, int threads) {
  // Calibrated on the 2-core Xeon this was written on, idle, two runs at once (the full grid on base-s 1.05M
  // and base-m 2.95M: 204 runs in 529 s): ~40 GFLOP/s per thread in training (6·P·B·T FLOPs a step),
  // ~10 ms per answer at 1M parameters (39 questions a pass, three of them 64-token messages). A busy
  // machine takes 2-4x longer.
  const double rate = 4e10 * std::max(1, threads), p = static_cast<double>(P);
  const int steps = s.checkpoints.empty() ? 0 : s.checkpoints.back();
  const double passes = 1 + (s.checkpoints.empty() ? 1 : static_cast<double>(s.checkpoints.size())) +
                        (is_rag_method(s.method) ? 1 : 0);
  const double answer_s = 0.005 + 0.5e-8 * p / std::max(1, threads);
  return s.users * (0.5 + steps * 6 * p * s.batch * s.seq_len / rate + passes * 42 * answer_s);
}

StudyResult run_study(const StudyOptions& o) {
  auto log = [&](const std::string& s) {
    if (o.log) o.log(s);
  };
  const auto t_start = Clock::now();
  StudyResult res;
  std::filesystem::create_directories(o.out + "/logs");
  std::filesystem::create_directories(o.out + "/tmp");
  const std::string csv = o.out + "/results.csv";
  std::vector<RunSpec> runs = shard(enumerate_grid(o.grid), o.shard_i, o.shard_n);
  res.planned = static_cast<int>(runs.size());
  std::vector<ResultRow> previous = read_results(csv);
  if (o.retry_failed && !o.dry_run) {  // a failed run is a row like any other: resuming alone would skip it
    std::set<std::string> mine, dropped;
    for (const auto& r : runs) mine.insert(r.run_id());
    std::vector<ResultRow> kept;
    for (auto& r : previous)
      if (r.status != "ok" && mine.count(r.run_id)) dropped.insert(r.run_id);
      else kept.push_back(std::move(r));
    if (!dropped.empty()) {
      write_results(csv, kept);
      log(fmt::format("study: --retry-failed: {} failed run(s) dropped from {}, to run again", dropped.size(), csv));
    }
    previous = std::move(kept);
  }
  const std::set<std::string> done = finished_runs(previous);
  std::vector<RunSpec> todo;
  for (auto& r : runs)
    if (done.count(r.run_id())) ++res.skipped;
    else todo.push_back(r);
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int jobs = o.jobs > 0 ? o.jobs : hw;
  const int threads = o.threads > 0 ? o.threads : std::max(1, hw / jobs);

  std::map<std::string, int64_t> params;  // base -> parameters (from the mapped file: cheap)
  for (const auto& r : runs)
    if (!params.count(r.base)) params[r.base] = load_model(r.base).llama.n_params();
  for (const auto& r : todo) res.estimate_s += estimate_run_seconds(r, params[r.base], threads) / jobs;
  log(fmt::format("study: grid {} shard {}/{}: {} runs planned, {} already in {}, {} to run; estimated {:.0f} s "
                  "with {} job(s) × {} thread(s)", o.grid.name, o.shard_i, o.shard_n, res.planned, res.skipped, csv,
                  todo.size(), res.estimate_s, jobs, threads));
  if (o.dry_run) return res;

  // Compressed bases, each made once (here, before the children that read them start).
  std::set<std::pair<std::string, std::string>> comps;
  for (const auto& r : todo) comps.insert({r.base, r.compression});
  for (const auto& [b, c] : comps) {
    try {
      load_compressed(b, c, o.out, log);
    } catch (const std::exception& e) {
      log(fmt::format("study: compressing {} as {} failed: {}", b, c, e.what()));
    }
  }

  size_t next = 0, finished = 0;
  auto record = [&](const RunSpec& s, std::vector<ResultRow> rows, double secs) {
    ++finished, ++res.ran;
    const bool ok = !rows.empty() && rows[0].status == "ok";
    if (!ok) ++res.failed;
    append_results(csv, rows);
    std::string brief;
    if (ok)
      for (const auto& r : rows)
        if (r.steps == rows.back().steps) brief += fmt::format(" L{} {:.2f}", r.level, r.score);
    log(fmt::format("[{}/{}] {} {} {} data {:.2f} seed {}: {} in {:.1f} s{}", finished, todo.size(), s.run_id(),
                    s.method, s.compression, s.data, s.seed, ok ? "ok" : rows[0].status, secs, brief));
  };

  if (o.in_process) {
    for (auto s : todo) {
      s.threads = threads;
      const auto t0 = Clock::now();
      std::vector<ResultRow> rows;
      try {
        rows = run_one(s, o.out);
      } catch (const std::exception& e) {
        rows = {failure_row(s, std::string("error: ") + e.what())};
      }
      record(s, rows, since(t0));
    }
  } else {
    struct Child {
      RunSpec spec;
      Clock::time_point start;
      std::string rows_path;
    };
    std::map<pid_t, Child> running;
    while (next < todo.size() || !running.empty()) {
      while (next < todo.size() && static_cast<int>(running.size()) < jobs) {
        RunSpec s = todo[next++];
        s.threads = threads;
        const std::string id = s.run_id(), rows_path = o.out + "/tmp/" + id + ".csv",
                          log_path = o.out + "/logs/" + id + ".log";
        std::filesystem::remove(rows_path);
        const std::string spec = s.to_json(), th = std::to_string(threads);
        std::vector<std::string> args = {o.exe, "-t", th, "study", "run-one", "--spec", spec, "--out", o.out, "--rows", rows_path};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        pid_t pid = 0;
        const int rc = posix_spawn(&pid, o.exe.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) {
          record(s, {failure_row(s, fmt::format("error: cannot start {} (errno {})", o.exe, rc))}, 0);
          continue;
        }
        running[pid] = {s, Clock::now(), rows_path};
      }
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid > 0 && running.count(pid)) {
        Child c = running[pid];
        running.erase(pid);
        const double secs = since(c.start);
        std::vector<ResultRow> rows;
        const std::string logf = "logs/" + c.spec.run_id() + ".log";
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
          try {
            rows = read_results(c.rows_path);
          } catch (const std::exception& e) {
            rows.clear();
          }
          if (rows.empty()) rows = {failure_row(c.spec, "error: the run wrote no rows (see " + logf + ")")};
        } else if (WIFSIGNALED(status)) {
          rows = {failure_row(c.spec, secs >= o.run_timeout_s ? fmt::format("timeout after {:.0f} s", secs)
                                                              : fmt::format("crash: signal {} (see {})", WTERMSIG(status), logf))};
        } else {
          rows = {failure_row(c.spec, fmt::format("error: exit {} (see {})", WEXITSTATUS(status), logf))};
        }
        std::filesystem::remove(c.rows_path);
        record(c.spec, rows, secs);
        continue;
      }
      for (auto& [p, c] : running)
        if (since(c.start) > o.run_timeout_s) ::kill(p, SIGKILL);  // reaped above on a later pass
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  res.seconds = since(t_start);
  res.report = write_report(o.out, read_results(csv));
  return res;
}

}  // namespace edgellm::study
