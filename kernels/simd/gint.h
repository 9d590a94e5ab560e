// xsimd body of the GINT fused dequant-dot, templated on the architecture (instantiated from arch/).
// Each group is decoded once to G floats (scale * q - scale * zero, on the stack, L1-resident) and
// FMA'd into one accumulator per activation row; no full-row f32 copy of the weight is made.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstring>
#include <vector>

#include "kernels/quant/gint.h"
#include "runtime/dtype.h"

namespace edgellm::simd {

template <class A>
struct GintDot {
  using B = xsimd::batch<float, A>;
  static constexpr int W = static_cast<int>(B::size);

  // codes of group starting at code k0 (byte aligned: k0 * bits is a multiple of 8 as G >= 32).
  template <int kBits>
  static void decode(float* wg, const uint8_t* c, int G, float s, float m) {
    if constexpr (kBits == 8) {
      for (int j = 0; j < G; ++j) wg[j] = s * static_cast<float>(c[j]) + m;
    } else if constexpr (kBits == 4) {
      for (int j = 0; j < G / 2; ++j) {
        wg[2 * j] = s * static_cast<float>(c[j] & 0xF) + m;
        wg[2 * j + 1] = s * static_cast<float>(c[j] >> 4) + m;
      }
    } else if constexpr (kBits == 2) {
      for (int j = 0; j < G / 4; ++j)
        for (int i = 0; i < 4; ++i) wg[4 * j + i] = s * static_cast<float>((c[j] >> (2 * i)) & 3) + m;
    } else {
      // 3 bits: 8 codes in each 3-byte (24-bit little-endian) unit.
      for (int j = 0; j < G / 8; ++j) {
        const uint32_t u = c[3 * j] | (c[3 * j + 1] << 8) | (c[3 * j + 2] << 16);
        for (int i = 0; i < 8; ++i) wg[8 * j + i] = s * static_cast<float>((u >> (3 * i)) & 7) + m;
      }
    }
  }

  template <int kBits>
  static void run_bits(float* s, int64_t ss, const uint8_t* w, const float* x, int64_t xs, int64_t nx, int64_t K,
                       int G) {
    const int64_t ng = K / G;
    const uint8_t* sz = w + K * kBits / 8;
    std::vector<B> acc(static_cast<size_t>(nx), B(0.0f));
    alignas(64) float wg[128];
    for (int64_t g = 0; g < ng; ++g) {
      uint16_t s16, z16;
      std::memcpy(&s16, sz + 2 * g, 2);
      std::memcpy(&z16, sz + 2 * (ng + g), 2);
      const float sc = f16_to_f32(s16), m = -sc * f16_to_f32(z16);
      decode<kBits>(wg, w + g * G * kBits / 8, G, sc, m);
      for (int64_t r = 0; r < nx; ++r) {
        const float* xr = x + r * xs + g * G;
        B a = acc[r];
        for (int j = 0; j < G; j += W) a = xsimd::fma(B::load_aligned(wg + j), B::load_unaligned(xr + j), a);
        acc[r] = a;
      }
    }
    for (int64_t r = 0; r < nx; ++r) s[r * ss] = xsimd::hadd(acc[r]);
  }

  static void run(float* s, int64_t ss, const uint8_t* w, const float* x, int64_t xs, int64_t nx, int64_t K, int bits,
                  int group) {
    switch (bits) {
      case 2: return run_bits<2>(s, ss, w, x, xs, nx, K, group);
      case 3: return run_bits<3>(s, ss, w, x, xs, nx, K, group);
      case 4: return run_bits<4>(s, ss, w, x, xs, nx, K, group);
      default: return run_bits<8>(s, ss, w, x, xs, nx, K, group);
    }
  }
};

}  // namespace edgellm::simd
