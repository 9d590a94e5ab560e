// xsimd bodies of the elementwise ops, templated on the architecture; instantiated only
// from kernels/arch/<isa>/ files. Tails fall back to the scalar reference, element by element.
#pragma once

#include <xsimd/xsimd.hpp>

#include "kernels/ref/elementwise.h"

namespace edgellm::simd {

template <class A>
struct Elementwise {
  using B = xsimd::batch<float, A>;
  static constexpr int64_t W = static_cast<int64_t>(B::size);

  static B sigmoid(B x) { return B(1.0f) / (B(1.0f) + xsimd::exp(-x)); }

  static void add_forward(float* y, const float* a, const float* b, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) (B::load_unaligned(a + i) + B::load_unaligned(b + i)).store_unaligned(y + i);
    ref::add_forward<float, A>(y + i, a + i, b + i, n - i);
  }
  static void add_backward(float* da, float* db, const float* dy, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      const B g = B::load_unaligned(dy + i);
      (B::load_unaligned(da + i) + g).store_unaligned(da + i);
      (B::load_unaligned(db + i) + g).store_unaligned(db + i);
    }
    ref::add_backward<float, A>(da + i, db + i, dy + i, n - i);
  }
  static void mul_forward(float* y, const float* a, const float* b, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) (B::load_unaligned(a + i) * B::load_unaligned(b + i)).store_unaligned(y + i);
    ref::mul_forward<float, A>(y + i, a + i, b + i, n - i);
  }
  static void mul_backward(float* da, float* db, const float* dy, const float* a, const float* b, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      const B g = B::load_unaligned(dy + i);
      xsimd::fma(g, B::load_unaligned(b + i), B::load_unaligned(da + i)).store_unaligned(da + i);
      xsimd::fma(g, B::load_unaligned(a + i), B::load_unaligned(db + i)).store_unaligned(db + i);
    }
    ref::mul_backward<float, A>(da + i, db + i, dy + i, a + i, b + i, n - i);
  }
  static void scale_forward(float* y, const float* x, float s, int64_t n) {
    int64_t i = 0;
    const B sv(s);
    for (; i + W <= n; i += W) (B::load_unaligned(x + i) * sv).store_unaligned(y + i);
    ref::scale_forward<float, A>(y + i, x + i, s, n - i);
  }
  static void scale_backward(float* dx, const float* dy, float s, int64_t n) {
    int64_t i = 0;
    const B sv(s);
    for (; i + W <= n; i += W) xsimd::fma(sv, B::load_unaligned(dy + i), B::load_unaligned(dx + i)).store_unaligned(dx + i);
    ref::scale_backward<float, A>(dx + i, dy + i, s, n - i);
  }
  static void silu_forward(float* y, const float* x, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      const B v = B::load_unaligned(x + i);
      (v * sigmoid(v)).store_unaligned(y + i);
    }
    ref::silu_forward<float, A>(y + i, x + i, n - i);
  }
  static void silu_backward(float* dx, const float* dy, const float* x, int64_t n) {
    int64_t i = 0;
    const B one(1.0f);
    for (; i + W <= n; i += W) {
      const B v = B::load_unaligned(x + i);
      const B s = sigmoid(v);
      const B d = s * xsimd::fma(v, one - s, one);
      xsimd::fma(B::load_unaligned(dy + i), d, B::load_unaligned(dx + i)).store_unaligned(dx + i);
    }
    ref::silu_backward<float, A>(dx + i, dy + i, x + i, n - i);
  }
  static void gelu_forward(float* y, const float* x, int64_t n) {
    int64_t i = 0;
    const B c(static_cast<float>(ref::kGeluC)), a(static_cast<float>(ref::kGeluA)), half(0.5f), one(1.0f);
    for (; i + W <= n; i += W) {
      const B v = B::load_unaligned(x + i);
      const B u = c * xsimd::fma(a * v * v, v, v);
      (half * v * (one + xsimd::tanh(u))).store_unaligned(y + i);
    }
    ref::gelu_forward<float, A>(y + i, x + i, n - i);
  }
  static void gelu_backward(float* dx, const float* dy, const float* x, int64_t n) {
    int64_t i = 0;
    const B c(static_cast<float>(ref::kGeluC)), a(static_cast<float>(ref::kGeluA)),
        a3(static_cast<float>(3 * ref::kGeluA)), half(0.5f), one(1.0f);
    for (; i + W <= n; i += W) {
      const B v = B::load_unaligned(x + i);
      const B u = c * xsimd::fma(a * v * v, v, v);
      const B th = xsimd::tanh(u);
      const B du = c * xsimd::fma(a3 * v, v, one);
      const B d = half * (one + th) + half * v * (one - th * th) * du;
      xsimd::fma(B::load_unaligned(dy + i), d, B::load_unaligned(dx + i)).store_unaligned(dx + i);
    }
    ref::gelu_backward<float, A>(dx + i, dy + i, x + i, n - i);
  }
  static void softcap_forward(float* y, const float* x, float cap, int64_t n) {
    int64_t i = 0;
    const B c(cap), inv(1.0f / cap);
    for (; i + W <= n; i += W) (c * xsimd::tanh(B::load_unaligned(x + i) * inv)).store_unaligned(y + i);
    ref::softcap_forward<float, A>(y + i, x + i, cap, n - i);
  }
  static void softcap_backward(float* dx, const float* dy, const float* y, float cap, int64_t n) {
    int64_t i = 0;
    const B inv(1.0f / cap), one(1.0f);
    for (; i + W <= n; i += W) {
      const B t = B::load_unaligned(y + i) * inv;
      xsimd::fma(B::load_unaligned(dy + i), xsimd::fnma(t, t, one), B::load_unaligned(dx + i)).store_unaligned(dx + i);
    }
    ref::softcap_backward<float, A>(dx + i, dy + i, y + i, cap, n - i);
  }
  static void swiglu_forward(float* y, const float* gate, const float* up, int64_t n) {
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      const B g = B::load_unaligned(gate + i);
      (g * sigmoid(g) * B::load_unaligned(up + i)).store_unaligned(y + i);
    }
    ref::swiglu_forward<float, A>(y + i, gate + i, up + i, n - i);
  }
  static void swiglu_backward(float* dgate, float* dup, const float* dy, const float* gate, const float* up,
                              int64_t n) {
    int64_t i = 0;
    const B one(1.0f);
    for (; i + W <= n; i += W) {
      const B g = B::load_unaligned(gate + i), u = B::load_unaligned(up + i), d = B::load_unaligned(dy + i);
      const B s = sigmoid(g);
      const B dsilu = s * xsimd::fma(g, one - s, one);
      xsimd::fma(d * u, dsilu, B::load_unaligned(dgate + i)).store_unaligned(dgate + i);
      xsimd::fma(d, g * s, B::load_unaligned(dup + i)).store_unaligned(dup + i);
    }
    ref::swiglu_backward<float, A>(dgate + i, dup + i, dy + i, gate + i, up + i, n - i);
  }
};

}  // namespace edgellm::simd
