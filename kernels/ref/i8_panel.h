// Scalar reference of the 8-bit panel micro-kernel (kernel_table.h: i8_panel_ukernel): the definition the SIMD
// kernels are tested against, and the scalar table's entry.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace edgellm::ref {

inline void i8_panel_ukernel(int64_t nb, int64_t kb, const int8_t* x, int64_t ldx, const float* dx,
                             const int32_t* corr, const float* dsx, int64_t ldd, const uint8_t* u, const float* wd,
                             const float* wm, float* c, int64_t ldc, int64_t m, int64_t n) {
  constexpr int64_t NC = kI8PanelCols;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float s = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        int32_t dot = corr[i * ldd + b];
        for (int64_t g = 0; g < kb / 4; ++g)
          for (int64_t e = 0; e < 4; ++e)
            dot += static_cast<int32_t>(u[((b * (kb / 4) + g) * NC + j) * 4 + e]) * x[i * ldx + b * kb + g * 4 + e];
        s += static_cast<float>(dot) * (wd[b * NC + j] * dx[i * ldd + b]);
        if (wm) s += dsx[i * ldd + b] * wm[b * NC + j];
      }
      c[i * ldc + j] = s;
    }
}

}  // namespace edgellm::ref
