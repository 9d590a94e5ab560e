// A deliberate data race through parallel_for: tools/test-tsan.sh requires TSan to report it, so a clean kernel run
// means "no race seen", not "TSan was not looking". Not part of any test binary.
#include <atomic>
#include <cstdio>
#include <thread>

#include "runtime/parallel.h"

int main() {
  edgellm::set_num_threads(2);
  long sum = 0;
  std::atomic<int> entered{0};
  edgellm::parallel_for(2, 1, [&](int64_t a, int64_t b) {
    // Hold each chunk until both threads are inside the body: TSan reports only races that happen, and the pool's
    // first thread could otherwise run both chunks before the second wakes.
    entered++;
    for (int i = 0; i < 10000000 && entered.load() < 2; ++i) std::this_thread::yield();
    for (int64_t i = a; i < b; ++i) sum += i + 1;  // unsynchronized += from two threads
  });
  std::printf("%ld\n", sum);
  return 0;
}
