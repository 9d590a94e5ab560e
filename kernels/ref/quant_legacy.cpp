// Scalar quantize / dequantize / vec_dot for the 32-element formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
// Quantizers reproduce llama.cpp's *_ref rounding byte for byte (f16 scale by RNE, same float ops);
// not fast: the activation quantizers used by matmul_quant may be replaced by SIMD twins.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "kernels/quant/blocks.h"
#include "kernels/ref/quant.h"
#include "runtime/dtype.h"
#include "runtime/error.h"

namespace edgellm::ref {
using namespace edgellm::quant;

namespace {

// Rows are whole blocks; anything else is a caller bug that would silently drop the tail.
void check_row(int64_t n, const char* type) {
  if (n < 0 || n % QK != 0) fail("{}: row length {} is not a multiple of the {}-element block", type, n, QK);
}

// The element of largest magnitude, keeping its sign (first one on ties).
float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j)
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  return max;
}

void min_max(const float* x, int n, float* mn, float* mx) {
  float lo = FLT_MAX, hi = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
  *mn = lo;
  *mx = hi;
}

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

// ---- Q4_0: d = signed absmax / -8, q = min(15, trunc(x/d + 8.5)) ------------------------
void quantize_row_q4_0_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q4_0");
  auto* y = static_cast<block_q4_0*>(vy);
  for (int64_t i = 0; i < n / QK; ++i, x += QK) {
    const float d = signed_absmax(x, QK) / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    for (int j = 0; j < QK / 2; ++j) {
      // The int8 truncation of llama.cpp, then clamp to 15 (x == max gives 16).
      const int lo = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
      const int hi = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + QK / 2] * id + 8.5f)));
      y[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}
void dequantize_row_q4_0(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q4_0");
  const auto* b = static_cast<const block_q4_0*>(vx);
  for (int64_t i = 0; i < n / QK; ++i, y += QK) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < QK / 2; ++j) {
      y[j] = static_cast<float>((b[i].qs[j] & 0xF) - 8) * d;
      y[j + QK / 2] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

// ---- Q4_1: d = (max - min) / 15, m = min, q = min(15, trunc((x - min)/d + 0.5)) -----------
void quantize_row_q4_1_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q4_1");
  auto* y = static_cast<block_q4_1*>(vy);
  for (int64_t i = 0; i < n / QK; ++i, x += QK) {
    float mn, mx;
    min_max(x, QK, &mn, &mx);
    const float d = (mx - mn) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    y[i].m = f32_to_f16(mn);
    for (int j = 0; j < QK / 2; ++j) {
      const int lo = std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - mn) * id + 0.5f)));
      const int hi = std::min(15, static_cast<int>(static_cast<int8_t>((x[j + QK / 2] - mn) * id + 0.5f)));
      y[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}
void dequantize_row_q4_1(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q4_1");
  const auto* b = static_cast<const block_q4_1*>(vx);
  for (int64_t i = 0; i < n / QK; ++i, y += QK) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    for (int j = 0; j < QK / 2; ++j) {
      y[j] = static_cast<float>(b[i].qs[j] & 0xF) * d + m;
      y[j + QK / 2] = static_cast<float>(b[i].qs[j] >> 4) * d + m;
    }
  }
}

// ---- Q5_0: d = signed absmax / -16, q = min(31, trunc(x/d + 16.5)) -----------------------
void quantize_row_q5_0_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q5_0");
  auto* y = static_cast<block_q5_0*>(vy);
  for (int64_t i = 0; i < n / QK; ++i, x += QK) {
    const float d = signed_absmax(x, QK) / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    uint32_t qh = 0;
    for (int j = 0; j < QK / 2; ++j) {
      const int lo = std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f)));
      const int hi = std::min(31, static_cast<int>(static_cast<int8_t>(x[j + QK / 2] * id + 16.5f)));
      y[i].qs[j] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
      qh |= static_cast<uint32_t>((lo >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((hi >> 4) & 1) << (j + QK / 2);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}
void dequantize_row_q5_0(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q5_0");
  const auto* b = static_cast<const block_q5_0*>(vx);
  for (int64_t i = 0; i < n / QK; ++i, y += QK) {
    const float d = f16_to_f32(b[i].d);
    const uint32_t qh = load_u32(b[i].qh);
    for (int j = 0; j < QK / 2; ++j) {
      const int lo = (b[i].qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1) << 4);
      const int hi = (b[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + QK / 2)) & 1) << 4);
      y[j] = static_cast<float>(lo - 16) * d;
      y[j + QK / 2] = static_cast<float>(hi - 16) * d;
    }
  }
}

