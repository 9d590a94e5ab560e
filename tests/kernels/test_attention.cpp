// Tests of causal grouped-query attention: the scalar reference against a naive full-softmax attention in
// double, its backward against central differences in double, every ISA's driver run against the reference
// on ragged shapes (with and without a KV-cache prefix, padded strides), and the scratch it asks for.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "kernels/ref/attention.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

using namespace edgellm;

namespace {

struct Shape {
  int64_t T, NH, KVH, HD, pos0, pad;  // pad: extra floats after every row (views into wider buffers)
};

AttentionDims dims_of(const Shape& s) {
  AttentionDims d = attention_dims(s.T, s.NH, s.KVH, s.HD, s.pos0);
  d.q_stride += s.pad;
  d.k_stride += 2 * s.pad;
  d.v_stride += s.pad + (s.pad ? 1 : 0);
  d.o_stride += s.pad;
  return d;
}

// rows × stride values, the first `width` of each row N(0, sd), the rest `pad_value`.
template <class T>
std::vector<T> rows_of(int64_t rows, int64_t stride, int64_t width, std::mt19937& rng, T pad_value,
                       double sd = 1.0) {
  std::vector<T> v(static_cast<size_t>(rows * stride), pad_value);
  std::normal_distribution<double> nd(0.0, sd);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < width; ++i) v[static_cast<size_t>(r * stride + i)] = static_cast<T>(nd(rng));
  return v;
}

template <class T>
struct Problem {
  AttentionDims d;
  std::vector<T> q, k, v, o, L, dO, dq, dk, dv;
  Problem(const AttentionDims& dd, unsigned seed, T pad) : d(dd) {
    std::mt19937 rng(seed);
    const int64_t qw = d.NH * d.HD, kw = d.KVH * d.HD;
    q = rows_of<T>(d.T, d.q_stride, qw, rng, pad);
    k = rows_of<T>(d.S, d.k_stride, kw, rng, pad);
    v = rows_of<T>(d.S, d.v_stride, kw, rng, pad);
    dO = rows_of<T>(d.T, d.o_stride, qw, rng, pad);
    dq = rows_of<T>(d.T, d.q_stride, qw, rng, T(777), 0.5);  // nonzero: backward must accumulate
    dk = rows_of<T>(d.S, d.k_stride, kw, rng, T(777), 0.5);
    dv = rows_of<T>(d.S, d.v_stride, kw, rng, T(777), 0.5);
    o.assign(static_cast<size_t>(d.T * d.o_stride), T(777));
    L.assign(static_cast<size_t>(d.T * d.NH), T(777));
  }
  void ref_forward() {
    std::vector<T> work(static_cast<size_t>(d.HD));
    for (int64_t g = 0; g < d.KVH; ++g)
      ref::attention_forward<T>(o.data(), L.data(), q.data(), k.data(), v.data(), d, g, 0, d.T, work.data());
  }
  void ref_backward() {
    for (int64_t g = 0; g < d.KVH; ++g)
      ref::attention_backward<T>(dq.data(), dk.data(), dv.data(), dO.data(), q.data(), k.data(), v.data(),
                                 o.data(), L.data(), d, g, nullptr);
  }
};

