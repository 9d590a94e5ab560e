// Scalar reference of rotary position embedding in both pairings.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace edgellm::ref {

// Index of the two dims that pair i (0 <= i < HD/2) rotates together.
static inline void rope_pair(int64_t i, int64_t HD, RopePairing p, int64_t& a, int64_t& b) {
  if (p == RopePairing::Interleaved) {
    a = 2 * i;
    b = 2 * i + 1;
  } else {
    a = i;
    b = i + HD / 2;
  }
}

// x, y (T, NH, HD); cos, sin (T, HD/2).  [ya, yb] = [[c, −s], [s, c]] · [xa, xb]
template <class T, class Tag = void>
void rope_forward(T* y, const T* x, const T* cos, const T* sin, int64_t Tn, int64_t NH, int64_t HD,
                  RopePairing p) {
  const int64_t half = HD / 2;
  for (int64_t t = 0; t < Tn; ++t)
    for (int64_t h = 0; h < NH; ++h) {
      const T* xh = x + (t * NH + h) * HD;
      T* yh = y + (t * NH + h) * HD;
      for (int64_t i = 0; i < half; ++i) {
        int64_t a, b;
        rope_pair(i, HD, p, a, b);
        const T c = cos[t * half + i], s = sin[t * half + i];
        const T xa = xh[a], xb = xh[b];
        yh[a] = xa * c - xb * s;
        yh[b] = xa * s + xb * c;
      }
    }
}

// The rotation is orthogonal, so the backward applies its transpose: [[c, s], [−s, c]].
template <class T, class Tag = void>
void rope_backward(T* dx, const T* dy, const T* cos, const T* sin, int64_t Tn, int64_t NH, int64_t HD,
                   RopePairing p) {
  const int64_t half = HD / 2;
  for (int64_t t = 0; t < Tn; ++t)
    for (int64_t h = 0; h < NH; ++h) {
      const T* dyh = dy + (t * NH + h) * HD;
      T* dxh = dx + (t * NH + h) * HD;
      for (int64_t i = 0; i < half; ++i) {
        int64_t a, b;
        rope_pair(i, HD, p, a, b);
        const T c = cos[t * half + i], s = sin[t * half + i];
        const T ga = dyh[a], gb = dyh[b];
        dxh[a] += ga * c + gb * s;
        dxh[b] += -ga * s + gb * c;
      }
    }
}

}  // namespace edgellm::ref
