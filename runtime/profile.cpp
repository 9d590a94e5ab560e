// The recorder behind runtime/profile.h: one open op per thread at most; closed ones are
// summed per (op, path) and logged as trace events. Not the probes of the machine's bounds (kernels/).
#include "runtime/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm::profile {
namespace detail {

std::atomic<bool> g_on{false};

struct Open {
  const char* op;
  std::string path;
  Cost cost;
  int64_t t0 = 0;  // ns since the recording started
};

}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;

struct Sum {
  int64_t calls = 0, ns = 0;
  double bytes = 0, flops = 0;
};

struct Event {
  const char* op;
  int path;  // index into Recorder::paths
  int64_t ts_ns, dur_ns;
  int tid;
  double bytes, flops;
};

// Trace events kept at most (≈ 50 bytes each): a long finetune keeps its first steps in the trace, all in the sums.
constexpr size_t kMaxEvents = size_t{1} << 21;

struct Recorder {
  std::mutex mu;
  Clock::time_point t_start, t_stop;
  std::map<std::pair<std::string, std::string>, Sum> sums;  // (op, path)
  std::vector<std::string> paths;
  std::map<std::string, int> path_index;
  std::vector<Event> events;
  int64_t dropped = 0;
  int64_t op_ns = 0;  // time covered by ops, all threads
  int threads_seen = 0;
  int next_tid = 0;
  uint64_t generation = 0;  // bumped by start(): threads re-number themselves
};

Recorder& rec() {
  static Recorder r;
  return r;
}

thread_local detail::Open* tl_top = nullptr;
thread_local int tl_tid = -1;
thread_local uint64_t tl_generation = 0;

int64_t since_start_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t - rec().t_start).count();
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      o += fmt::format("\\u{:04x}", c);
      continue;
    }
    o += c;
  }
  return o;
}

}  // namespace

namespace detail {

bool recordable() { return tl_top == nullptr && !in_parallel(); }

Open* begin(const char* op, std::string path, Cost cost) {
  auto* o = new Open{op, std::move(path), cost};
  o->t0 = since_start_ns(Clock::now());
  tl_top = o;
  return o;
}

void end(Open* o) {
  const int64_t t1 = since_start_ns(Clock::now());
  const int64_t dur = t1 - o->t0;
  tl_top = nullptr;
  Recorder& r = rec();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (tl_generation != r.generation || tl_tid < 0) {
      tl_generation = r.generation;
      tl_tid = r.next_tid++;
      r.threads_seen = r.next_tid;
    }
    r.op_ns += dur;
    Sum& s = r.sums[{o->op, o->path}];
    ++s.calls;
    s.ns += dur;
    s.bytes += o->cost.bytes;
    s.flops += o->cost.flops;
    if (r.events.size() < kMaxEvents) {
      auto it = r.path_index.find(o->path);
      if (it == r.path_index.end()) {
        it = r.path_index.emplace(o->path, static_cast<int>(r.paths.size())).first;
        r.paths.push_back(o->path);
      }
      r.events.push_back({o->op, it->second, o->t0, dur, tl_tid, o->cost.bytes, o->cost.flops});
    } else {
      ++r.dropped;
    }
  }
  delete o;
}

}  // namespace detail

void start() {
  Recorder& r = rec();
  std::lock_guard<std::mutex> lock(r.mu);
  r.sums.clear();
  r.paths.clear();
  r.path_index.clear();
  r.events.clear();
  r.dropped = 0;
  r.op_ns = 0;
  r.threads_seen = 0;
  r.next_tid = 0;
  ++r.generation;
  r.t_start = Clock::now();
  r.t_stop = r.t_start;
  detail::g_on.store(true, std::memory_order_relaxed);
}

