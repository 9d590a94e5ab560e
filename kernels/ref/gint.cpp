// Scalar GINT (group-wise integer) quantize / dequantize and the reference fused dot.
// Not the fast path: kernels/simd/gint.h holds the xsimd body the arch/ files instantiate.
#include "kernels/quant/gint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/ref/quant.h"
#include "runtime/dtype.h"
#include "runtime/error.h"

namespace edgellm::quant {

void gint_check(const GintParams& p, int64_t K) {
  if (p.bits != 2 && p.bits != 3 && p.bits != 4 && p.bits != 8)
    fail("gint: bits={} is not one of 2, 3, 4, 8", p.bits);
  if (p.group != 32 && p.group != 64 && p.group != 128) fail("gint: group={} is not one of 32, 64, 128", p.group);
  if (K <= 0 || K % p.group != 0) fail("gint: K={} is not a positive multiple of the group size {}", K, p.group);
}

int64_t gint_codes_bytes(const GintParams& p, int64_t K) { return K * p.bits / 8; }
int64_t gint_row_bytes(const GintParams& p, int64_t K) { return gint_codes_bytes(p, K) + 4 * (K / p.group); }

void quantize_row_gint_ref(uint8_t* dst, const float* x, int64_t K, const GintParams& p, bool symmetric) {
  gint_check(p, K);
  const int64_t ng = K / p.group;
  const int qmax = (1 << p.bits) - 1;
  uint8_t* codes = dst;
  auto* scales = reinterpret_cast<uint16_t*>(dst + gint_codes_bytes(p, K));  // may be unaligned: memcpy below
  std::memset(codes, 0, static_cast<size_t>(gint_codes_bytes(p, K)));
  for (int64_t g = 0; g < ng; ++g) {
    const float* xg = x + g * p.group;
    float scale, zero;
    if (symmetric) {
      float amax = 0;
      for (int j = 0; j < p.group; ++j) amax = std::max(amax, std::fabs(xg[j]));
      scale = 2.0f * amax / static_cast<float>(qmax);  // GPTQ's symmetric grid: [-amax, amax] over qmax steps
      zero = static_cast<float>(1 << (p.bits - 1));
    } else {
      const float lo = std::min(0.0f, *std::min_element(xg, xg + p.group));
      const float hi = std::max(0.0f, *std::max_element(xg, xg + p.group));
      scale = (hi - lo) / static_cast<float>(qmax);
      zero = scale > 0 ? std::clamp(std::round(-lo / scale), 0.0f, static_cast<float>(qmax)) : 0.0f;
    }
    const uint16_t s16 = f32_to_f16(scale), z16 = f32_to_f16(zero);
    std::memcpy(reinterpret_cast<uint8_t*>(scales) + 2 * g, &s16, 2);
    std::memcpy(reinterpret_cast<uint8_t*>(scales) + 2 * (ng + g), &z16, 2);
    const float s = f16_to_f32(s16), inv = s > 0 ? 1.0f / s : 0.0f;
    for (int j = 0; j < p.group; ++j) {
      const int q = std::clamp(static_cast<int>(std::lrintf(xg[j] * inv + zero)), 0, qmax);
      const int64_t bit = (g * p.group + j) * p.bits;
      codes[bit >> 3] |= static_cast<uint8_t>(q << (bit & 7));
      if ((bit & 7) + p.bits > 8) codes[(bit >> 3) + 1] |= static_cast<uint8_t>(q >> (8 - (bit & 7)));
    }
  }
}

void dequantize_row_gint(float* y, const uint8_t* src, int64_t K, const GintParams& p) {
  gint_check(p, K);
  const int64_t ng = K / p.group;
  const uint8_t* sz = src + gint_codes_bytes(p, K);
  for (int64_t g = 0; g < ng; ++g) {
    uint16_t s16, z16;
    std::memcpy(&s16, sz + 2 * g, 2);
    std::memcpy(&z16, sz + 2 * (ng + g), 2);
    const float s = f16_to_f32(s16), z = f16_to_f32(z16);
    for (int j = 0; j < p.group; ++j) {
      const int64_t k = g * p.group + j;
      y[k] = s * (static_cast<float>(gint_code(src, k, p.bits)) - z);
    }
  }
}

}  // namespace edgellm::quant

namespace edgellm::ref {

// s[r * s_stride] = sum_k w_k x_r[k], w the dequantized GINT row; float accumulation in k order.
void gint_dot_ref(float* s, int64_t s_stride, const uint8_t* w, const float* x, int64_t x_stride, int64_t nx,
                  int64_t K, int bits, int group) {
  const quant::GintParams p{bits, group};
  std::vector<float> row(static_cast<size_t>(K));
  quant::dequantize_row_gint(row.data(), w, K, p);
  for (int64_t r = 0; r < nx; ++r) {
    float acc = 0;
    for (int64_t k = 0; k < K; ++k) acc += row[k] * x[r * x_stride + k];
    s[r * s_stride] = acc;
  }
}

}  // namespace edgellm::ref
