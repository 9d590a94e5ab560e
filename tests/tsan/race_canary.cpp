// A deliberate data race through parallel_for: tools/test-tsan.sh requires TSan (with Archer) to report it, so a
// clean kernel run means "no race seen", not "TSan was not looking". Not part of any test binary.
#include <cstdio>

#include "runtime/parallel.h"

int main() {
  edgellm::set_num_threads(2);
  long sum = 0;
  edgellm::parallel_for(1000, 1, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) sum += i;  // unsynchronized += from two threads
  });
  std::printf("%ld\n", sum);
  return 0;
}
