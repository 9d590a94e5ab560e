// Scalar vec_dot of the K-quants against Q8_K activations: per super-block
//   d_x * (d * sum_g sc_g * sum_{l in g} q_l * qx_l  -  dmin * sum_g m_g * bsum_g)
// with g over 16-element groups. Integer sums exactly as the SIMD twins compute them; not fast.
#include <cstring>

#include "kernels/quant/blocks.h"
#include "kernels/ref/quant.h"
#include "runtime/dtype.h"

namespace edgellm::ref {
using namespace edgellm::quant;

namespace {

// One weight super-block in a common form: codes q (256, signed), scale and min per 16-group.
struct Unpacked {
  int8_t q[QK_K];
  int sc[16];
  int mn[16];
  float d, dmin;
};

template <class Unpack>
void kdot_rows(float* s, int64_t ss, const void* x, int64_t x_stride, int64_t nx, int64_t nb, Unpack&& unpack) {
  Unpacked u;
  for (int64_t r = 0; r < nx; ++r) s[r * ss] = 0.0f;
  for (int64_t i = 0; i < nb; ++i) {
    unpack(i, u);
    for (int64_t r = 0; r < nx; ++r) {
      const auto* xb = reinterpret_cast<const block_q8_K*>(static_cast<const uint8_t*>(x) + r * x_stride) + i;
      int sumi = 0, summ = 0;
      for (int g = 0; g < 16; ++g) {
        int p = 0;
        for (int l = 0; l < 16; ++l) p += u.q[16 * g + l] * xb->qs[16 * g + l];
        sumi += u.sc[g] * p;
        summ += u.mn[g] * xb->bsums[g];
      }
      s[r * ss] += xb->d * (u.d * static_cast<float>(sumi) - u.dmin * static_cast<float>(summ));
    }
  }
}

}  // namespace

void vec_dot_q2_k_q8_k_ref(float* s, int64_t ss, const void* vw, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* w = static_cast<const block_q2_K*>(vw);
  kdot_rows(s, ss, x, xs, nx, K / QK_K, [&](int64_t i, Unpacked& u) {
    for (int e = 0; e < QK_K; ++e) u.q[e] = static_cast<int8_t>((w[i].qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3);
    for (int g = 0; g < 16; ++g) {
      u.sc[g] = w[i].scales[g] & 0xF;
      u.mn[g] = w[i].scales[g] >> 4;
    }
    u.d = f16_to_f32(w[i].d);
    u.dmin = f16_to_f32(w[i].dmin);
  });
}

void vec_dot_q3_k_q8_k_ref(float* s, int64_t ss, const void* vw, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* w = static_cast<const block_q3_K*>(vw);
  kdot_rows(s, ss, x, xs, nx, K / QK_K, [&](int64_t i, Unpacked& u) {
    for (int e = 0; e < QK_K; ++e) {
      const int lo = (w[i].qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      u.q[e] = static_cast<int8_t>(lo - ((w[i].hmask[e % 32] >> (e / 32)) & 1 ? 0 : 4));
    }
    int8_t sc[16];
    unpack_q3_k_scales(w[i].scales, sc);
    for (int g = 0; g < 16; ++g) {
      u.sc[g] = sc[g] - 32;
      u.mn[g] = 0;
    }
    u.d = f16_to_f32(w[i].d);
    u.dmin = 0.0f;
  });
}

void vec_dot_q4_k_q8_k_ref(float* s, int64_t ss, const void* vw, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* w = static_cast<const block_q4_K*>(vw);
  kdot_rows(s, ss, x, xs, nx, K / QK_K, [&](int64_t i, Unpacked& u) {
    for (int e = 0; e < QK_K; ++e) u.q[e] = static_cast<int8_t>((w[i].qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) & 1))) & 0xF);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, w[i].scales, &sc, &m);
      u.sc[2 * j] = u.sc[2 * j + 1] = sc;
      u.mn[2 * j] = u.mn[2 * j + 1] = m;
    }
    u.d = f16_to_f32(w[i].d);
    u.dmin = f16_to_f32(w[i].dmin);
  });
}

void vec_dot_q5_k_q8_k_ref(float* s, int64_t ss, const void* vw, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* w = static_cast<const block_q5_K*>(vw);
  kdot_rows(s, ss, x, xs, nx, K / QK_K, [&](int64_t i, Unpacked& u) {
    for (int e = 0; e < QK_K; ++e) {
      const int lo = (w[i].qs[32 * (e / 64) + e % 32] >> (4 * ((e / 32) & 1))) & 0xF;
      u.q[e] = static_cast<int8_t>(lo | (((w[i].qh[e % 32] >> (e / 32)) & 1) << 4));
    }
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, w[i].scales, &sc, &m);
      u.sc[2 * j] = u.sc[2 * j + 1] = sc;
      u.mn[2 * j] = u.mn[2 * j + 1] = m;
    }
    u.d = f16_to_f32(w[i].d);
    u.dmin = f16_to_f32(w[i].dmin);
  });
}

void vec_dot_q6_k_q8_k_ref(float* s, int64_t ss, const void* vw, const void* x, int64_t xs, int64_t nx, int64_t K) {
  const auto* w = static_cast<const block_q6_K*>(vw);
  kdot_rows(s, ss, x, xs, nx, K / QK_K, [&](int64_t i, Unpacked& u) {
    for (int e = 0; e < QK_K; ++e) {
      const int h = e / 128, r = e % 128, l = r % 32, quarter = r / 32;
      const int lo = (w[i].ql[64 * h + 32 * (quarter & 1) + l] >> (4 * (quarter >> 1))) & 0xF;
      const int hi = (w[i].qh[32 * h + l] >> (2 * quarter)) & 3;
      u.q[e] = static_cast<int8_t>((lo | (hi << 4)) - 32);
    }
    for (int g = 0; g < 16; ++g) {
      u.sc[g] = w[i].scales[g];
      u.mn[g] = 0;
    }
    u.d = f16_to_f32(w[i].d);
    u.dmin = 0.0f;
  });
}

}  // namespace edgellm::ref