// Naive attention in double: all scores of a row, a two-pass softmax, then the weighted sum of values.
void naive_attention(std::vector<double>& o, std::vector<double>& L, const Problem<double>& p) {
  const AttentionDims& d = p.d;
  const int64_t G = d.NH / d.KVH;
  o.assign(static_cast<size_t>(d.T * d.NH * d.HD), 0.0);
  L.assign(static_cast<size_t>(d.T * d.NH), 0.0);
  for (int64_t t = 0; t < d.T; ++t)
    for (int64_t h = 0; h < d.NH; ++h) {
      const int64_t g = h / G, n = d.pos0 + t + 1;
      // A sliding window masks keys before pos0 + t − window + 1 (weight exactly 0).
      const int64_t first = d.window > 0 ? std::max<int64_t>(0, n - d.window) : 0;
      std::vector<double> x(static_cast<size_t>(n), -std::numeric_limits<double>::infinity());
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t s = first; s < n; ++s) {
        double dot = 0;
        for (int64_t i = 0; i < d.HD; ++i) dot += p.q[t * d.q_stride + h * d.HD + i] * p.k[s * d.k_stride + g * d.HD + i];
        x[s] = dot * d.scale;
        if (d.softcap > 0) x[s] = d.softcap * std::tanh(x[s] / d.softcap);
        m = std::max(m, x[s]);
      }
      double sum = 0;
      for (double& e : x) sum += (e = std::exp(e - m));
      for (int64_t s = 0; s < n; ++s)
        for (int64_t i = 0; i < d.HD; ++i)
          o[(t * d.NH + h) * d.HD + i] += x[s] / sum * p.v[s * d.v_stride + g * d.HD + i];
      L[t * d.NH + h] = m + std::log(sum);
    }
}

// max over the valid columns of rows × width of |a − b| / (1 + |b|)
template <class T>
double max_rel(const std::vector<T>& a, const std::vector<T>& b, int64_t rows, int64_t stride, int64_t width) {
  double e = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < width; ++i) {
      const double x = a[r * stride + i], y = b[r * stride + i];
      e = std::max(e, std::isfinite(x) ? std::abs(x - y) / (1.0 + std::abs(y)) : 1e30);
    }
  return e;
}
template <class T>
bool pads_intact(const std::vector<T>& a, int64_t rows, int64_t stride, int64_t width, T pad) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = width; i < stride; ++i)
      if (a[r * stride + i] != pad) return false;
  return true;
}

std::string describe(const Shape& s) {
  return "T=" + std::to_string(s.T) + " NH=" + std::to_string(s.NH) + " KVH=" + std::to_string(s.KVH) +
         " HD=" + std::to_string(s.HD) + " pos0=" + std::to_string(s.pos0) + " pad=" + std::to_string(s.pad);
}

std::vector<Shape> ragged_shapes() {
  const int64_t Ts[] = {1, 7, 33, 130}, HDs[] = {16, 64, 80, 128};
  const int64_t groups[3][2] = {{4, 4}, {4, 2}, {8, 1}};
  std::vector<Shape> v;
  int i = 0;
  for (int64_t T : Ts)
    for (int64_t HD : HDs) {
      const auto* a = groups[i % 3];
      const auto* b = groups[(i + 1) % 3];
      v.push_back({T, a[0], a[1], HD, 0, 0});                            // training: S = T
      v.push_back({T, b[0], b[1], HD, 5 + 17 * (i % 4), (i % 2) * 3});  // after a cache prefix
      ++i;
    }
  // HD that is not a multiple of any vector width: the scalar tails of every micro-kernel
  v.push_back({7, 4, 2, 12, 3, 1});
  v.push_back({40, 2, 1, 20, 0, 0});
  v.push_back({3, 8, 8, 5, 9, 2});
  v.push_back({150, 2, 2, 36, 70, 0});
  return v;
}

}  // namespace

TEST_CASE("attention ref: matches naive full-softmax attention in double") {
  for (const Shape& s : {Shape{1, 4, 4, 16, 0, 0}, Shape{7, 4, 2, 5, 0, 2}, Shape{9, 8, 1, 16, 11, 0},
                         Shape{70, 4, 2, 8, 3, 1}}) {
    INFO(describe(s));
    Problem<double> p(dims_of(s), 1, std::numeric_limits<double>::quiet_NaN());
    p.ref_forward();
    std::vector<double> o, L;
    naive_attention(o, L, p);
    const AttentionDims& d = p.d;
    for (int64_t t = 0; t < d.T; ++t)
      for (int64_t j = 0; j < d.NH * d.HD; ++j) REQUIRE(p.o[t * d.o_stride + j] == doctest::Approx(o[t * d.NH * d.HD + j]).epsilon(1e-12));
    for (size_t i = 0; i < L.size(); ++i) REQUIRE(p.L[i] == doctest::Approx(L[i]).epsilon(1e-12));
    CHECK(pads_intact(p.o, d.T, d.o_stride, d.NH * d.HD, 777.0));
  }
}

