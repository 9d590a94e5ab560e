// Parallel-for and parallel regions over edgellm's own thread pool, with one process-wide thread count (the CLI's -t).
// Not a task scheduler: a job is one range (or one region) at a time per calling thread, which suits dense kernels.
//
// Why not OpenMP: libgomp's static split makes every parallel_for wait for its slowest thread, and its waiting
// threads spin at the barrier. On a busy device (an edge device is never idle) a descheduled thread then holds
// every token for a time slice (measured: 2-thread decode at 18.6 tok/s against 196 at 1 thread), and on 16 cores
// one slow core sets the pace. Here each thread owns a few chunks of the range and takes the others' unclaimed
// chunks when it runs out, so a late or preempted thread just does less; idle threads spin briefly, then sleep.
// EDGELLM_THREADS=omp selects the OpenMP path instead (for comparison in bench/thread_scaling).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace edgellm {

// n <= 0 means default_num_threads().
void set_num_threads(int n);
int num_threads();
// The thread count used when none is set: OMP_NUM_THREADS if set, else the physical cores this process may run on
// (SMT siblings share one core's load/store units and caches, which decoding saturates), read from sysfs, the
// affinity mask and the cgroup's CPU quota.
int default_num_threads();

// True while the calling thread runs the body of a parallel_for or parallel_region: nested calls run serially.
bool in_parallel();
// The calling thread's index among the threads of the job it is running, in [0, threads) (0: the caller, and
// outside any job). Stable while one thread runs several chunks: per-thread scratch is indexed by it.
int thread_index();

enum class ThreadBackend { Pool, OpenMP };
// EDGELLM_THREADS=pool|omp (read once; anything else is an error naming the variable); Pool by default.
ThreadBackend thread_backend();
void set_thread_backend(ThreadBackend b);  // tests and benchmarks
const char* thread_backend_name(ThreadBackend b);

namespace detail {
using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);
using RegionFn = void (*)(void* ctx, int tid, int nt);
void run_ranges(int64_t n, int64_t grain, int threads, RangeFn fn, void* ctx);
void run_region(int nt, RegionFn fn, void* ctx);
}  // namespace detail

// Calls fn(begin, end) over disjoint chunks covering [0, n), each of at least `grain` items, on up to
// num_threads() threads. Chunks may be fewer or more than threads; fn must not assume one call per thread.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  // floor(n / grain) chunks at most, so that every chunk holds at least `grain` items.
  const int64_t max_chunks = std::max<int64_t>(n / grain, 1);
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), max_chunks));
  if (threads <= 1 || in_parallel()) {
    fn(int64_t{0}, n);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  detail::run_ranges(
      n, grain, threads, [](void* c, int64_t b, int64_t e) { (*static_cast<Fn*>(c))(b, e); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

// Runs fn(tid, nt) on nt threads at the same time (tid 0 on the caller), for bodies that split work themselves
// and meet at region_barrier(). Every thread must reach the same number of barriers. Prefer parallel_for: a
// region waits for its slowest thread at each barrier.
template <class F>
void parallel_region(int nt, F&& fn) {
  if (nt <= 1 || in_parallel()) {
    fn(0, 1);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  detail::run_region(
      nt, [](void* c, int tid, int n) { (*static_cast<Fn*>(c))(tid, n); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

// Waits until every thread of the calling thread's parallel_region has reached it. A no-op outside a region.
void region_barrier();

}  // namespace edgellm
