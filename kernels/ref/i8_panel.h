// Scalar reference of the 8-bit panel GEMM's table entries (kernel_table.h: i8_panel_ukernel, i8_panel_pack_*): the
// definitions the SIMD kernels are tested against, and the scalar table's entries. Not here: the driver (threads,
// activation quantization: kernels/quant_gemm_i8.cpp).
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace edgellm::ref {

// Reads the codes as unsigned bytes whatever code_bits says (the scalar table does not set i8_panel_signed_codes).
inline void i8_panel_ukernel(int64_t nb, int64_t kb, int /*code_bits*/, const int8_t* x, int64_t ldx, const float* dx,
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

// Panel packing of each weight type (kernels/ref/i8_panel_pack.cpp).
void i8_panel_pack_q4_0(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                        bool signed_codes);
void i8_panel_pack_q8_0(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                        bool signed_codes);
void i8_panel_pack_q4_k(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                        bool signed_codes);
void i8_panel_pack_q5_k(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                        bool signed_codes);
void i8_panel_pack_q6_k(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows, int64_t K,
                        bool signed_codes);

}  // namespace edgellm::ref
