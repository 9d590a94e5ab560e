// The thread-count setting shared by every parallel kernel.
#include "runtime/parallel.h"

#include <atomic>

namespace edgellm {
namespace {
std::atomic<int> g_threads{0};
}

void set_num_threads(int n) { g_threads = n <= 0 ? omp_get_num_procs() : n; }

int num_threads() {
  int n = g_threads.load();
  if (n <= 0) {
    n = omp_get_max_threads();
    g_threads = n;
  }
  return n;
}

}  // namespace edgellm
