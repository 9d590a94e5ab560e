// Scalar reference of RMSNorm (Llama's: y = x · rstd · w) and LayerNorm (GPT-2's: y = (x − mean) · rstd · w + b),
// forward and backward. Not the SIMD bodies (kernels/simd/norm.h).
#pragma once

#include <cmath>
#include <cstdint>

namespace edgellm::ref {

// y, x (rows, C); w (C); rstd (rows) or null
template <class T, class Tag = void>
void rmsnorm_forward(T* y, T* rstd, const T* x, const T* w, int64_t rows, int64_t C, T eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    T ss = 0;
    for (int64_t i = 0; i < C; ++i) ss += xr[i] * xr[i];
    const T rs = T(1) / std::sqrt(ss / T(C) + eps);
    if (rstd) rstd[r] = rs;
    for (int64_t i = 0; i < C; ++i) y[r * C + i] = xr[i] * rs * w[i];
  }
}

// With r = (mean(x²) + eps)^(−½):
//   dw_i += dy_i · x_i · r
//   dx_j += r · w_j · dy_j − (r³ / C) · x_j · Σ_i dy_i · w_i · x_i
template <class T, class Tag = void>
void rmsnorm_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, const T* rstd, int64_t rows, int64_t C) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    const T* dyr = dy + r * C;
    const T rs = rstd[r];
    T dot = 0;
    for (int64_t i = 0; i < C; ++i) dot += dyr[i] * w[i] * xr[i];
    const T k = rs * rs * rs * dot / T(C);
    for (int64_t i = 0; i < C; ++i) {
      dx[r * C + i] += rs * w[i] * dyr[i] - k * xr[i];
      dw[i] += dyr[i] * xr[i] * rs;
    }
  }
}

// y, x (rows, C); w, b (C); rstd (rows) or null. rstd = (mean((x − mean)²) + eps)^(−½), the two-pass
// variance as torch computes it (not E[x²] − mean², which cancels when |mean| ≫ std).
template <class T, class Tag = void>
void layernorm_forward(T* y, T* rstd, const T* x, const T* w, const T* b, int64_t rows, int64_t C, T eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    T sum = 0;
    for (int64_t i = 0; i < C; ++i) sum += xr[i];
    const T mean = sum / T(C);
    T ss = 0;
    for (int64_t i = 0; i < C; ++i) ss += (xr[i] - mean) * (xr[i] - mean);
    const T rs = T(1) / std::sqrt(ss / T(C) + eps);
    if (rstd) rstd[r] = rs;
    for (int64_t i = 0; i < C; ++i) y[r * C + i] = (xr[i] - mean) * rs * w[i] + b[i];
  }
}

// With x̂ = (x − mean)·r (the mean recomputed from x, r the forward's rstd) and g = dy ∘ w:
//   dx_j += r · (g_j − mean(g) − x̂_j · mean(g ∘ x̂)),   dw_i += dy_i · x̂_i,   db_i += dy_i
template <class T, class Tag = void>
void layernorm_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, const T* rstd, int64_t rows,
                        int64_t C) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * C;
    const T* dyr = dy + r * C;
    T sum = 0;
    for (int64_t i = 0; i < C; ++i) sum += xr[i];
    const T mean = sum / T(C), rs = rstd[r];
    T sg = 0, sgx = 0;
    for (int64_t i = 0; i < C; ++i) {
      const T g = dyr[i] * w[i];
      sg += g;
      sgx += g * (xr[i] - mean) * rs;
    }
    sg /= T(C);
    sgx /= T(C);
    for (int64_t i = 0; i < C; ++i) {
      const T xh = (xr[i] - mean) * rs;
      dx[r * C + i] += rs * (dyr[i] * w[i] - sg - xh * sgx);
      dw[i] += dyr[i] * xh;
      db[i] += dyr[i];
    }
  }
}

}  // namespace edgellm::ref
