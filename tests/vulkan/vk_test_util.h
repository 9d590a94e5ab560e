// Helpers of the Vulkan tests: random vectors, device buffers from host vectors and back, error measures.
// Not a reference: the references are the CPU scalar kernels (kernels_for(Isa::Scalar)).
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/vulkan/context.h"
#include "kernels/vulkan/gpu_profile.h"
#include "kernels/vulkan/ops.h"

namespace edgellm::vktest {

inline std::vector<float> randv(size_t n, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

inline vk::Context& ctx() { return vk::context(); }

template <class T>
vk::Buffer up(const std::vector<T>& v) {
  vk::Buffer b = ctx().alloc(std::max<size_t>(v.size() * sizeof(T), 4));
  if (!v.empty()) ctx().upload(b, v.data(), v.size() * sizeof(T));
  return b;
}
inline std::vector<float> down(const vk::Buffer& b, size_t n) {
  std::vector<float> v(n);
  ctx().download(b, v.data(), n * sizeof(float));
  return v;
}
// max |a − b| / (tol_abs + tol_rel·|b|) over all elements: <= 1 passes.
inline double worst(const std::vector<float>& a, const std::vector<float>& b, double abs_tol, double rel_tol) {
  REQUIRE(a.size() == b.size());
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = std::fabs(double(a[i]) - double(b[i])) / (abs_tol + rel_tol * std::fabs(double(b[i])));
    if (!(e <= w)) w = std::isnan(e) ? 1e30 : e;
  }
  return w;
}

}  // namespace edgellm::vktest
