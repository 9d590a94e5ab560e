// Scalar quantize / dequantize of the K-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and Q8_K (256-element
// super-blocks). Dequantization is exact to ggml's definition; the quantizers are our own RTN with a
// small scale search and least-squares refit, not byte-equal to llama.cpp (which is not required).
#include <algorithm>
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
  if (n < 0 || n % QK_K != 0) fail("{}: row length {} is not a multiple of the {}-element block", type, n, QK_K);
}

int nearest(float v) { return static_cast<int>(std::lrintf(v)); }

// Asymmetric fit of x (n) to L in [0, nmax]: x ~ scale * L - min, min >= 0. Tries a few
// inverse scales around nmax/(max-min) and refits (scale, min) by least squares for each.
void fit_asym(const float* x, int n, int nmax, float* scale, float* min) {
  float lo = std::min(0.0f, *std::min_element(x, x + n)), hi = *std::max_element(x, x + n);
  if (hi <= lo) {
    *scale = 0.0f;
    *min = -lo;
    return;
  }
  float best_err = INFINITY, best_s = (hi - lo) / nmax, best_m = -lo;
  for (int t = -4; t <= 6; ++t) {
    const float is = (nmax + 0.1f * t) / (hi - lo);
    // Least squares of x = s*L + b over the candidate L.
    double sl = 0, sll = 0, sx = 0, slx = 0;
    int L[QK_K];
    for (int j = 0; j < n; ++j) {
      L[j] = std::clamp(nearest(is * (x[j] - lo)), 0, nmax);
      sl += L[j];
      sll += double(L[j]) * L[j];
      sx += x[j];
      slx += double(L[j]) * x[j];
    }
    const double det = n * sll - sl * sl;
    if (det <= 0) continue;
    double s = (n * slx - sl * sx) / det, b = (sll * sx - sl * slx) / det;
    if (b > 0) {  // min must be <= 0 in x terms (ggml stores it as a subtracted non-negative)
      b = 0;
      s = sll > 0 ? slx / sll : 0;
    }
    double err = 0;
    for (int j = 0; j < n; ++j) {
      const double e = s * L[j] + b - x[j];
      err += e * e;
    }
    if (err < best_err) {
      best_err = static_cast<float>(err);
      best_s = static_cast<float>(s);
      best_m = static_cast<float>(-b);
    }
  }
  *scale = std::max(best_s, 0.0f);
  *min = best_m;
}

// Symmetric fit of x (n) to L in [-nmax, nmax-1]: x ~ scale * L; the sign of scale follows the
// largest-magnitude element so that it lands on -nmax (the wider side), as ggml's formats expect.
float fit_sym(const float* x, int n, int nmax) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j)
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  if (amax == 0) return 0.0f;
  float best_err = INFINITY, best = max / -nmax;
  for (int t = -6; t <= 6; ++t) {
    const float is = -(nmax + 0.1f * t) / max;
    double slx = 0, sll = 0;
    for (int j = 0; j < n; ++j) {
      const int l = std::clamp(nearest(is * x[j]), -nmax, nmax - 1);
      slx += double(l) * x[j];
      sll += double(l) * l;
    }
    if (sll <= 0) continue;
    const double s = slx / sll;
    double err = 0;
    for (int j = 0; j < n; ++j) {
      const int l = std::clamp(nearest(is * x[j]), -nmax, nmax - 1);
      err += (s * l - x[j]) * (s * l - x[j]);
    }
    if (err < best_err) {
      best_err = static_cast<float>(err);
      best = static_cast<float>(s);
    }
  }
  return best;
}

// Quantizes the per-sub-block (scale, min) pairs of one super-block to `bits` with the f16 super
// scales d, dmin; returns the integer codes in ls, lm and the stored halves.
void quant_scales(const float* sc, const float* mn, int nsub, int bits, uint8_t* ls, uint8_t* lm, uint16_t* d,
                  uint16_t* dmin) {
  const int top = (1 << bits) - 1;
  const float max_sc = *std::max_element(sc, sc + nsub), max_mn = *std::max_element(mn, mn + nsub);
  const float isc = max_sc > 0 ? top / max_sc : 0.0f, imn = max_mn > 0 ? top / max_mn : 0.0f;
  for (int j = 0; j < nsub; ++j) {
    ls[j] = static_cast<uint8_t>(std::clamp(nearest(isc * sc[j]), 0, top));
    lm[j] = static_cast<uint8_t>(std::clamp(nearest(imn * mn[j]), 0, top));
  }
  *d = f32_to_f16(max_sc / top);
  *dmin = f32_to_f16(max_mn / top);
}

