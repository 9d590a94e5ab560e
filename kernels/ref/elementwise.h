// Scalar references of the elementwise ops, templated on the element type so that
// tests can run them in double for finite differences. The truth every ISA is checked against.
#pragma once

#include <cmath>
#include <cstdint>

namespace edgellm::ref {

template <class T, class Tag = void>
void add_forward(T* y, const T* a, const T* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}
template <class T, class Tag = void>
void add_backward(T* da, T* db, const T* dy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    da[i] += dy[i];
    db[i] += dy[i];
  }
}

template <class T, class Tag = void>
void mul_forward(T* y, const T* a, const T* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}
template <class T, class Tag = void>
void mul_backward(T* da, T* db, const T* dy, const T* a, const T* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    da[i] += dy[i] * b[i];
    db[i] += dy[i] * a[i];
  }
}

template <class T, class Tag = void>
void scale_forward(T* y, const T* x, T s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = s * x[i];
}
template <class T, class Tag = void>
void scale_backward(T* dx, const T* dy, T s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] += s * dy[i];
}

// silu(x) = x·σ(x);  silu'(x) = σ(x)·(1 + x·(1 − σ(x)))
template <class T, class Tag = void>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}
template <class T, class Tag = void>
void silu_forward(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * sigmoid<T, Tag>(x[i]);
}
template <class T, class Tag = void>
void silu_backward(T* dx, const T* dy, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T s = sigmoid<T, Tag>(x[i]);
    dx[i] += dy[i] * s * (T(1) + x[i] * (T(1) - s));
  }
}

// gelu_tanh(x) = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³)
// d/dx = ½(1 + tanh u) + ½x(1 − tanh² u)·√(2/π)(1 + 3·0.044715x²)
constexpr double kGeluC = 0.7978845608028654;  // √(2/π)
constexpr double kGeluA = 0.044715;
template <class T, class Tag = void>
void gelu_forward(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T u = T(kGeluC) * (x[i] + T(kGeluA) * x[i] * x[i] * x[i]);
    y[i] = T(0.5) * x[i] * (T(1) + std::tanh(u));
  }
}
template <class T, class Tag = void>
void gelu_backward(T* dx, const T* dy, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T u = T(kGeluC) * (x[i] + T(kGeluA) * x[i] * x[i] * x[i]);
    const T th = std::tanh(u);
    const T du = T(kGeluC) * (T(1) + T(3 * kGeluA) * x[i] * x[i]);
    dx[i] += dy[i] * (T(0.5) * (T(1) + th) + T(0.5) * x[i] * (T(1) - th * th) * du);
  }
}

// swiglu(g, u) = silu(g)·u;  ∂/∂g = u·silu'(g),  ∂/∂u = silu(g)
template <class T, class Tag = void>
void swiglu_forward(T* y, const T* gate, const T* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = gate[i] * sigmoid<T, Tag>(gate[i]) * up[i];
}
template <class T, class Tag = void>
void swiglu_backward(T* dgate, T* dup, const T* dy, const T* gate, const T* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T s = sigmoid<T, Tag>(gate[i]);
    dgate[i] += dy[i] * up[i] * s * (T(1) + gate[i] * (T(1) - s));
    dup[i] += dy[i] * gate[i] * s;
  }
}

// Soft-capping (Gemma 2's final logits): y = cap · tanh(x / cap); bounds |y| below cap, ≈ x for |x| ≪ cap.
template <class T, class Tag = void>
void softcap_forward(T* y, const T* x, T cap, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = cap * std::tanh(x[i] / cap);
}
// From the forward's output y: dy/dx = 1 − tanh² = 1 − (y / cap)², so dx += dy · (1 − (y/cap)²).
template <class T, class Tag = void>
void softcap_backward(T* dx, const T* dy, const T* y, T cap, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T t = y[i] / cap;
    dx[i] += dy[i] * (T(1) - t * t);
  }
}

}  // namespace edgellm::ref
