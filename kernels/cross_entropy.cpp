// Driver of the fused cross-entropy: checks targets, splits rows over threads, takes the masked mean.
// Not ISA-specific: compiled without -m flags; the rows go through the kernel table.
#include "kernels/cross_entropy.h"

#include <limits>
#include <vector>

#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/profile.h"

namespace edgellm {

int64_t cross_entropy_count(const int32_t* targets, int64_t T, int64_t V, int32_t ignore_index) {
  if (T < 0 || V <= 0) fail("cross_entropy: T = {}, V = {}: need T >= 0 and V > 0", T, V);
  int64_t n = 0;
  for (int64_t t = 0; t < T; ++t) {
    if (targets[t] == ignore_index) continue;
    if (targets[t] < 0 || targets[t] >= V)
      fail("cross_entropy: targets[{}] = {}: outside [0, {}) and not ignore_index {}", t, targets[t], V,
           ignore_index);
    ++n;
  }
  return n;
}

float cross_entropy_forward(float* loss, float* lse, const float* logits, const int32_t* targets, int64_t T,
                            int64_t V, int32_t ignore_index, const KernelTable& kt) {
  const int64_t n = cross_entropy_count(targets, T, V, ignore_index);
  profile::Scope prof("cross_entropy", [&] { return fmt::format("f32 {}", kt.cross_entropy_forward_isa); },
                      [&] { return profile::Cost{4.0 * T * V, 3.0 * T * V}; });
  parallel_for(T, 4, [&](int64_t b, int64_t e) {
    kt.cross_entropy_forward(loss + b, lse ? lse + b : nullptr, logits + b * V, targets + b, e - b, V, ignore_index);
  });
  if (n == 0) return std::numeric_limits<float>::quiet_NaN();
  double sum = 0;  // masked rows hold 0
  for (int64_t t = 0; t < T; ++t) sum += loss[t];
  return static_cast<float>(sum / static_cast<double>(n));
}

void cross_entropy_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                            float dloss, int64_t T, int64_t V, int32_t ignore_index, const KernelTable& kt) {
  const int64_t n = cross_entropy_count(targets, T, V, ignore_index);
  if (n == 0) return;
  const float g = static_cast<float>(static_cast<double>(dloss) / static_cast<double>(n));
  profile::Scope prof("cross_entropy_backward", [&] { return fmt::format("f32 {}", kt.cross_entropy_backward_isa); },
                      [&] { return profile::Cost{8.0 * T * V, 3.0 * T * V}; });
  parallel_for(T, 4, [&](int64_t b, int64_t e) {
    kt.cross_entropy_backward(dlogits + b * V, logits + b * V, lse + b, targets + b, g, e - b, V, ignore_index);
  });
}

}  // namespace edgellm
