// parallel_for and parallel_region on both backends (edgellm's pool and OpenMP): every index of [0, n) exactly once,
// chunks of at least `grain`, thread indices in range, barriers that hold, a late thread's chunks taken by the others.
// Not a speed test: bench/thread_scaling times decoding.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/parallel.h"

using namespace edgellm;

namespace {
// ThreadSanitizer refuses to start threads in the child of a multi-threaded fork (it dies there), and qemu-user
// aborts in that child (EDGELLM_UNDER_EMULATOR, set by CTest in cross builds), so the fork case runs elsewhere only.
#if defined(__SANITIZE_THREAD__)
constexpr bool kTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif
#else
constexpr bool kTsan = false;
#endif

struct BackendScope {
  ThreadBackend saved = thread_backend();
  int saved_threads = num_threads();
  explicit BackendScope(ThreadBackend b) { set_thread_backend(b); }
  ~BackendScope() {
    set_thread_backend(saved);
    set_num_threads(saved_threads);
  }
};
}  // namespace

TEST_CASE("parallel_for covers [0, n) exactly once, respects the grain and numbers its threads") {
  for (ThreadBackend backend : {ThreadBackend::Pool, ThreadBackend::OpenMP}) {
    BackendScope scope(backend);
    for (int threads = 1; threads <= 4; ++threads) {
      set_num_threads(threads);
      REQUIRE(num_threads() == threads);
      for (int64_t n : {0, 1, 2, 3, 5, 7, 16, 33, 100, 257, 1000, 4099}) {
        for (int64_t grain : {0, 1, 3, 16, 64, 5000}) {
          CAPTURE(thread_backend_name(backend));
          CAPTURE(threads);
          CAPTURE(n);
          CAPTURE(grain);
          std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
          std::mutex mu;
          std::vector<std::pair<int64_t, int64_t>> chunks;
          std::atomic<int> bad_index{0};
          parallel_for(n, grain, [&](int64_t b, int64_t e) {
            if (thread_index() < 0 || thread_index() >= threads) bad_index++;
            for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
            std::lock_guard<std::mutex> lock(mu);
            chunks.emplace_back(b, e);
          });
          int bad = 0;
          for (auto& h : hits) bad += h.load() != 1;
          CHECK(bad == 0);
          CHECK(bad_index.load() == 0);
          CHECK(static_cast<int>(chunks.size()) <= 4 * threads);
          if (n == 0) CHECK(chunks.empty());
          // Every chunk has at least `grain` items, unless the whole range is smaller than one grain.
          const int64_t min_chunk = std::min<int64_t>(std::max<int64_t>(grain, 1), n);
          for (auto [b, e] : chunks) CHECK(e - b >= min_chunk);
        }
      }
    }
  }
}

TEST_CASE("set_num_threads(0) means the default (physical cores); a nested parallel_for runs inline") {
  BackendScope scope(ThreadBackend::Pool);
  set_num_threads(0);
  CHECK(num_threads() == default_num_threads());
  CHECK(default_num_threads() >= 1);
  if (std::getenv("OMP_NUM_THREADS") == nullptr)
    CHECK(default_num_threads() <= static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  set_num_threads(2);
  std::atomic<int64_t> total{0};
  parallel_for(4, 1, [&](int64_t b, int64_t e) {
    CHECK(in_parallel());
    parallel_for(100, 1, [&](int64_t bb, int64_t ee) { total += (ee - bb) * (e - b); });
  });
  CHECK(!in_parallel());
  CHECK(total.load() == 400);
}

TEST_CASE("parallel_region: every thread runs once and region_barrier separates the phases") {
  for (ThreadBackend backend : {ThreadBackend::Pool, ThreadBackend::OpenMP}) {
    BackendScope scope(backend);
    CAPTURE(thread_backend_name(backend));
    for (int nt : {1, 2, 3, 4}) {
      set_num_threads(nt);
      constexpr int kPhases = 50;
      std::vector<std::atomic<int>> arrived(kPhases);
      std::atomic<int> wrong{0}, ran{0};
      parallel_region(nt, [&](int tid, int n) {
        ran++;
        if (n != nt || tid < 0 || tid >= n) wrong++;
        for (int ph = 0; ph < kPhases; ++ph) {
          arrived[ph]++;
          region_barrier();
          // After the barrier every thread of the region has arrived at this phase.
          if (arrived[ph].load() != n) wrong++;
          region_barrier();
        }
      });
      CHECK(ran.load() == nt);
      CHECK(wrong.load() == 0);
    }
  }
}

TEST_CASE("pool: a thread that stalls inside its first chunk does not hold the others' chunks") {
  BackendScope scope(ThreadBackend::Pool);
  set_num_threads(2);
  // Thread 1 sleeps 300 ms in the first chunk it takes; thread 0 must run every other chunk meanwhile (the range is
  // split into several chunks per thread), so thread 1 ends having run exactly one chunk.
  for (int rep = 0; rep < 3; ++rep) {
    std::atomic<int> chunks_by_1{0}, chunks_total{0};
    parallel_for(64, 1, [&](int64_t, int64_t) {
      chunks_total++;
      if (thread_index() == 1 && chunks_by_1++ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    });
    CHECK(chunks_total.load() >= 4);
    CHECK(chunks_by_1.load() <= 1);
  }
}

TEST_CASE("pool: many short jobs in a row, from two calling threads at once") {
  BackendScope scope(ThreadBackend::Pool);
  set_num_threads(3);
  auto work = [] {
    int64_t bad = 0;
    for (int job = 0; job < 20000; ++job) {
      std::atomic<int64_t> sum{0};
      const int64_t n = 1 + job % 37;
      parallel_for(n, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) sum += i;
      });
      bad += sum.load() != n * (n - 1) / 2;
    }
    return bad;
  };
  int64_t bad_other = -1;
  std::thread other([&] { bad_other = work(); });  // its own pool: concurrent callers do not share workers
  const int64_t bad_main = work();
  other.join();
  CHECK(bad_main == 0);
  CHECK(bad_other == 0);
}

TEST_CASE("pool: a forked child runs parallel_for with fresh workers" *
          doctest::skip(kTsan || std::getenv("EDGELLM_UNDER_EMULATOR") != nullptr)) {
  BackendScope scope(ThreadBackend::Pool);
  set_num_threads(2);
  parallel_for(8, 1, [](int64_t, int64_t) {});  // the parent's pool exists before the fork
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::atomic<int64_t> n{0};
    parallel_for(1000, 1, [&](int64_t b, int64_t e) { n += e - b; });
    _exit(n.load() == 1000 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