TEST_CASE("attention: a sliding window and a soft-cap match naive attention, on every ISA, forward and backward") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Shape shapes[] = {{1, 4, 4, 16, 9, 0}, {7, 4, 2, 12, 3, 1}, {33, 8, 1, 64, 0, 0}, {150, 2, 2, 36, 70, 0}};
  const int64_t windows[] = {0, 1, 4, 40, 100000};
  for (const Shape& s : shapes)
    for (int64_t window : windows)
      for (double softcap : {0.0, 2.0}) {
        INFO(describe(s) << " window=" << window << " softcap=" << softcap);
        AttentionDims d = dims_of(s);
        d.window = window;
        d.softcap = softcap;
        Problem<double> pd(d, 5, std::numeric_limits<double>::quiet_NaN());
        pd.ref_forward();
        std::vector<double> o, L;
        naive_attention(o, L, pd);
        for (int64_t t = 0; t < d.T; ++t)
          for (int64_t j = 0; j < d.NH * d.HD; ++j)
            REQUIRE(pd.o[t * d.o_stride + j] == doctest::Approx(o[t * d.NH * d.HD + j]).epsilon(1e-12));
        Problem<float> ref(d, 5, nan);
        ref.ref_forward();
        for (Isa isa : available_isas()) {
          const std::string isa_str = isa_name(isa);
          CAPTURE(isa_str);
          Problem<float> got(d, 5, nan);
          attention_forward(got.o.data(), got.L.data(), got.q.data(), got.k.data(), got.v.data(), d, nullptr,
                            *kernels_for(isa));
          CHECK(max_rel(got.o, ref.o, d.T, d.o_stride, d.NH * d.HD) < 1e-5);
          CHECK(max_rel(got.L, ref.L, d.T, d.NH, d.NH) < 1e-5);
        }
        if (pd.d.pos0 > 0) continue;  // the backward runs on whole sequences (training)
        ref.ref_backward();
        const int64_t qw = d.NH * d.HD, kw = d.KVH * d.HD;
        for (Isa isa : available_isas()) {
          if (isa == Isa::Scalar && available_isas().size() > 1) continue;
          const std::string isa_str = isa_name(isa);
          CAPTURE(isa_str);
          Problem<float> got(d, 5, nan);
          const KernelTable& kt = *kernels_for(isa);
          attention_forward(got.o.data(), got.L.data(), got.q.data(), got.k.data(), got.v.data(), d, nullptr, kt);
          attention_backward(got.dq.data(), got.dk.data(), got.dv.data(), got.dO.data(), got.q.data(), got.k.data(),
                             got.v.data(), got.o.data(), got.L.data(), d, nullptr, kt);
          CHECK(max_rel(got.dq, ref.dq, d.T, d.q_stride, qw) < 1e-4);
          CHECK(max_rel(got.dk, ref.dk, d.S, d.k_stride, kw) < 1e-4);
          CHECK(max_rel(got.dv, ref.dv, d.S, d.v_stride, kw) < 1e-4);
        }
      }
}

