// Shape arithmetic with overflow checks, since shapes come from untrusted files.
#include "runtime/shape.h"

#include <fmt/format.h>

#include "runtime/error.h"

namespace edgellm {

Shape::Shape(std::initializer_list<int64_t> d) {
  EDGE_CHECK(d.size() <= kMaxDims, "a shape has at most {} dims, got {}", kMaxDims, d.size());
  for (int64_t v : d) dims[static_cast<size_t>(ndim++)] = v;
}

Shape Shape::of(const int64_t* d, int n) {
  EDGE_CHECK(n >= 0 && n <= kMaxDims, "a shape has at most {} dims, got {}", kMaxDims, n);
  Shape s;
  for (int i = 0; i < n; ++i) s.dims[static_cast<size_t>(i)] = d[i];
  s.ndim = n;
  return s;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) {
    const int64_t d = dims[static_cast<size_t>(i)];
    EDGE_CHECK(d >= 0, "negative dimension {} in shape {}", d, str());
    if (d != 0 && n > INT64_MAX / d) fail("shape {} has more elements than fit in 64 bits", str());
    n *= d;
  }
  return n;
}

bool Shape::operator==(const Shape& o) const {
  if (ndim != o.ndim) return false;
  for (int i = 0; i < ndim; ++i)
    if (dims[static_cast<size_t>(i)] != o.dims[static_cast<size_t>(i)]) return false;
  return true;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < ndim; ++i) s += fmt::format("{}{}", i ? ", " : "", dims[static_cast<size_t>(i)]);
  return s + "]";
}

Strides contiguous_strides(const Shape& s) {
  Strides st{};
  int64_t acc = 1;
  for (int i = s.ndim - 1; i >= 0; --i) {
    st[static_cast<size_t>(i)] = acc;
    acc *= s.dims[static_cast<size_t>(i)];
  }
  return st;
}

}  // namespace edgellm
