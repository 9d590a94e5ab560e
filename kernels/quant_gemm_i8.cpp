// Driver of the 8-bit panel GEMM (kernels/quant_gemm_i8.h): activation quantization, weight panels, threads. The
// weight's zero point moves to the activation side: the panel holds unsigned codes u = q + z (z = 8 for Q4_0, 128 for
// Q8_0), so Σ q·x = Σ u·x − z·Σ x, and −z·Σ x is one integer per (row, block). Q4_K's codes are already unsigned; its
// per-sub-block minimum becomes wm = −dmin·m, times dx·Σ x.
#include "kernels/quant_gemm_i8.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/quant/blocks.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm {
namespace {

constexpr int64_t NC = kI8PanelCols;

// 8-bit activations of M rows: bytes (M, K); scales, corrections and dx·Σx (M, nb).
struct Act {
  std::vector<int8_t> x;
  std::vector<float> dx, dsx;
  std::vector<int32_t> corr;
};

int32_t zero_point(DType w) { return w == DType::Q4_0 ? 8 : w == DType::Q8_0 ? 128 : 0; }

void quantize_rows(Act& a, const float* x, int64_t M, int64_t K, int32_t zero, const KernelTable& t) {
  const int64_t nb = K / 32;
  a.x.resize(static_cast<size_t>(M * K));
  a.dx.resize(static_cast<size_t>(M * nb));
  a.corr.resize(static_cast<size_t>(M * nb));
  a.dsx.resize(static_cast<size_t>(M * nb));
  parallel_for(M, 1, [&](int64_t m0, int64_t m1) {
    std::vector<quant::block_q8_0> q(static_cast<size_t>(nb));
    for (int64_t m = m0; m < m1; ++m) {
      t.quantize_q8_0(q.data(), x + m * K, K);
      for (int64_t b = 0; b < nb; ++b) {
        const quant::block_q8_0& blk = q[static_cast<size_t>(b)];
        std::memcpy(a.x.data() + m * K + b * 32, blk.qs, 32);
        int32_t sum = 0;
        for (int e = 0; e < 32; ++e) sum += blk.qs[e];
        const float d = f16_to_f32(blk.d);
        a.dx[static_cast<size_t>(m * nb + b)] = d;
        a.corr[static_cast<size_t>(m * nb + b)] = -zero * sum;
        a.dsx[static_cast<size_t>(m * nb + b)] = d * static_cast<float>(sum);
      }
    }
  });
}

// Q4_K row: 32-element sub-block b's codes, scale d·sc and offset −dmin·m into column j of the panel.
void pack_q4_k_row(uint32_t* u32, float* wd, float* wm, const uint8_t* row, int64_t j, int64_t nb) {
  for (int64_t sb = 0; sb < nb / 8; ++sb) {
    const auto& blk = reinterpret_cast<const quant::block_q4_K*>(row)[sb];
    const float d = f16_to_f32(blk.d), dmin = f16_to_f32(blk.dmin);
    for (int s = 0; s < 8; ++s) {
      const int64_t b = sb * 8 + s;
      uint8_t sc, m;
      quant::get_scale_min_k4(s, blk.scales, &sc, &m);
      wd[b * NC + j] = d * sc;
      wm[b * NC + j] = -dmin * m;
      uint32_t v[8];  // sub-blocks 2p and 2p+1 share 32 bytes: low nibbles, then
                      // high nibbles
      std::memcpy(v, blk.qs + 32 * (s / 2), 32);
      uint32_t* dst = u32 + b * 8 * NC + j;
      for (int g = 0; g < 8; ++g) dst[g * NC] = (s % 2 ? v[g] >> 4 : v[g]) & 0x0F0F0F0Fu;
    }
  }
}

// Packs weight rows [n0, n0 + rows) into u (nb · 8 · NC · 4 bytes), wd and (Q4_K) wm (nb · NC); columns past `rows`
// are zero codes with zero scales, so they add nothing.
void pack_panel(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, DType wtype, int64_t n0, int64_t rows,
                int64_t nb) {
  std::memset(u, 0, static_cast<size_t>(nb * 8 * NC * 4));
  std::fill(wd, wd + nb * NC, 0.0f);
  if (wm) std::fill(wm, wm + nb * NC, 0.0f);
  auto* u32 = reinterpret_cast<uint32_t*>(u);
  for (int64_t j = 0; j < rows; ++j) {
    const uint8_t* row = w + (n0 + j) * wrb;
    if (wtype == DType::Q4_K) {
      pack_q4_k_row(u32, wd, wm, row, j, nb);
      continue;
    }
    for (int64_t b = 0; b < nb; ++b) {
      uint32_t* dst = u32 + b * 8 * NC + j;  // word (b, g, j) at dst[g * NC]
      if (wtype == DType::Q4_0) {
        const auto& blk = reinterpret_cast<const quant::block_q4_0*>(row)[b];
        uint32_t v[4];
        std::memcpy(v, blk.qs, 16);
        for (int g = 0; g < 4; ++g) {  // elements 4g.. in the low nibbles, 16 +
                                       // 4g.. in the high ones
          dst[g * NC] = v[g] & 0x0F0F0F0Fu;
          dst[(g + 4) * NC] = (v[g] >> 4) & 0x0F0F0F0Fu;
        }
        wd[b * NC + j] = f16_to_f32(blk.d);
      } else {
        const auto& blk = reinterpret_cast<const quant::block_q8_0*>(row)[b];
        uint32_t v[8];
        std::memcpy(v, blk.qs, 32);
        for (int g = 0; g < 8; ++g) dst[g * NC] = v[g] ^ 0x80808080u;
        wd[b * NC + j] = f16_to_f32(blk.d);
      }
    }
  }
}

}  // namespace

