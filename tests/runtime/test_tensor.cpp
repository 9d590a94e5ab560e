// Tensor handles: views (slice, transpose, reshape) read the right elements, contiguous() copies them,
// to(F16/BF16) round-trips, and mapped tensors refuse ranges past their file. Not kernel math.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "runtime/dtype.h"
#include "runtime/error.h"
#include "runtime/tensor.h"
#include "temp_path.h"

using namespace edgellm;

namespace {
// A (2, 3, 4) f32 tensor holding 100·i + 10·j + k at (i, j, k).
Tensor iota3() {
  Tensor t = Tensor::empty({2, 3, 4});
  float* p = t.data<float>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) *p++ = static_cast<float>(100 * i + 10 * j + k);
  return t;
}
}  // namespace

TEST_CASE("slice views share storage and read the right elements") {
  Tensor t = iota3();
  CHECK(t.is_contiguous());
  CHECK(t.nbytes() == 96);
  Tensor s = t.slice(1, 1, 3);  // (2, 2, 4)
  CHECK(s.shape() == Shape{2, 2, 4});
  CHECK(s.storage() == t.storage());
  CHECK_FALSE(s.is_contiguous());
  CHECK(s.at({1, 0, 2}) == 112.0f);
  CHECK(s.at({0, 1, 3}) == 23.0f);
  Tensor r = t.row(1);  // (1, 3, 4), contiguous
  CHECK(r.is_contiguous());
  CHECK(r.at({0, 2, 1}) == 121.0f);
  Tensor last = t.slice(-1, 3, 4);
  CHECK(last.at({1, 2, 0}) == 123.0f);
  s.data<float>()[0] = -1.0f;  // writes through the view
  CHECK(t.at({0, 1, 0}) == -1.0f);
  CHECK_THROWS_AS(t.slice(1, 2, 4), Error);
  CHECK_THROWS_AS(t.slice(3, 0, 1), Error);
  CHECK_THROWS_AS(t.at({2, 0, 0}), Error);
  CHECK_THROWS_AS(t.at({0, 0}), Error);
}

TEST_CASE("transpose, contiguous and reshape") {
  Tensor t = iota3();
  Tensor tr = t.transpose(0, 2);  // (4, 3, 2)
  CHECK(tr.shape() == Shape{4, 3, 2});
  CHECK_FALSE(tr.is_contiguous());
  CHECK(tr.at({3, 1, 1}) == 113.0f);
  CHECK_THROWS_AS(tr.reshape({24}), Error);  // not contiguous
  Tensor c = tr.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.storage() != t.storage());
  for (int64_t k = 0; k < 4; ++k)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t i = 0; i < 2; ++i) CHECK(c.at({k, j, i}) == t.at({i, j, k}));
  Tensor flat = c.reshape({24});
  CHECK(flat.at({1}) == 100.0f);  // (k=0, j=0, i=1)
  CHECK(flat.at({23}) == 123.0f);
  Tensor m = t.reshape({6, 4});
  CHECK(m.storage() == t.storage());
  CHECK(m.at({5, 3}) == 123.0f);
  CHECK_THROWS_AS(t.reshape({5, 5}), Error);
  CHECK(t.contiguous().storage() == t.storage());  // already contiguous: no copy
  // A slice along the middle dim, made contiguous.
  Tensor sc = t.slice(1, 1, 2).contiguous();
  CHECK(sc.shape() == Shape{2, 1, 4});
  CHECK(sc.at({1, 0, 3}) == 113.0f);
}

