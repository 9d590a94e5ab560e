// Scalar twins of the LUT GEMVs (layout in kernels/lut_gemv.h): the same table lookups, one row and one nibble at
// a time, for group-int weights and for Q2_K / Q3_K. Not fast: kernels/arch/x86/lut.h and kernels/arch/arm/lut.h
// do 16 rows per byte shuffle.
#include <algorithm>
#include <cstdint>

#include "kernels/lut_gemv.h"
#include "kernels/ref/quant.h"

namespace edgellm::ref {
namespace {

// Σ q[r,k]·a[k] over quad pair j (k = 32b + 8j .. 32b + 8j + 7) of 32-block b of row r, plane by plane: each
// nibble of plane p looks up its quad's table, weighed 2^p (plane 2: w2, 4 or Q3_K's −4). c: the block's codes in
// row r's tile.
int32_t lut_pair_sum(const uint8_t* c, const uint8_t* tables, int64_t b, int j, int r, int bits, int w2 = 4) {
  auto entry = [&](int64_t quad, int i) {
    const uint8_t* tab = tables + lut_quad_table(quad);
    return static_cast<int32_t>(static_cast<int16_t>(static_cast<uint16_t>(tab[i] | (tab[32 + i] << 8))));
  };
  const int slot = lut_slot_of_row(r);
  int32_t S = 0;
  for (int p = 0; p < bits; ++p) {
    const uint8_t byte = p < 2 ? c[j * 32 + 2 * slot + p] : c[128 + j * 16 + (slot ^ (j & 1 ? 8 : 0))];
    S += (entry(8 * b + 2 * j, byte & 15) + entry(8 * b + 2 * j + 1, byte >> 4)) * (p < 2 ? 1 << p : w2);
  }
  return S;
}

}  // namespace

void lut_gemv_ref(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables, const float* xd,
                  const float* xg, int64_t tiles, int64_t nb, int bits, int gb) {
  const int64_t ng = (nb + gb - 1) / gb, bb = lut_block_bytes(bits);
  for (int64_t t = 0; t < tiles; ++t) {
    const uint16_t* sc = scales + t * ng * 2 * kLutRows;
    for (int r = 0; r < kLutRows; ++r) {
      float acc = 0;
      for (int64_t g = 0; g < ng; ++g) {
        float gacc = 0;
        for (int64_t b = g * gb; b < std::min(nb, (g + 1) * gb); ++b) {
          const uint8_t* c = codes + (t * nb + b) * bb;
          int32_t S = 0;  // Σ_k q[r,k]·a[k] over block b
          for (int j = 0; j < 4; ++j) S += lut_pair_sum(c, tables, b, j, r, bits);
          gacc += static_cast<float>(S) * xd[b];
        }
        const float s = f16_to_f32(sc[g * 2 * kLutRows + r]), z = f16_to_f32(sc[g * 2 * kLutRows + kLutRows + r]);
        acc += s * gacc - s * z * xg[g];
      }
      y[t * kLutRows + r] = acc;
    }
  }
}

void lut_gemv_kquant_ref(float* y, const uint8_t* codes, const uint8_t* sub, const uint16_t* d,
                         const uint8_t* tables, const float* xd, const int16_t* bsums, int64_t tiles, int64_t nsb,
                         int bits) {
  const int64_t nb = 8 * nsb, bb = lut_block_bytes(bits);
  const int nd = bits == 2 ? 2 : 1;
  for (int64_t t = 0; t < tiles; ++t)
    for (int r = 0; r < kLutRows; ++r) {
      float acc = 0;
      for (int64_t s = 0; s < nsb; ++s) {
        // The integers of vec_dot_q2_k_q8_k / vec_dot_q3_k_q8_k: sumi = Σ_j sc_j·Σ q·a, summ = Σ_j m_j·bsum_j.
        int32_t sumi = 0, summ = 0;
        for (int64_t b = 8 * s; b < 8 * s + 8; ++b) {
          const uint8_t* c = codes + (t * nb + b) * bb;
          for (int h = 0; h < 2; ++h) {  // sub-block 2·(b − 8s) + h: quad pairs 2h, 2h + 1
            // Q3_K: plane 2 is the −4 flag, so P is already Σ q·a.
            const int32_t P = lut_pair_sum(c, tables, b, 2 * h, r, bits, -4) +
                              lut_pair_sum(c, tables, b, 2 * h + 1, r, bits, -4);
            const uint8_t v = sub[((t * nb + b) * kLutRows + r) * 2 + h];
            const int32_t bs = bsums[16 * s + 2 * (b - 8 * s) + h];
            if (bits == 2) {
              sumi += (v & 15) * P;
              summ += (v >> 4) * bs;
            } else {
              sumi += static_cast<int8_t>(v) * P;
            }
          }
        }
        const uint16_t* ds = d + (t * nsb + s) * nd * kLutRows;
        const float dmin = bits == 2 ? f16_to_f32(ds[kLutRows + r]) : 0.0f;
        acc += xd[s] * (f16_to_f32(ds[r]) * static_cast<float>(sumi) - dmin * static_cast<float>(summ));
      }
      y[t * kLutRows + r] = acc;
    }
}

}  // namespace edgellm::ref