TEST_CASE("attention ref: backward matches central differences in double (with a window and a soft-cap too)") {
  struct Case {
    Shape s;
    int64_t window;
    double softcap;
  };
  for (const Case& cs : {Case{{4, 4, 2, 3, 2, 0}, 0, 0}, Case{{3, 2, 1, 5, 0, 1}, 0, 0}, Case{{5, 2, 2, 4, 1, 0}, 0, 0},
                         Case{{7, 2, 1, 3, 0, 0}, 3, 0}, Case{{6, 2, 2, 4, 0, 1}, 0, 0.8}, Case{{7, 4, 2, 3, 0, 0}, 2, 1.5}}) {
    const Shape& s = cs.s;
    INFO(describe(s) << " window=" << cs.window << " softcap=" << cs.softcap);
    AttentionDims dd = dims_of(s);
    dd.window = cs.window;
    dd.softcap = cs.softcap;
    Problem<double> p(dd, 2, 0.0);
    const AttentionDims& d = p.d;
    p.ref_forward();
    const std::vector<double> dq0 = p.dq, dk0 = p.dk, dv0 = p.dv;
    p.ref_backward();
    // loss = Σ dO ∘ o, so d loss / d o = dO
    auto loss = [&] {
      p.ref_forward();
      double l = 0;
      for (int64_t t = 0; t < d.T; ++t)
        for (int64_t j = 0; j < d.NH * d.HD; ++j) l += p.dO[t * d.o_stride + j] * p.o[t * d.o_stride + j];
      return l;
    };
    auto check = [&](std::vector<double>& x, const std::vector<double>& grad, const std::vector<double>& grad0,
                     int64_t rows, int64_t stride, int64_t width, const char* name) {
      CAPTURE(name);
      const double eps = 1e-6;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < width; ++i) {
          double& xi = x[r * stride + i];
          const double keep = xi;
          xi = keep + eps;
          const double lp = loss();
          xi = keep - eps;
          const double lm = loss();
          xi = keep;
          const double fd = (lp - lm) / (2 * eps);
          REQUIRE(grad[r * stride + i] - grad0[r * stride + i] == doctest::Approx(fd).epsilon(1e-6).scale(1.0));
        }
    };
    check(p.q, p.dq, dq0, d.T, d.q_stride, d.NH * d.HD, "dq");
    check(p.k, p.dk, dk0, d.S, d.k_stride, d.KVH * d.HD, "dk");
    check(p.v, p.dv, dv0, d.S, d.v_stride, d.KVH * d.HD, "dv");
  }
}

TEST_CASE("attention: every ISA's forward and backward match the scalar reference") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const Shape& s : ragged_shapes()) {
    INFO(describe(s));
    const AttentionDims d = dims_of(s);
    const int64_t qw = d.NH * d.HD, kw = d.KVH * d.HD;
    Problem<float> ref(d, 3, nan);  // NaN in row padding: a kernel that reads it fails
    ref.ref_forward();
    ref.ref_backward();
    for (Isa isa : available_isas()) {
      // The scalar table holds the reference itself; the driver's split is checked through the other ISAs.
      if (isa == Isa::Scalar && available_isas().size() > 1) continue;
      const KernelTable& kt = *kernels_for(isa);
      const std::string isa_str = isa_name(isa);
      CAPTURE(isa_str);
      Problem<float> got(d, 3, nan);
      attention_forward(got.o.data(), got.L.data(), got.q.data(), got.k.data(), got.v.data(), d, nullptr, kt);
      CHECK(max_rel(got.o, ref.o, d.T, d.o_stride, qw) < 1e-5);
      CHECK(max_rel(got.L, ref.L, d.T, d.NH, d.NH) < 1e-5);
      CHECK(pads_intact(got.o, d.T, d.o_stride, qw, 777.0f));
      attention_backward(got.dq.data(), got.dk.data(), got.dv.data(), got.dO.data(), got.q.data(), got.k.data(),
                         got.v.data(), got.o.data(), got.L.data(), d, nullptr, kt);
      CHECK(max_rel(got.dq, ref.dq, d.T, d.q_stride, qw) < 1e-4);
      CHECK(max_rel(got.dk, ref.dk, d.S, d.k_stride, kw) < 1e-4);
      CHECK(max_rel(got.dv, ref.dv, d.S, d.v_stride, kw) < 1e-4);
      CHECK(pads_intact(got.dq, d.T, d.q_stride, qw, 777.0f));
      CHECK(pads_intact(got.dk, d.S, d.k_stride, kw, 777.0f));
    }
  }
}