// ---- Q5_1: d = (max - min) / 31, q = trunc((x - min)/d + 0.5) (llama.cpp does not clamp) --
void quantize_row_q5_1_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q5_1");
  auto* y = static_cast<block_q5_1*>(vy);
  for (int64_t i = 0; i < n / QK; ++i, x += QK) {
    float mn, mx;
    min_max(x, QK, &mn, &mx);
    const float d = (mx - mn) / 31;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    y[i].m = f32_to_f16(mn);
    uint32_t qh = 0;
    for (int j = 0; j < QK / 2; ++j) {
      const int lo = static_cast<uint8_t>((x[j] - mn) * id + 0.5f);
      const int hi = static_cast<uint8_t>((x[j + QK / 2] - mn) * id + 0.5f);
      y[i].qs[j] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
      qh |= static_cast<uint32_t>((lo >> 4) & 1) << j;
      qh |= static_cast<uint32_t>((hi >> 4) & 1) << (j + QK / 2);
    }
    std::memcpy(y[i].qh, &qh, 4);
  }
}
void dequantize_row_q5_1(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q5_1");
  const auto* b = static_cast<const block_q5_1*>(vx);
  for (int64_t i = 0; i < n / QK; ++i, y += QK) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    const uint32_t qh = load_u32(b[i].qh);
    for (int j = 0; j < QK / 2; ++j) {
      const int lo = (b[i].qs[j] & 0xF) | static_cast<int>(((qh >> j) & 1) << 4);
      const int hi = (b[i].qs[j] >> 4) | static_cast<int>(((qh >> (j + QK / 2)) & 1) << 4);
      y[j] = static_cast<float>(lo) * d + m;
      y[j + QK / 2] = static_cast<float>(hi) * d + m;
    }
  }
}

// ---- Q8_0 / Q8_1: d = absmax / 127, q = roundf(x/d) (half away from zero) ------------------
void quantize_row_q8_0_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q8_0");
  auto* y = static_cast<block_q8_0*>(vy);
  for (int64_t i = 0; i < n / QK; ++i, x += QK) {
    float amax = 0.0f;
    for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    for (int j = 0; j < QK; ++j) y[i].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
  }
}
void dequantize_row_q8_0(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q8_0");
  const auto* b = static_cast<const block_q8_0*>(vx);
  for (int64_t i = 0; i < n / QK; ++i, y += QK) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < QK; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}
void quantize_row_q8_1_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q8_1");
  auto* y = static_cast<block_q8_1*>(vy);
  for (int64_t i = 0; i < n / QK; ++i, x += QK) {
    float amax = 0.0f;
    for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    int sum = 0;
    for (int j = 0; j < QK; ++j) {
      y[i].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
      sum += y[i].qs[j];
    }
    y[i].s = f32_to_f16(static_cast<float>(sum) * d);
  }
}
void dequantize_row_q8_1(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q8_1");
  const auto* b = static_cast<const block_q8_1*>(vx);
  for (int64_t i = 0; i < n / QK; ++i, y += QK) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < QK; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

// ---- vec_dot: sum over blocks of d_w * d_x * sum_j(qw_j * qx_j) (+ m_w * s_x for the _1 types)
namespace {

// Signed weight quants of block i (32 values, ordered as the activation block).
template <bool kQ8_1, class Unpack>
void dot_rows(float* s, int64_t ss, const void* x, int64_t x_stride, int64_t nx, int64_t nb, Unpack&& unpack) {
  int8_t q[QK];
  for (int64_t r = 0; r < nx; ++r) s[r * ss] = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    float dw, mw;
    unpack(i, q, &dw, &mw);
    for (int64_t r = 0; r < nx; ++r) {
      const auto* row = reinterpret_cast<const uint8_t*>(x) + r * x_stride;
      const int8_t* qx;
      float dx, sx = 0.0f;
      if constexpr (!kQ8_1) {  // Q8_0 activation layout: d, qs
        const auto* xb = reinterpret_cast<const block_q8_0*>(row) + i;
        qx = xb->qs;
        dx = f16_to_f32(xb->d);
      } else {
        const auto* xb = reinterpret_cast<const block_q8_1*>(row) + i;
        qx = xb->qs;
        dx = f16_to_f32(xb->d);
        sx = f16_to_f32(xb->s);
      }
      int sumi = 0;
      for (int j = 0; j < QK; ++j) sumi += q[j] * qx[j];
      s[r * ss] += dw * dx * static_cast<float>(sumi) + (kQ8_1 ? mw * sx : 0.0f);
    }
  }
}

}  // namespace

