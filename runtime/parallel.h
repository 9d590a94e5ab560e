// Parallel-for over OpenMP with one process-wide thread count (the CLI's -t).
// Not a task scheduler: work is split into equal static chunks, which suits dense kernels.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace edgellm {

// n <= 0 means "all hardware threads".
void set_num_threads(int n);
int num_threads();

// Calls fn(begin, end) over [0, n) in chunks of at least `grain`, on up to num_threads() threads.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  // floor(n / grain) chunks at most, so that every chunk holds at least `grain` items.
  const int64_t max_chunks = std::max<int64_t>(n / grain, 1);
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), max_chunks));
  if (threads <= 1 || omp_in_parallel()) {
    fn(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num();
    const int64_t nt = omp_get_num_threads();
    const int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) fn(begin, end);
  }
}

}  // namespace edgellm