TEST_CASE("attention: views into one fused QKV buffer give the separate-buffer result") {
  const int64_t T = 19, NH = 4, KVH = 2, HD = 16, W = (NH + 2 * KVH) * HD;
  std::mt19937 rng(4);
  const std::vector<float> qkv = rows_of<float>(T, W, W, rng, 0.0f);
  AttentionDims fused = attention_dims(T, NH, KVH, HD);
  fused.q_stride = fused.k_stride = fused.v_stride = W;
  const AttentionDims sep = attention_dims(T, NH, KVH, HD);
  std::vector<float> q(T * NH * HD), k(T * KVH * HD), v(T * KVH * HD);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < NH * HD; ++j) q[t * NH * HD + j] = qkv[t * W + j];
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < KVH * HD; ++j) {
      k[t * KVH * HD + j] = qkv[t * W + NH * HD + j];
      v[t * KVH * HD + j] = qkv[t * W + (NH + KVH) * HD + j];
    }
  std::vector<float> o1(T * NH * HD), o2(T * NH * HD), L1(T * NH), L2(T * NH);
  attention_forward(o1.data(), L1.data(), qkv.data(), qkv.data() + NH * HD, qkv.data() + (NH + KVH) * HD, fused);
  attention_forward(o2.data(), L2.data(), q.data(), k.data(), v.data(), sep);
  CHECK(o1 == o2);
  CHECK(L1 == L2);
  std::vector<float> o3(T * NH * HD);  // inference: no L
  attention_forward(o3.data(), nullptr, q.data(), k.data(), v.data(), sep);
  CHECK(o3 == o2);
}

TEST_CASE("attention: scratch is O(tile x HD) and independent of T") {
  for (int64_t HD : {16, 64, 128}) {
    const int64_t w = attention_work_floats(HD);
    CHECK(w == 2 * kAttnKeys * HD + 2 * kAttnRows * kAttnKeys + kAttnRows * HD + 3 * kAttnRows);
    CHECK(attention_scratch_floats(HD, 3) == 3 * w);
  }
  // The driver writes nothing past the scratch it asked for, at a short and a long T alike.
  const int64_t HD = 64, threads = num_threads(), n = attention_scratch_floats(HD);
  for (int64_t T : {1, 300}) {
    CAPTURE(T);
    const AttentionDims d = attention_dims(T, 8, 2, HD);
    Problem<float> p(d, 5, 0.0f), ref(d, 5, 0.0f);
    std::vector<float> scratch(static_cast<size_t>(n + 64), -1.0f);
    attention_forward(p.o.data(), p.L.data(), p.q.data(), p.k.data(), p.v.data(), d, scratch.data());
    attention_backward(p.dq.data(), p.dk.data(), p.dv.data(), p.dO.data(), p.q.data(), p.k.data(), p.v.data(),
                       p.o.data(), p.L.data(), d, scratch.data());
    for (int64_t i = n; i < n + 64; ++i) REQUIRE(scratch[i] == -1.0f);
    ref.ref_forward();
    CHECK(max_rel(p.o, ref.o, T, d.o_stride, 8 * HD) < 1e-5);
    CHECK(n == threads * attention_work_floats(HD));
  }
}

TEST_CASE("attention: inconsistent dims throw an Error naming the field") {
  std::vector<float> buf(4096);
  AttentionDims d = attention_dims(4, 6, 4, 16);  // 6 heads cannot share 4 kv heads
  CHECK_THROWS_WITH_AS(attention_forward(buf.data(), buf.data(), buf.data(), buf.data(), buf.data(), d),
                       doctest::Contains("KVH"), Error);
  d = attention_dims(4, 4, 2, 16, 3);
  d.S = 5;  // pos0 + T = 7 keys are needed
  CHECK_THROWS_WITH_AS(attention_backward(buf.data(), buf.data(), buf.data(), buf.data(), buf.data(), buf.data(),
                                          buf.data(), buf.data(), buf.data(), d),
                       doctest::Contains("AttentionDims.S"), Error);
  d = attention_dims(4, 4, 2, 16);
  d.k_stride = 16;
  CHECK_THROWS_WITH_AS(attention_forward(buf.data(), buf.data(), buf.data(), buf.data(), buf.data(), d),
                       doctest::Contains("k_stride"), Error);
}
