// Per-op timing for kernel developers (`--profile`): scopes opened by the kernel drivers and by top-level kernel
// table calls, summed per (op, path) with the bytes and flops each moved, and a trace-event log for Perfetto.
// An op is the outermost scope of its thread: what it calls (inner drivers, micro-kernels, its parallel workers)
// is its own time, so the ops' times add up and never count twice.
// Not a sampling profiler (perf does that), not the Vulkan backend's timing, and no cost at all while off: a
// scope then tests one relaxed atomic and evaluates none of its arguments.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

namespace edgellm::profile {

// The work one op call did, for achieved GB/s and GFLOP/s (0: not estimated).
struct Cost {
  double bytes = 0;  // bytes read + written once each (weights, activations)
  double flops = 0;  // floating-point (or integer multiply-add) operations, 2 per multiply-add
};

namespace detail {
extern std::atomic<bool> g_on;
struct Open;  // a scope that is recording
bool recordable();  // on, and the calling thread is not a worker of a parallel job
Open* begin(const char* op, std::string path, Cost cost);
void end(Open* o);
}  // namespace detail

inline bool on() { return detail::g_on.load(std::memory_order_relaxed); }

// Starts recording (clears earlier records) or stops it. While on, scopes opened on any thread outside a
// parallel job are recorded; the first scope of a thread names the thread in the trace.
void start();
void stop();

// True while an op scope is open on the calling thread (its inner scopes record nothing).
bool in_op();

// One op call. `path` and `cost` are callables, evaluated only while recording:
//   profile::Scope s("linear", [&] { return linear_path(W, M); }, [&] { return linear_cost(W, M); });
class Scope {
 public:
  template <class PathFn, class CostFn>
  Scope(const char* op, PathFn&& path, CostFn&& cost) {
    if (on() && detail::recordable()) open_ = detail::begin(op, path(), cost());
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  ~Scope() {
    if (open_) detail::end(open_);
  }

 private:
  detail::Open* open_ = nullptr;
};

// This machine's bounds, measured by the caller's probes (kernels/machine_bounds.h).
struct Bounds {
  double gbps = 0;    // memory bandwidth, STREAM triad
  double gflops = 0;  // f32 FMA peak
  int threads = 0;
};

// The table: per (op, path), calls, time, share of all ops' time and of the recorded wall time, achieved GB/s and GFLOP/s and each
// as a fraction of `b`. Sorted by time; "(outside ops)" is the
// recorded time no op covered (sampling, tokenization, the model's own loops between ops).
void print_report(std::FILE* out, const Bounds& b);
// Chrome trace-event JSON ({"traceEvents": [...]}, complete events "X" in microseconds), which Perfetto and
// chrome://tracing open. Throws Error naming the path if it cannot be written.
void write_trace(const std::string& path);
// Number of ops recorded (tests).
int64_t recorded_calls();

}  // namespace edgellm::profile
