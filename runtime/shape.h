// Shapes and element strides of up to four dimensions, row-major (last dim fastest).
// Not a general N-d array library: four dims cover every tensor of a Llama model and GGUF.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace edgellm {

constexpr int kMaxDims = 4;

struct Shape {
  int ndim = 0;
  std::array<int64_t, kMaxDims> dims{};

  Shape() = default;
  Shape(std::initializer_list<int64_t> d);
  static Shape of(const int64_t* d, int n);

  int64_t operator[](int i) const { return dims[static_cast<size_t>(i < 0 ? i + ndim : i)]; }
  int64_t& operator[](int i) { return dims[static_cast<size_t>(i < 0 ? i + ndim : i)]; }
  // Product of dims; throws Error if it overflows int64 or a dim is negative.
  int64_t numel() const;
  // Rows = product of all dims but the last (1 for a scalar or vector). Computed as a product,
  // not numel() / cols(), so that a zero last dim (an empty tensor) does not divide by zero.
  int64_t rows() const {
    Shape lead = *this;
    lead.ndim = ndim <= 1 ? 0 : ndim - 1;
    return lead.numel();
  }
  int64_t cols() const { return ndim == 0 ? 1 : dims[static_cast<size_t>(ndim - 1)]; }
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const;  // "[2, 3, 4]"
};

// Strides in elements; contiguous_strides gives the row-major default.
using Strides = std::array<int64_t, kMaxDims>;
Strides contiguous_strides(const Shape& s);

}  // namespace edgellm