bool i8_panel_supported(DType w, const KernelTable& t) {
  return (w == DType::Q4_0 || w == DType::Q8_0 || w == DType::Q4_K) && t.i8_panel_ukernel &&
         std::strcmp(t.i8_panel_ukernel_isa, "scalar") != 0;
}

void matmul_i8_panel(float* y, const float* x, const void* w, DType wtype, int64_t M, int64_t N, int64_t K,
                     const KernelTable& t) {
  if (wtype != DType::Q4_0 && wtype != DType::Q8_0 && wtype != DType::Q4_K)
    fail("matmul_i8_panel: weight type {} is not Q4_0, Q8_0 or Q4_K", dtype_name(wtype));
  const int64_t block = dtype_info(wtype).block;
  if (K % block != 0) fail("matmul_i8_panel: K={} is not a multiple of the {} block ({})", K, dtype_name(wtype), block);
  if (M <= 0 || N <= 0) return;
  const int64_t nb = K / 32, wrb = dtype_row_bytes(wtype, K), MR = t.i8_panel_mr;
  const bool has_min = wtype == DType::Q4_K;
  Act a;
  quantize_rows(a, x, M, K, zero_point(wtype), t);
  const auto* wb = static_cast<const uint8_t*>(w);
  const int64_t strips = (N + NC - 1) / NC;
  parallel_for(strips, 1, [&](int64_t s0, int64_t s1) {
    thread_local std::vector<uint8_t> u;
    thread_local std::vector<float> wd, wm;
    u.resize(static_cast<size_t>(nb * 8 * NC * 4));
    wd.resize(static_cast<size_t>(nb * NC));
    wm.resize(has_min ? static_cast<size_t>(nb * NC) : 0);
    float* wmp = has_min ? wm.data() : nullptr;
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t n0 = s * NC, n = std::min(NC, N - n0);
      pack_panel(u.data(), wd.data(), wmp, wb, wrb, wtype, n0, n, nb);
      for (int64_t i = 0; i < M; i += MR)
        t.i8_panel_ukernel(nb, a.x.data() + i * K, K, a.dx.data() + i * nb, a.corr.data() + i * nb,
                           a.dsx.data() + i * nb, nb, u.data(), wd.data(), wmp, y + i * N + n0, N, std::min(MR, M - i),
                           n);
    }
  });
}

}  // namespace edgellm