TEST_CASE("to(F16) and to(BF16) round-trip, matching the scalar conversions") {
  std::mt19937 g(5);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  Tensor t = Tensor::empty({3, 37});
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = nd(g);
  t.data<float>()[0] = 1.5f;      // exact in both
  t.data<float>()[1] = 65504.0f;  // max half
  for (DType dt : {DType::F16, DType::BF16}) {
    const std::string dt_name(dtype_name(dt));
    CAPTURE(dt_name);
    Tensor h = t.to(dt);
    CHECK(h.dtype() == dt);
    CHECK(h.shape() == t.shape());
    CHECK(h.nbytes() == static_cast<size_t>(t.numel()) * 2);
    Tensor back = h.to(DType::F32);
    int bad = 0;
    const double rel = dt == DType::F16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);  // half an ulp
    for (int64_t i = 0; i < t.numel(); ++i) {
      const float x = t.data<float>()[i], y = back.data<float>()[i];
      const uint16_t bits = h.data<uint16_t>()[i];
      bad += bits != (dt == DType::F16 ? f32_to_f16(x) : f32_to_bf16(x));
      bad += !(std::fabs(y - x) <= rel * std::fabs(x) + 1e-7);
      bad += back.to(dt).data<uint16_t>()[i] != bits;  // a second trip changes nothing
    }
    CHECK(bad == 0);
    CHECK(back.data<float>()[0] == 1.5f);
  }
  CHECK(t.to(DType::F16).to(DType::BF16).dtype() == DType::BF16);  // through f32
  CHECK(t.to(DType::F32).storage() == t.storage());
  // A transposed view converts in logical order.
  Tensor tt = t.transpose(0, 1).to(DType::F16).to(DType::F32);
  CHECK(tt.shape() == Shape{37, 3});
  CHECK(tt.at({0, 0}) == 1.5f);
  CHECK_THROWS_AS(t.to(DType::I32), Error);
}

TEST_CASE("mapped tensors read the file and refuse ranges past its end, naming the file") {
  test::TempPath p("tensor.bin");
  std::string bytes(64, '\0');
  for (int i = 0; i < 16; ++i) {
    const float v = static_cast<float>(i) * 0.5f;
    std::memcpy(&bytes[static_cast<size_t>(i) * 4], &v, 4);
  }
  p.write(bytes);
  auto f = MappedFile::open(p.str());
  Tensor m = Tensor::mapped(f, 16, {3, 4}, DType::F32);  // floats 4..15
  CHECK(m.storage()->kind() == Storage::Kind::Mapped);
  CHECK_FALSE(m.storage()->writable());
  CHECK(m.at({0, 0}) == 2.0f);
  CHECK(m.at({2, 3}) == 7.5f);
  CHECK_THROWS_AS(Tensor::mapped(f, 20, {3, 4}, DType::F32), Error);  // 4 bytes past the end
  CHECK_THROWS_WITH(Tensor::mapped(f, 0, {17}, DType::F32), doctest::Contains(p.str().c_str()));
  CHECK_THROWS_AS(Tensor::mapped(f, 100, {1}, DType::F32), Error);  // offset past the end
  CHECK_THROWS_AS(Tensor::mapped(f, 0, {1, 33}, DType::Q4_0), Error);  // partial block
  CHECK(Tensor::mapped(f, 64, {0}, DType::F32).numel() == 0);  // an empty tensor at the very end
}

TEST_CASE("external tensors wrap caller memory; quantized views keep whole rows") {
  float buf[6] = {1, 2, 3, 4, 5, 6};
  Tensor e = Tensor::external(buf, {2, 3}, DType::F32);
  CHECK(e.storage()->kind() == Storage::Kind::External);
  CHECK(e.at({1, 2}) == 6.0f);
  buf[4] = 50;
  CHECK(e.at({1, 1}) == 50.0f);

  Tensor q = Tensor::zeros({4, 64}, DType::Q4_0);  // 2 blocks of 18 bytes per row
  CHECK(q.nbytes() == 4 * 36);
  Tensor r = q.slice(0, 2, 4);
  CHECK(r.offset() == 72);
  CHECK_THROWS_AS(q.slice(1, 0, 32), Error);
  CHECK_THROWS_AS(q.transpose(0, 1), Error);
  CHECK_THROWS_AS(q.reshape({8, 16}), Error);  // splits a block
  CHECK(q.reshape({2, 128}).shape() == Shape{2, 128});
  CHECK_THROWS_AS(Tensor::empty({3, 33}, DType::Q4_0), Error);
  Tensor empty = Tensor::empty({3, 0});  // empty tensors are legal and own no bytes
  CHECK(empty.nbytes() == 0);
  CHECK(empty.shape().rows() == 3);
  CHECK(empty.contiguous().numel() == 0);
}
