// STREAM-style triad on the device: the memory-bandwidth bound that tools/bench-vulkan.sh prints beside tokens/s.
// Not a cache benchmark: the arrays should be well beyond the GPU's last-level cache (hundreds of MiB).
#include "kernels/vulkan/bandwidth.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "kernels/vulkan/ops.h"

namespace edgellm::vk {

BandwidthResult measure_bandwidth(Context& c, size_t array_bytes, int passes, int reps) {
  const uint32_t n = static_cast<uint32_t>(array_bytes / 16 * 4);  // floats, a multiple of 4
  Buffer a = c.alloc(size_t{n} * 4), b = c.alloc(size_t{n} * 4), cc = c.alloc(size_t{n} * 4);
  {
    const std::vector<float> ones(n, 1.0f);
    c.upload(b, ones.data(), size_t{n} * 4);
    c.upload(cc, ones.data(), size_t{n} * 4);
  }
  BandwidthResult r;
  r.bytes_per_pass = size_t{n} * 4 * 3;
  r.passes = passes;
  r.seconds = 1e30;
  Batch batch(c);
  for (int rep = -1; rep < reps; ++rep) {  // rep −1 warms up (pipeline creation, first touch)
    for (int i = 0; i < passes; ++i) triad(batch, a, b, cc, n, 0.5f);
    const auto t0 = std::chrono::steady_clock::now();
    batch.submit();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rep >= 0) r.seconds = std::min(r.seconds, s);
  }
  return r;
}

}  // namespace edgellm::vk
