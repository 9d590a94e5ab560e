// Scalar reference of the row softmax, stabilised by subtracting the row max.
#pragma once

#include <cmath>
#include <cstdint>

namespace edgellm::ref {

template <class T, class Tag = void>
void softmax_forward(T* y, const T* x, int64_t rows, int64_t C) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    T m = xr[0];
    for (int64_t i = 1; i < C; ++i) m = xr[i] > m ? xr[i] : m;
    T sum = 0;
    for (int64_t i = 0; i < C; ++i) {
      yr[i] = std::exp(xr[i] - m);
      sum += yr[i];
    }
    const T inv = T(1) / sum;
    for (int64_t i = 0; i < C; ++i) yr[i] *= inv;
  }
}

// dx_j += y_j · (dy_j − Σ_i dy_i · y_i)
template <class T, class Tag = void>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t rows, int64_t C) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y + r * C;
    const T* dyr = dy + r * C;
    T dot = 0;
    for (int64_t i = 0; i < C; ++i) dot += dyr[i] * yr[i];
    for (int64_t i = 0; i < C; ++i) dx[r * C + i] += yr[i] * (dyr[i] - dot);
  }
}

}  // namespace edgellm::ref
