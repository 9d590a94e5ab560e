// edgellm's thread pool: one pool of workers per calling thread, ranges split into chunks that idle threads take
// from each other, workers that spin briefly and then sleep. Not a general task system: one job at a time per pool.
#include "runtime/parallel.h"

#include <omp.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace edgellm {
namespace {

std::atomic<int> g_threads{0};
std::atomic<int> g_backend{-1};  // -1: not read yet
thread_local bool tl_in_parallel = false;
thread_local int tl_thread_index = 0;

// A spin-wait hint: lets the SMT sibling run and saves power while a thread polls a flag. Not an ISA kernel.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How long an idle thread polls before it sleeps. Long enough to cover the serial work between two kernels of a
// decode step (norms, rope, sampling: a few to tens of microseconds) so that workers are awake for the next one,
// short enough that an idle thread gives its core back quickly on a busy device. EDGELLM_SPIN_US overrides it.
int64_t spin_ns() {
  static const int64_t ns = [] {
    const char* v = std::getenv("EDGELLM_SPIN_US");
    if (v == nullptr || *v == '\0') return int64_t{100'000};
    char* end = nullptr;
    const long us = std::strtol(v, &end, 10);
    if (*end != '\0' || us < 0 || us > 1'000'000) {
      std::fprintf(stderr, "edgellm: EDGELLM_SPIN_US='%s' is not a number of microseconds in 0..1000000\n", v);
      std::exit(2);
    }
    return int64_t{us} * 1000;
  }();
  return ns;
}

// Polls `ready` for spin_ns(), then calls `slow` (which sleeps or yields) until ready.
template <class Ready, class Slow>
void spin_then(Ready&& ready, Slow&& slow) {
  if (ready()) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(spin_ns());
  for (int i = 1;; ++i) {
    if (ready()) return;
    cpu_relax();
    if ((i & 63) == 0 && std::chrono::steady_clock::now() >= deadline) break;
  }
  while (!ready()) slow();
}

// Generation barrier for the threads of one region; waiting threads spin, then sleep on the generation word.
class Barrier {
 public:
  void reset(int n) {
    n_ = n;
    count_.store(0, std::memory_order_relaxed);
  }
  void wait() {
    const uint32_t gen = gen_.load(std::memory_order_acquire);
    if (count_.fetch_add(1, std::memory_order_acq_rel) + 1 == n_) {
      count_.store(0, std::memory_order_relaxed);
      gen_.fetch_add(1, std::memory_order_release);
      gen_.notify_all();
      return;
    }
    spin_then([&] { return gen_.load(std::memory_order_acquire) != gen; }, [&] { gen_.wait(gen); });
  }

 private:
  int n_ = 1;
  std::atomic<int> count_{0};
  std::atomic<uint32_t> gen_{0};
};
thread_local Barrier* tl_barrier = nullptr;

constexpr int kChunksPerThread = 4;  // a late thread's share can be taken in quarters by the others

struct alignas(64) Slot {  // one worker's wake-up word: the sequence number of the job it is asked to join
  std::atomic<uint32_t> go{0};
  std::atomic<uint32_t> sleeping{0};
};
// One participant's chunks of a range job, [next, end), packed with the job's sequence number in one word
// (seq << 32 | end << 16 | next) and claimed by compare-and-swap, so a thread takes chunks only of the job it was
// asked to join: a late thread never runs a newer job's chunk with an index (thread_index) that job did not plan.
struct alignas(64) Counter {
  std::atomic<uint64_t> word{0};
};
constexpr int64_t kMaxChunks = 0xffff;
inline uint64_t chunk_word(uint32_t seq, int64_t next, int64_t end) {
  return uint64_t{seq} << 32 | static_cast<uint64_t>(end) << 16 | static_cast<uint64_t>(next);
}

std::atomic<uint32_t> g_fork_generation{0};  // bumped in a forked child, whose pools have no threads

// The workers of one calling thread ("owner"). The job's fields are written by the owner before it publishes the
// job word, and read by a worker only after it has claimed part of that job (a chunk or a ticket): the owner
// cannot finish the job, and so cannot overwrite them, before that part is reported done.
class Pool {
 public:
  Pool() : fork_generation_(g_fork_generation.load()) {}
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() {
    if (fork_generation_ != g_fork_generation.load()) return;  // threads of the parent: nothing to join here
    stop_.store(true);
    for (auto& s : slots_) {
      s->go.fetch_add(1, std::memory_order_seq_cst);
      s->go.notify_one();
    }
    for (auto& t : threads_) t.join();
  }
  uint32_t fork_generation() const { return fork_generation_; }

  void run_ranges(int64_t n, int64_t grain, int threads, detail::RangeFn fn, void* ctx) {
    ensure(threads - 1);
    const int64_t nchunks =
        std::min({int64_t{threads} * kChunksPerThread, std::max<int64_t>(n / grain, 1), kMaxChunks});
    const uint32_t seq = next_seq();
    range_fn_ = fn;
    ctx_ = ctx;
    n_ = n;
    nchunks_ = nchunks;
    done_.store(0, std::memory_order_relaxed);
    Counter* counters = counters_.load(std::memory_order_relaxed);
    for (int p = 0; p < threads; ++p)
      counters[p].word.store(chunk_word(seq, nchunks * p / threads, nchunks * (p + 1) / threads),
                             std::memory_order_release);
    parts_.store(threads, std::memory_order_release);
    publish(seq, threads - 1, /*region=*/false);
    tl_in_parallel = true;
    take_chunks(seq, 0);
    tl_in_parallel = false;
    spin_then([&] { return done_.load(std::memory_order_acquire) == nchunks; }, [] { sched_yield(); });
  }

  void run_region(int nt, detail::RegionFn fn, void* ctx) {
    ensure(nt - 1);
    region_fn_ = fn;
    ctx_ = ctx;
    region_nt_ = nt;
    barrier_.reset(nt);
    done_.store(0, std::memory_order_relaxed);
    tickets_.store(1, std::memory_order_relaxed);  // ticket 0 is the owner's
    publish(next_seq(), nt - 1, /*region=*/true);
    tl_in_parallel = true;
    tl_barrier = &barrier_;
    fn(ctx, 0, nt);
    tl_barrier = nullptr;
    tl_in_parallel = false;
    spin_then([&] { return done_.load(std::memory_order_acquire) == nt - 1; }, [] { sched_yield(); });
  }

 private:
  void ensure(int workers) {
    // Counters for every participant. A late worker may still be scanning the old array, so it is kept until
    // the pool goes; the new one is published before parts_ can name a participant beyond the old size.
    if (counters_size_ < static_cast<size_t>(workers) + 1) {
      counter_arrays_.push_back(std::make_unique<Counter[]>(static_cast<size_t>(workers) + 1));
      counters_.store(counter_arrays_.back().get(), std::memory_order_release);
      counters_size_ = static_cast<size_t>(workers) + 1;
    }
    while (static_cast<int>(threads_.size()) < workers) {
      const int index = static_cast<int>(threads_.size());
      slots_.push_back(std::make_unique<Slot>());
      Slot* slot = slots_.back().get();
      threads_.emplace_back([this, index, slot] { worker_main(index, slot); });
    }
  }

  uint32_t next_seq() {
    if (++seq_ == 0) ++seq_;  // 0 is what a new worker has seen
    return seq_;
  }

  // Starts job `seq` on the first `workers` workers. The job word carries the kind so that a worker reads the
  // sequence number and the kind together.
  void publish(uint32_t seq, int workers, bool region) {
    job_word_.store(uint64_t{seq} << 1 | (region ? 1u : 0u), std::memory_order_release);
    for (int i = 0; i < workers; ++i) {
      Slot& s = *slots_[static_cast<size_t>(i)];
      s.go.store(seq, std::memory_order_seq_cst);
      if (s.sleeping.load(std::memory_order_seq_cst)) s.go.notify_one();
    }
  }

  void worker_main(int index, Slot* slot) {
    uint32_t seen = 0;
    for (;;) {
      spin_then([&] { return slot->go.load(std::memory_order_acquire) != seen || stop_.load(std::memory_order_relaxed); },
                [&] {
                  slot->sleeping.store(1, std::memory_order_seq_cst);
                  if (slot->go.load(std::memory_order_seq_cst) == seen && !stop_.load()) slot->go.wait(seen);
                  slot->sleeping.store(0, std::memory_order_relaxed);
                });
      if (stop_.load()) return;
      seen = slot->go.load(std::memory_order_acquire);
      const uint64_t word = job_word_.load(std::memory_order_acquire);
      if (static_cast<uint32_t>(word >> 1) != seen) continue;  // asked for a job that is already over
      tl_in_parallel = true;
      if (word & 1) {
        // A region cannot end before each worker asked to join it has taken its ticket, so this one is ours.
        const int tid = tickets_.fetch_add(1, std::memory_order_acq_rel);
        tl_barrier = &barrier_;
        tl_thread_index = tid;
        region_fn_(ctx_, tid, region_nt_);
        tl_barrier = nullptr;
        done_.fetch_add(1, std::memory_order_acq_rel);
      } else {
        tl_thread_index = index + 1;
        take_chunks(seen, index + 1);
      }
      tl_thread_index = 0;
      tl_in_parallel = false;
    }
  }

  // Runs chunks of range job `seq`: participant p's own first, then what the others have not yet claimed.
  void take_chunks(uint32_t seq, int p) {
    const int parts = parts_.load(std::memory_order_acquire);
    Counter* counters = counters_.load(std::memory_order_acquire);
    for (int k = 0; k < parts; ++k) {
      Counter& c = counters[(p + k) % parts];
      uint64_t w = c.word.load(std::memory_order_acquire);
      for (;;) {
        const auto next = static_cast<int64_t>(w & 0xffff), end = static_cast<int64_t>(w >> 16 & 0xffff);
        if (static_cast<uint32_t>(w >> 32) != seq || next >= end) break;
        if (!c.word.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
        range_fn_(ctx_, n_ * next / nchunks_, n_ * (next + 1) / nchunks_);
        done_.fetch_add(1, std::memory_order_acq_rel);
        w = c.word.load(std::memory_order_acquire);
      }
    }
  }

  const uint32_t fork_generation_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<bool> stop_{false};
  uint32_t seq_ = 0;
  std::atomic<uint64_t> job_word_{0};
  // The job (see the class comment).
  detail::RangeFn range_fn_ = nullptr;
  detail::RegionFn region_fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0, nchunks_ = 1;
  int region_nt_ = 1;
  std::atomic<int> parts_{0};
  std::atomic<Counter*> counters_{nullptr};
  std::vector<std::unique_ptr<Counter[]>> counter_arrays_;
  size_t counters_size_ = 0;
  std::atomic<int64_t> done_{0};
  std::atomic<int> tickets_{0};
  Barrier barrier_;
};

Pool& my_pool() {
  thread_local std::unique_ptr<Pool> pool;
  if (!pool || pool->fork_generation() != g_fork_generation.load()) {
    (void)pool.release();  // a pool from before fork(): its threads are gone; leaked, not joined
    pool = std::make_unique<Pool>();
  }
  return *pool;
}

const bool g_atfork_installed = [] {
  pthread_atfork(nullptr, nullptr, [] { g_fork_generation.fetch_add(1); });
  return true;
}();

// Cores of the given CPUs: one per distinct thread_siblings_list (SMT siblings share a core).
int physical_cores(const std::vector<int>& cpus) {
  std::set<std::string> cores;
  for (int cpu : cpus) {
    std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/thread_siblings_list");
    std::string siblings;
    if (!(f >> siblings)) return static_cast<int>(cpus.size());  // no topology: count every CPU
    cores.insert(siblings);
  }
  return static_cast<int>(cores.size());
}

// A cgroup v2 CPU quota ("max 100000" or "200000 100000") caps how many cores a container may use at once.
int cgroup_cpu_limit() {
  std::ifstream f("/sys/fs/cgroup/cpu.max");
  std::string quota;
  long period = 0;
  if (!(f >> quota >> period) || quota == "max" || period <= 0) return 0;
  const long q = std::atol(quota.c_str());
  return q > 0 ? static_cast<int>((q + period - 1) / period) : 0;
}

}  // namespace

int default_num_threads() {
  static const int n = [] {
    // OMP_NUM_THREADS, when set, still chooses the count (scripts and CI set it; libgomp honoured it before the pool).
    if (const char* v = std::getenv("OMP_NUM_THREADS"); v != nullptr && *v != '\0') {
      char* end = nullptr;
      const long t = std::strtol(v, &end, 10);
      if (*end == '\0' && t > 0 && t <= 4096) return static_cast<int>(t);
    }
    std::vector<int> cpus;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
      for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
    int cores = cpus.empty() ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) : physical_cores(cpus);
    if (const int limit = cgroup_cpu_limit(); limit > 0) cores = std::min(cores, limit);
    return std::max(cores, 1);
  }();
  return n;
}

void set_num_threads(int n) { g_threads = n <= 0 ? default_num_threads() : n; }

int num_threads() {
  int n = g_threads.load();
  if (n <= 0) {
    n = default_num_threads();
    g_threads = n;
  }
  return n;
}

bool in_parallel() { return tl_in_parallel || omp_in_parallel(); }

int thread_index() { return omp_in_parallel() ? omp_get_thread_num() : tl_thread_index; }

ThreadBackend thread_backend() {
  int b = g_backend.load();
  if (b < 0) {
    const char* v = std::getenv("EDGELLM_THREADS");
    if (v == nullptr || *v == '\0' || std::strcmp(v, "pool") == 0) {
      b = static_cast<int>(ThreadBackend::Pool);
    } else if (std::strcmp(v, "omp") == 0) {
      b = static_cast<int>(ThreadBackend::OpenMP);
    } else {
      std::fprintf(stderr, "edgellm: EDGELLM_THREADS='%s' is not 'pool' or 'omp'\n", v);
      std::exit(2);
    }
    g_backend = b;
  }
  return static_cast<ThreadBackend>(b);
}

void set_thread_backend(ThreadBackend b) { g_backend = static_cast<int>(b); }

const char* thread_backend_name(ThreadBackend b) { return b == ThreadBackend::Pool ? "pool" : "omp"; }

void region_barrier() {
  if (tl_barrier != nullptr) {
    tl_barrier->wait();
    return;
  }
  if (omp_in_parallel()) {
#pragma omp barrier
  }
}

namespace detail {

void run_ranges(int64_t n, int64_t grain, int threads, RangeFn fn, void* ctx) {
  if (thread_backend() == ThreadBackend::Pool) {
    my_pool().run_ranges(n, grain, threads, fn, ctx);
    return;
  }
  // OpenMP: one static chunk per thread (the behaviour before the pool).
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) fn(ctx, begin, end);
  }
}

void run_region(int nt, RegionFn fn, void* ctx) {
  if (thread_backend() == ThreadBackend::Pool) {
    my_pool().run_region(nt, fn, ctx);
    return;
  }
#pragma omp parallel num_threads(nt)
  fn(ctx, omp_get_thread_num(), omp_get_num_threads());
}

}  // namespace detail
}  // namespace edgellm