void vec_dot_q4_0_q8_0_ref(float* s, int64_t ss, const void* vw, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* w = static_cast<const block_q4_0*>(vw);
  dot_rows<false>(s, ss, x, xs, nx, K / QK, [&](int64_t i, int8_t* q, float* d, float* m) {
    for (int j = 0; j < QK / 2; ++j) {
      q[j] = static_cast<int8_t>((w[i].qs[j] & 0xF) - 8);
      q[j + QK / 2] = static_cast<int8_t>((w[i].qs[j] >> 4) - 8);
    }
    *d = f16_to_f32(w[i].d);
    *m = 0.0f;
  });
}
void vec_dot_q8_0_q8_0_ref(float* s, int64_t ss, const void* vw, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* w = static_cast<const block_q8_0*>(vw);
  dot_rows<false>(s, ss, x, xs, nx, K / QK, [&](int64_t i, int8_t* q, float* d, float* m) {
    std::memcpy(q, w[i].qs, QK);
    *d = f16_to_f32(w[i].d);
    *m = 0.0f;
  });
}
void vec_dot_q5_0_q8_0_ref(float* s, int64_t ss, const void* vw, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* w = static_cast<const block_q5_0*>(vw);
  dot_rows<false>(s, ss, x, xs, nx, K / QK, [&](int64_t i, int8_t* q, float* d, float* m) {
    const uint32_t qh = load_u32(w[i].qh);
    for (int j = 0; j < QK / 2; ++j) {
      q[j] = static_cast<int8_t>(((w[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - 16);
      q[j + QK / 2] = static_cast<int8_t>(((w[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16);
    }
    *d = f16_to_f32(w[i].d);
    *m = 0.0f;
  });
}
// The _1 types need the activation sum: their Q8_1 partner carries s = d_x * sum(q_x).
void vec_dot_q4_1_q8_1_ref(float* s, int64_t ss, const void* vw, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* w = static_cast<const block_q4_1*>(vw);
  dot_rows<true>(s, ss, x, xs, nx, K / QK, [&](int64_t i, int8_t* q, float* d, float* m) {
    for (int j = 0; j < QK / 2; ++j) {
      q[j] = static_cast<int8_t>(w[i].qs[j] & 0xF);
      q[j + QK / 2] = static_cast<int8_t>(w[i].qs[j] >> 4);
    }
    *d = f16_to_f32(w[i].d);
    *m = f16_to_f32(w[i].m);
  });
}
void vec_dot_q5_1_q8_1_ref(float* s, int64_t ss, const void* vw, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* w = static_cast<const block_q5_1*>(vw);
  dot_rows<true>(s, ss, x, xs, nx, K / QK, [&](int64_t i, int8_t* q, float* d, float* m) {
    const uint32_t qh = load_u32(w[i].qh);
    for (int j = 0; j < QK / 2; ++j) {
      q[j] = static_cast<int8_t>((w[i].qs[j] & 0xF) | (((qh >> j) & 1) << 4));
      q[j + QK / 2] = static_cast<int8_t>((w[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
    }
    *d = f16_to_f32(w[i].d);
    *m = f16_to_f32(w[i].m);
  });
}

}  // namespace edgellm::ref
