// xsimd bodies of RoPE in both pairings. Interleaved pairs are rotated with a lane swap
// (swizzle i^1) against per-token [c, c] and [−s, s] rows; NeoX halves are rotated directly.
#pragma once

#include <xsimd/xsimd.hpp>

#include "kernels/ref/rope.h"

namespace edgellm::simd {

template <class A>
struct Rope {
  using B = xsimd::batch<float, A>;
  using U = xsimd::batch<uint32_t, A>;
  static constexpr int64_t W = static_cast<int64_t>(B::size);
  static constexpr int64_t kMaxHD = 1024;

  struct PairSwap {
    static constexpr uint32_t get(unsigned i, unsigned) { return i ^ 1u; }
  };
  static B swap_pairs(B v) { return xsimd::swizzle(v, xsimd::make_batch_constant<U, PairSwap>()); }

  // sign = +1 applies the rotation (forward); −1 applies its transpose and accumulates (backward).
  template <bool kBackward>
  static void apply(float* y, const float* x, const float* cos, const float* sin, int64_t T, int64_t NH,
                    int64_t HD, RopePairing p) {
    const int64_t half = HD / 2;
    if (p == RopePairing::Interleaved) {
      alignas(64) float cc[kMaxHD], ss[kMaxHD];
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t i = 0; i < half; ++i) {
          const float c = cos[t * half + i], s = sin[t * half + i];
          cc[2 * i] = c;
          cc[2 * i + 1] = c;
          ss[2 * i] = kBackward ? s : -s;
          ss[2 * i + 1] = kBackward ? -s : s;
        }
        for (int64_t h = 0; h < NH; ++h) {
          const float* xh = x + (t * NH + h) * HD;
          float* yh = y + (t * NH + h) * HD;
          int64_t i = 0;
          for (; i + W <= HD; i += W) {
            const B v = B::load_unaligned(xh + i);
            B r = xsimd::fma(v, B::load_aligned(cc + i), swap_pairs(v) * B::load_aligned(ss + i));
            if (kBackward) r += B::load_unaligned(yh + i);
            r.store_unaligned(yh + i);
          }
          for (; i < HD; i += 2) {
            const float xa = xh[i], xb = xh[i + 1];
            const float ya = xa * cc[i] + xb * ss[i], yb = xb * cc[i + 1] + xa * ss[i + 1];
            if (kBackward) {
              yh[i] += ya;
              yh[i + 1] += yb;
            } else {
              yh[i] = ya;
              yh[i + 1] = yb;
            }
          }
        }
      }
      return;
    }
    for (int64_t t = 0; t < T; ++t) {
      const float* ct = cos + t * half;
      const float* st = sin + t * half;
      for (int64_t h = 0; h < NH; ++h) {
        const float* xh = x + (t * NH + h) * HD;
        float* yh = y + (t * NH + h) * HD;
        int64_t i = 0;
        for (; i + W <= half; i += W) {
          const B xa = B::load_unaligned(xh + i), xb = B::load_unaligned(xh + half + i);
          const B c = B::load_unaligned(ct + i), s = B::load_unaligned(st + i);
          if (kBackward) {
            (B::load_unaligned(yh + i) + xsimd::fma(xa, c, xb * s)).store_unaligned(yh + i);
            (B::load_unaligned(yh + half + i) + xsimd::fms(xb, c, xa * s)).store_unaligned(yh + half + i);
          } else {
            xsimd::fms(xa, c, xb * s).store_unaligned(yh + i);
            xsimd::fma(xa, s, xb * c).store_unaligned(yh + half + i);
          }
        }
        for (; i < half; ++i) {
          const float xa = xh[i], xb = xh[half + i], c = ct[i], s = st[i];
          if (kBackward) {
            yh[i] += xa * c + xb * s;
            yh[half + i] += -xa * s + xb * c;
          } else {
            yh[i] = xa * c - xb * s;
            yh[half + i] = xa * s + xb * c;
          }
        }
      }
    }
  }

  static void rope_forward(float* y, const float* x, const float* cos, const float* sin, int64_t T, int64_t NH,
                           int64_t HD, RopePairing p) {
    if (HD > kMaxHD) return ref::rope_forward<float, A>(y, x, cos, sin, T, NH, HD, p);
    apply<false>(y, x, cos, sin, T, NH, HD, p);
  }
  static void rope_backward(float* dx, const float* dy, const float* cos, const float* sin, int64_t T, int64_t NH,
                            int64_t HD, RopePairing p) {
    if (HD > kMaxHD) return ref::rope_backward<float, A>(dx, dy, cos, sin, T, NH, HD, p);
    apply<true>(dx, dy, cos, sin, T, NH, HD, p);
  }
};

}  // namespace edgellm::simd
