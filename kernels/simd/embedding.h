// xsimd bodies of the embedding lookup (row copy) and its scatter-add backward.
// Not the id checks or the threading: the driver (kernels/embedding.h) does those.
#pragma once

#include <xsimd/xsimd.hpp>

namespace edgellm::simd {

template <class A>
struct Embedding {
  using B = xsimd::batch<float, A>;
  static constexpr int64_t W = static_cast<int64_t>(B::size);

  static void forward(float* out, const float* table, const int32_t* ids, int64_t rows, int64_t C, int64_t stride) {
    for (int64_t t = 0; t < rows; ++t) {
      const float* src = table + ids[t] * stride;
      float* dst = out + t * stride;
      int64_t i = 0;
      for (; i + W <= C; i += W) B::load_unaligned(src + i).store_unaligned(dst + i);
      for (; i < C; ++i) dst[i] = src[i];
    }
  }

  // In token order, so a repeated id accumulates in the same order as the scalar reference.
  static void backward(float* dtable, const float* dout, const int32_t* ids, int64_t rows, int64_t C,
                       int64_t stride) {
    for (int64_t t = 0; t < rows; ++t) {
      const float* src = dout + t * stride;
      float* dst = dtable + ids[t] * stride;
      int64_t i = 0;
      for (; i + W <= C; i += W) (B::load_unaligned(dst + i) + B::load_unaligned(src + i)).store_unaligned(dst + i);
      for (; i < C; ++i) dst[i] += src[i];
    }
  }
};

}  // namespace edgellm::simd
