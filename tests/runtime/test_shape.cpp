// Shapes: element counts with overflow checks, rows/cols, strides and printing.
// Not views: test_tensor.cpp checks slicing and transposes on real data.
#include <doctest/doctest.h>

#include <cstdint>

#include "runtime/error.h"
#include "runtime/shape.h"

using namespace edgellm;

TEST_CASE("numel, rows, cols and str") {
  const Shape s{2, 3, 4};
  CHECK(s.ndim == 3);
  CHECK(s.numel() == 24);
  CHECK(s.rows() == 6);
  CHECK(s.cols() == 4);
  CHECK(s[-1] == 4);
  CHECK(s.str() == "[2, 3, 4]");
  CHECK(Shape{}.numel() == 1);  // a scalar
  CHECK(Shape{}.str() == "[]");
  CHECK(Shape{5}.rows() == 1);
  CHECK(Shape{7, 0, 3}.numel() == 0);
  CHECK(Shape{7, 0, 3}.rows() == 0);
  CHECK(Shape{3, 0}.rows() == 3);  // an empty last dim: used to divide by zero
  CHECK(Shape{2, 5, 0}.rows() == 10);
  CHECK(Shape{2, 3} == Shape{2, 3});
  CHECK(Shape{2, 3} != Shape{3, 2});
  CHECK(Shape{2, 3} != Shape{2, 3, 1});
  const int64_t d[] = {4, 5};
  CHECK(Shape::of(d, 2) == Shape{4, 5});
}

TEST_CASE("numel overflow and negative dims raise Error; more than four dims is refused") {
  const int64_t big = int64_t{1} << 32;
  CHECK_THROWS_AS(Shape({big, big}).numel(), Error);  // 2^64 does not fit
  CHECK_THROWS_WITH(Shape({big, big, 2}).numel(), doctest::Contains("[4294967296, 4294967296, 2]"));
  CHECK(Shape({big, big / 2 - 1}).numel() == big * (big / 2 - 1));  // just fits
  CHECK(Shape({0, big, big}).numel() == 0);  // an empty tensor, whatever its other dims
  CHECK_THROWS_AS(Shape({3, -1}).numel(), Error);
  CHECK_THROWS_AS(Shape({1, 2, 3, 4, 5}), Error);
  const int64_t d[] = {1, 2, 3, 4, 5};
  CHECK_THROWS_AS(Shape::of(d, 5), Error);
}

TEST_CASE("contiguous strides are row-major") {
  const Strides st = contiguous_strides(Shape{2, 3, 4});
  CHECK(st[0] == 12);
  CHECK(st[1] == 4);
  CHECK(st[2] == 1);
}
