// Scalar twin of the LUT GEMV (layout in kernels/lut_gemv.h): the same table lookups, one row and one nibble at a
// time. Not fast: kernels/arch/x86/lut.h and kernels/arch/arm/lut.h do 16 rows per byte shuffle.
#include <algorithm>
#include <cstdint>

#include "kernels/lut_gemv.h"
#include "kernels/ref/quant.h"

namespace edgellm::ref {

void lut_gemv_ref(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables, const float* xd,
                  const float* xg, int64_t tiles, int64_t nb, int bits, int gb) {
  const int64_t ng = (nb + gb - 1) / gb, bb = lut_block_bytes(bits);
  auto entry = [&](int64_t quad, int i) {
    const uint8_t* tab = tables + quad * 32;
    return static_cast<int32_t>(static_cast<int16_t>(static_cast<uint16_t>(tab[i] | (tab[16 + i] << 8))));
  };
  for (int64_t t = 0; t < tiles; ++t) {
    const uint16_t* sc = scales + t * ng * 2 * kLutRows;
    for (int r = 0; r < kLutRows; ++r) {
      const int slot = lut_slot_of_row(r);
      float acc = 0;
      for (int64_t g = 0; g < ng; ++g) {
        float gacc = 0;
        for (int64_t b = g * gb; b < std::min(nb, (g + 1) * gb); ++b) {
          const uint8_t* c = codes + (t * nb + b) * bb;
          int32_t S = 0;  // Σ_k q[r,k]·a[k] over block b, plane by plane
          for (int j = 0; j < 4; ++j)
            for (int p = 0; p < bits; ++p) {
              const uint8_t byte = p < 2 ? c[j * 32 + 2 * slot + p] : c[128 + j * 16 + (r < 8 ? 2 * r : 2 * r - 15)];
              S += (entry(8 * b + 2 * j, byte & 15) + entry(8 * b + 2 * j + 1, byte >> 4)) * (1 << p);
            }
          gacc += static_cast<float>(S) * xd[b];
        }
        const float s = f16_to_f32(sc[g * 2 * kLutRows + r]), z = f16_to_f32(sc[g * 2 * kLutRows + kLutRows + r]);
        acc += s * gacc - s * z * xg[g];
      }
      y[t * kLutRows + r] = acc;
    }
  }
}

}  // namespace edgellm::ref
