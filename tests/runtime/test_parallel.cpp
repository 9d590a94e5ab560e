// parallel_for: every index of [0, n) exactly once, chunks of at least `grain`, for 1..4 threads.
// Not a speed test: the benches time kernels.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "runtime/parallel.h"

using namespace edgellm;

TEST_CASE("parallel_for covers [0, n) exactly once and respects the grain") {
  const int saved = num_threads();
  for (int threads = 1; threads <= 4; ++threads) {
    set_num_threads(threads);
    REQUIRE(num_threads() == threads);
    for (int64_t n : {0, 1, 2, 3, 5, 7, 16, 33, 100, 257, 1000, 4099}) {
      for (int64_t grain : {0, 1, 3, 16, 64, 5000}) {
        CAPTURE(threads);
        CAPTURE(n);
        CAPTURE(grain);
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::mutex mu;
        std::vector<std::pair<int64_t, int64_t>> chunks;
        parallel_for(n, grain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
          std::lock_guard<std::mutex> lock(mu);
          chunks.emplace_back(b, e);
        });
        int bad = 0;
        for (auto& h : hits) bad += h.load() != 1;
        CHECK(bad == 0);
        CHECK(static_cast<int>(chunks.size()) <= threads);
        if (n == 0) CHECK(chunks.empty());
        // Every chunk has at least `grain` items, unless the whole range is smaller than one grain.
        const int64_t min_chunk = std::min<int64_t>(std::max<int64_t>(grain, 1), n);
        for (auto [b, e] : chunks) CHECK(e - b >= min_chunk);
      }
    }
  }
  set_num_threads(saved);
}

TEST_CASE("set_num_threads(0) means all hardware threads; a nested parallel_for runs inline") {
  const int saved = num_threads();
  set_num_threads(0);
  CHECK(num_threads() >= 1);
  set_num_threads(2);
  std::atomic<int64_t> total{0};
  parallel_for(4, 1, [&](int64_t b, int64_t e) {
    parallel_for(100, 1, [&](int64_t bb, int64_t ee) { total += (ee - bb) * (e - b); });
  });
  CHECK(total.load() == 400);
  set_num_threads(saved);
}
