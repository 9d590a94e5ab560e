// The device's memory bandwidth, measured with a STREAM-style triad shader (a = b + s·c).
// Not a model benchmark: `edgellm bench -m M --device vulkan` times the model; this gives its bound.
#pragma once

#include <cstddef>

#include "kernels/vulkan/context.h"

namespace edgellm::vk {

struct BandwidthResult {
  size_t bytes_per_pass = 0;  // 3 arrays of n floats: two read, one written
  int passes = 0;
  double seconds = 0;
  double gb_per_s() const { return static_cast<double>(bytes_per_pass) * passes / seconds / 1e9; }
};
// Three buffers of `array_bytes` each; `passes` dispatches recorded into one batch after a warm-up batch;
// the best of `reps` batches (wall clock around submit + fence) is returned.
BandwidthResult measure_bandwidth(Context& c, size_t array_bytes, int passes = 20, int reps = 3);

}  // namespace edgellm::vk