void stop() {
  if (!on()) return;
  detail::g_on.store(false, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(rec().mu);
  rec().t_stop = Clock::now();
}

bool in_op() { return tl_top != nullptr; }

int64_t recorded_calls() {
  std::lock_guard<std::mutex> lock(rec().mu);
  int64_t n = 0;
  for (const auto& kv : rec().sums) n += kv.second.calls;
  return n;
}

void print_report(std::FILE* out, const Bounds& b) {
  Recorder& r = rec();
  std::lock_guard<std::mutex> lock(r.mu);
  const double wall_ns = static_cast<double>(std::max<int64_t>(1, since_start_ns(r.t_stop)));
  std::vector<std::pair<std::pair<std::string, std::string>, Sum>> rows(r.sums.begin(), r.sums.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& c) { return a.second.ns > c.second.ns; });
  auto rate = [](double amount, int64_t ns, double unit) { return ns > 0 ? amount / (ns * 1e-9) / unit : 0.0; };
  auto frac = [](double x, double bound) { return bound > 0 && x > 0 ? fmt::format("{:5.1f}%", 100 * x / bound) : std::string("     -"); };
  fmt::print(out, "\nprofile: {:.3f} s recorded on {} thread(s) recording ops; this machine: {:.1f} GB/s (triad), {:.1f} GFLOP/s "
                  "(f32 FMA), {} threads\n",
             wall_ns * 1e-9, r.threads_seen, b.gbps, b.gflops, b.threads);
  const double ops_ns = static_cast<double>(std::max<int64_t>(1, r.op_ns));
  fmt::print(out, "{:<22} {:<34} {:>9} {:>11} {:>7} {:>7} {:>9} {:>6} {:>10} {:>6}\n", "op", "path", "calls", "ms", "of ops",
             "of wall", "GB/s", "of bw", "GFLOP/s", "of pk");
  for (const auto& [key, s] : rows) {
    const double gbps = rate(s.bytes, s.ns, 1e9), gflops = rate(s.flops, s.ns, 1e9);
    fmt::print(out, "{:<22} {:<34} {:>9} {:>11.3f} {:>6.1f}% {:>6.1f}% {:>9} {:>6} {:>10} {:>6}\n", key.first, key.second,
               s.calls, s.ns * 1e-6, 100.0 * static_cast<double>(s.ns) / ops_ns, 100.0 * static_cast<double>(s.ns) / wall_ns,
               s.bytes > 0 ? fmt::format("{:.2f}", gbps) : "-", frac(gbps, b.gbps),
               s.flops > 0 ? fmt::format("{:.2f}", gflops) : "-", frac(gflops, b.gflops));
  }
  const double outside = std::max(0.0, wall_ns - static_cast<double>(r.op_ns));
  fmt::print(out, "{:<22} {:<34} {:>9} {:>11.3f} {:>7} {:>6.1f}%\n", "(outside ops)", "loading, sampling, glue", "",
             outside * 1e-6, "", 100 * outside / wall_ns);
  fmt::print(out, "profile: GB/s counts each byte once; above 100% of the triad the data came from cache\n");
  if (r.dropped) fmt::print(out, "profile: the trace kept the first {} events ({} more are in the sums only)\n", r.events.size(), r.dropped);
}

void write_trace(const std::string& path) {
  Recorder& r = rec();
  std::string js;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    js.reserve(r.events.size() * 160 + 256);
    js += "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
    bool first = true;
    auto sep = [&] {
      if (!first) js += ",\n";
      first = false;
    };
    for (int t = 0; t < r.threads_seen; ++t) {
      sep();
      js += fmt::format("{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":{},\"args\":{{\"name\":\"{}\"}}}}", t,
                        t == 0 ? std::string("edgellm") : fmt::format("edgellm caller {}", t));
    }
    for (const Event& e : r.events) {
      sep();
      const std::string p = json_escape(r.paths[static_cast<size_t>(e.path)]);
      js += fmt::format("{{\"name\":\"{}\",\"cat\":\"{}\",\"ph\":\"X\",\"pid\":1,\"tid\":{},\"ts\":{:.3f},\"dur\":{:.3f},"
                        "\"args\":{{\"bytes\":{:.0f},\"flops\":{:.0f}}}}}",
                        e.op, p, e.tid, e.ts_ns * 1e-3, e.dur_ns * 1e-3, e.bytes, e.flops);
    }
    js += "\n]}\n";
  }
  write_file_atomic(path, js);
}

}  // namespace edgellm::profile