// Final codes of x (n) for effective scale ds and min dm: L = clamp(round((x + dm) / ds), 0, nmax).
void codes_asym(const float* x, int n, float ds, float dm, int nmax, uint8_t* L) {
  for (int j = 0; j < n; ++j) L[j] = ds > 0 ? static_cast<uint8_t>(std::clamp(nearest((x[j] + dm) / ds), 0, nmax)) : 0;
}

}  // namespace

// ---- Q2_K -------------------------------------------------------------------------------------
void quantize_row_q2_k_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q2_k");
  auto* y = static_cast<block_q2_K*>(vy);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float sc[16], mn[16];
    for (int j = 0; j < 16; ++j) fit_asym(x + 16 * j, 16, 3, &sc[j], &mn[j]);
    uint8_t ls[16], lm[16], L[QK_K];
    quant_scales(sc, mn, 16, 4, ls, lm, &y[i].d, &y[i].dmin);
    const float d = f16_to_f32(y[i].d), dmin = f16_to_f32(y[i].dmin);
    for (int j = 0; j < 16; ++j) {
      y[i].scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
      codes_asym(x + 16 * j, 16, d * ls[j], dmin * lm[j], 3, L + 16 * j);
    }
    std::memset(y[i].qs, 0, sizeof(y[i].qs));
    for (int e = 0; e < QK_K; ++e) y[i].qs[(e / 128) * 32 + e % 32] |= static_cast<uint8_t>(L[e] << (2 * ((e % 128) / 32)));
  }
}
void dequantize_row_q2_k(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q2_k");
  const auto* b = static_cast<const block_q2_K*>(vx);
  for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int e = 0; e < QK_K; ++e) {
      const int q = (b[i].qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      const uint8_t s = b[i].scales[e / 16];
      y[e] = (d * static_cast<float>(s & 0xF)) * static_cast<float>(q) - dmin * static_cast<float>(s >> 4);
    }
  }
}

