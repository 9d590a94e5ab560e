#include "models/vulkan/device_weight.h"

#include <vector>

#include "kernels/linear.h"
#include "kernels/vulkan/ops.h"
#include "runtime/error.h"

namespace edgellm {

DeviceWeight upload_weight(vk::Context& c, const Tensor& t, std::map<std::string, int>* converted) {
  EDGE_CHECK(t.shape().ndim == 2 && t.is_contiguous(), "Vulkan: weight '{}' must be a contiguous matrix, got {}",
             t.name, t.shape().str());
  DeviceWeight w;
  w.N = static_cast<uint32_t>(t.shape().rows());
  w.K = static_cast<uint32_t>(t.shape().cols());
  if (vk::weight_type_supported(t.dtype()) && !dtype_is_gint(t.dtype())) {
    w.type = t.dtype();
    w.buf = c.alloc(t.nbytes());
    c.upload(w.buf, t.raw(), t.nbytes());
    return w;
  }
  if (converted) ++(*converted)[std::string(dtype_name(t.dtype()))];
  std::vector<float> rows(static_cast<size_t>(w.N) * w.K);
  for (uint32_t r = 0; r < w.N; ++r) dequantize_row(rows.data() + static_cast<size_t>(r) * w.K, t, r);
  w.buf = c.alloc(rows.size() * 4);
  c.upload(w.buf, rows.data(), rows.size() * 4);
  return w;
}

vk::Buffer upload_f32(vk::Context& c, const Tensor& t) {
  EDGE_CHECK(t.dtype() == DType::F32, "Vulkan: '{}' must be f32", t.name);
  vk::Buffer b = c.alloc(t.nbytes());
  c.upload(b, t.raw(), t.nbytes());
  return b;
}

}  // namespace edgellm