// ---- Q3_K -------------------------------------------------------------------------------------
void quantize_row_q3_k_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q3_k");
  auto* y = static_cast<block_q3_K*>(vy);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float sc[16], amax = 0, max = 0;
    for (int j = 0; j < 16; ++j) {
      sc[j] = fit_sym(x + 16 * j, 16, 4);
      if (std::fabs(sc[j]) > amax) {
        amax = std::fabs(sc[j]);
        max = sc[j];
      }
    }
    std::memset(y[i].scales, 0, 12);
    std::memset(y[i].hmask, 0, sizeof(y[i].hmask));
    std::memset(y[i].qs, 0, sizeof(y[i].qs));
    const float iscale = max != 0 ? -32.0f / max : 0.0f;
    y[i].d = f32_to_f16(max != 0 ? 1.0f / iscale : 0.0f);
    const float d = f16_to_f32(y[i].d);
    for (int j = 0; j < 16; ++j) {
      const int ls = std::clamp(nearest(iscale * sc[j]), -32, 31);
      const int u = ls + 32;  // 6-bit biased code: low nibble + 2 high bits (see unpack_q3_k_scales)
      y[i].scales[j < 8 ? j : j - 8] |= static_cast<uint8_t>((u & 0xF) << (j < 8 ? 0 : 4));
      y[i].scales[8 + (j & 3)] |= static_cast<uint8_t>((u >> 4) << (2 * (j >> 2)));
      const float ds = d * static_cast<float>(ls);
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * j + l;
        const int q = (ds != 0 ? std::clamp(nearest(x[e] / ds), -4, 3) : 0) + 4;  // 0..7
        y[i].qs[(e / 128) * 32 + e % 32] |= static_cast<uint8_t>((q & 3) << (2 * ((e % 128) / 32)));
        if (q & 4) y[i].hmask[e % 32] |= static_cast<uint8_t>(1u << (e / 32));
      }
    }
  }
}
void dequantize_row_q3_k(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q3_k");
  const auto* b = static_cast<const block_q3_K*>(vx);
  for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = f16_to_f32(b[i].d);
    int8_t sc[16];
    unpack_q3_k_scales(b[i].scales, sc);
    for (int e = 0; e < QK_K; ++e) {
      const int lo = (b[i].qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      const int q = lo - ((b[i].hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4);
      y[e] = (d * static_cast<float>(sc[e / 16] - 32)) * static_cast<float>(q);
    }
  }
}

// ---- Q4_K / Q5_K: 8 sub-blocks of 32 with 6-bit (scale, min) -----------------------------------
namespace {

void pack_scales_k4(uint8_t* q, const uint8_t* ls, const uint8_t* lm) {
  std::memset(q, 0, K_SCALE_SIZE);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      q[j] = ls[j];
      q[j + 4] = lm[j];
    } else {
      q[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      q[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      q[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// Codes L (256) in [0, nmax] for a Q4_K/Q5_K super-block; fills d, dmin and scales.
void quantize_k4_codes(const float* x, int nmax, uint16_t* d16, uint16_t* dmin16, uint8_t* scales, uint8_t* L) {
  float sc[8], mn[8];
  for (int j = 0; j < 8; ++j) fit_asym(x + 32 * j, 32, nmax, &sc[j], &mn[j]);
  uint8_t ls[8], lm[8];
  quant_scales(sc, mn, 8, 6, ls, lm, d16, dmin16);
  pack_scales_k4(scales, ls, lm);
  const float d = f16_to_f32(*d16), dmin = f16_to_f32(*dmin16);
  for (int j = 0; j < 8; ++j) codes_asym(x + 32 * j, 32, d * ls[j], dmin * lm[j], nmax, L + 32 * j);
}

}  // namespace

void quantize_row_q4_k_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q4_k");
  auto* y = static_cast<block_q4_K*>(vy);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    quantize_k4_codes(x, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
    // 64-element group g: byte 32g + l holds element 64g + l (low) and 64g + 32 + l (high).
    for (int g = 0; g < 4; ++g)
      for (int l = 0; l < 32; ++l) y[i].qs[32 * g + l] = static_cast<uint8_t>(L[64 * g + l] | (L[64 * g + 32 + l] << 4));
  }
}
void dequantize_row_q4_k(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q4_k");
  const auto* b = static_cast<const block_q4_K*>(vx);
  for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int j = 0; j < 8; ++j) {  // sub-block j: elements 32j.., nibble j%2 of qs[32(j/2) + l]
      uint8_t sc, m;
      get_scale_min_k4(j, b[i].scales, &sc, &m);
      const float ds = d * static_cast<float>(sc), dm = dmin * static_cast<float>(m);
      const uint8_t* q = b[i].qs + 32 * (j / 2);
      for (int l = 0; l < 32; ++l) y[32 * j + l] = ds * static_cast<float>((q[l] >> (4 * (j % 2))) & 0xF) - dm;
    }
  }
}

void quantize_row_q5_k_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q5_k");
  auto* y = static_cast<block_q5_K*>(vy);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    uint8_t L[QK_K];
    quantize_k4_codes(x, 31, &y[i].d, &y[i].dmin, y[i].scales, L);
    std::memset(y[i].qh, 0, sizeof(y[i].qh));
    for (int g = 0; g < 4; ++g)
      for (int l = 0; l < 32; ++l) {
        const int a = L[64 * g + l], c = L[64 * g + 32 + l];
        y[i].qs[32 * g + l] = static_cast<uint8_t>((a & 0xF) | ((c & 0xF) << 4));
        y[i].qh[l] |= static_cast<uint8_t>(((a >> 4) << (2 * g)) | ((c >> 4) << (2 * g + 1)));
      }
  }
}
void dequantize_row_q5_k(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q5_k");
  const auto* b = static_cast<const block_q5_K*>(vx);
  for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int j = 0; j < 8; ++j) {  // as Q4_K, plus bit j of qh[l]
      uint8_t sc, m;
      get_scale_min_k4(j, b[i].scales, &sc, &m);
      const float ds = d * static_cast<float>(sc), dm = dmin * static_cast<float>(m);
      const uint8_t* q = b[i].qs + 32 * (j / 2);
      for (int l = 0; l < 32; ++l) {
        const int v = ((q[l] >> (4 * (j % 2))) & 0xF) | (((b[i].qh[l] >> j) & 1) << 4);
        y[32 * j + l] = ds * static_cast<float>(v) - dm;
      }
    }
  }
}

// ---- Q6_K: 16 sub-blocks of 16, int8 scales, 6-bit codes biased by 32 --------------------------
void quantize_row_q6_k_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q6_k");
  auto* y = static_cast<block_q6_K*>(vy);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float sc[16], amax = 0, max = 0;
    for (int j = 0; j < 16; ++j) {
      sc[j] = fit_sym(x + 16 * j, 16, 32);
      if (std::fabs(sc[j]) > amax) {
        amax = std::fabs(sc[j]);
        max = sc[j];
      }
    }
    const float iscale = max != 0 ? -128.0f / max : 0.0f;
    y[i].d = f32_to_f16(max != 0 ? 1.0f / iscale : 0.0f);
    const float d = f16_to_f32(y[i].d);
    uint8_t L[QK_K];
    for (int j = 0; j < 16; ++j) {
      y[i].scales[j] = static_cast<int8_t>(std::clamp(nearest(iscale * sc[j]), -128, 127));
      const float ds = d * y[i].scales[j];
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<uint8_t>((ds != 0 ? std::clamp(nearest(x[16 * j + l] / ds), -32, 31) : 0) + 32);
    }
    // 128-element half h: ql[64h + l] = low nibbles of e = 128h + l (+64 high); ql[64h + 32 + l] of
    // e + 32 (+96); qh[32h + l] holds the 2 high bits of e, e+32, e+64, e+96.
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const uint8_t* q = L + 128 * h + l;
        y[i].ql[64 * h + l] = static_cast<uint8_t>((q[0] & 0xF) | ((q[64] & 0xF) << 4));
        y[i].ql[64 * h + 32 + l] = static_cast<uint8_t>((q[32] & 0xF) | ((q[96] & 0xF) << 4));
        y[i].qh[32 * h + l] = static_cast<uint8_t>((q[0] >> 4) | ((q[32] >> 4) << 2) | ((q[64] >> 4) << 4) | ((q[96] >> 4) << 6));
      }
  }
}
void dequantize_row_q6_k(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q6_k");
  const auto* b = static_cast<const block_q6_K*>(vx);
  for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K) {
    const float d = f16_to_f32(b[i].d);
    for (int e = 0; e < QK_K; ++e) {
      const int h = e / 128, r = e % 128, l = r % 32, quarter = r / 32;  // quarter: 0..3 -> +0,+32,+64,+96
      const uint8_t lo_byte = b[i].ql[64 * h + 32 * (quarter & 1) + l];
      const int lo = (lo_byte >> (4 * (quarter >> 1))) & 0xF;
      const int hi = (b[i].qh[32 * h + l] >> (2 * quarter)) & 3;
      y[e] = (d * static_cast<float>(b[i].scales[e / 16])) * static_cast<float>((lo | (hi << 4)) - 32);
    }
  }
}

// ---- Q8_K: d = signed absmax / -127 (ggml's convention), bsums over 16-element groups ----------
void quantize_row_q8_k_ref(void* vy, const float* x, int64_t n) {
  check_row(n, "quantize_row_q8_k");
  auto* y = static_cast<block_q8_K*>(vy);
  for (int64_t i = 0; i < n / QK_K; ++i, x += QK_K) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK_K; ++j)
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    std::memset(&y[i], 0, sizeof(block_q8_K));
    if (amax == 0) continue;
    const float iscale = -127.0f / max;
    for (int j = 0; j < QK_K; ++j) y[i].qs[j] = static_cast<int8_t>(std::min(127, nearest(iscale * x[j])));
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += y[i].qs[16 * g + l];
      y[i].bsums[g] = static_cast<int16_t>(s);
    }
    y[i].d = 1.0f / iscale;
  }
}
void dequantize_row_q8_k(float* y, const void* vx, int64_t n) {
  check_row(n, "dequantize_row_q8_k");
  const auto* b = static_cast<const block_q8_K*>(vx);
  for (int64_t i = 0; i < n / QK_K; ++i, y += QK_K)
    for (int j = 0; j < QK_K; ++j) y[j] = b[i].d * static_cast<float>(b[i].qs[j]);
}

}  // namespace edgellm::ref
