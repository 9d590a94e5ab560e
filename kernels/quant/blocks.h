// GGUF/ggml-compatible quantized block layouts (bit-exact with llama.cpp's block_q*), one struct per type.
// Only the layouts and their sizes: quantizers and dequantizers live in kernels/ref/quant_*.cpp.
// Helpers here are static (file-local), so arch/ files may include this header safely.
#pragma once

#include <cstdint>

namespace edgellm::quant {

constexpr int QK = 32;    // elements per block of the legacy formats
constexpr int QK_K = 256; // elements per super-block of the K-quants
constexpr int K_SCALE_SIZE = 12;

// ---- legacy 32-element blocks. f16 fields hold IEEE half bits. -----------------------
// Q4_0: x = d * (q - 8); qs[j] low nibble = element j, high nibble = element j + 16.
struct block_q4_0 {
  uint16_t d;
  uint8_t qs[QK / 2];
};
// Q4_1: x = d * q + m.
struct block_q4_1 {
  uint16_t d, m;
  uint8_t qs[QK / 2];
};
// Q5_0: x = d * (q - 16); 5th bit of element j is bit j of qh (little-endian u32).
struct block_q5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[QK / 2];
};
// Q5_1: x = d * q + m.
struct block_q5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[QK / 2];
};
// Q8_0: x = d * q.
struct block_q8_0 {
  uint16_t d;
  int8_t qs[QK];
};
// Q8_1 (activation side of Q4_1/Q5_1 dots): x = d * q; s = d * sum(q).
struct block_q8_1 {
  uint16_t d, s;
  int8_t qs[QK];
};

// ---- K-quants: 256-element super-blocks ------------------------------------------------
// Q2_K: 16 sub-blocks of 16; scales[j] = scale (low 4) | min (high 4); x = d*sc*q - dmin*m.
// qs: byte l of the 32-byte group g (128 elements) holds elements g*128 + 32*s + l at bits 2s.
struct block_q2_K {
  uint8_t scales[QK_K / 16];
  uint8_t qs[QK_K / 4];
  uint16_t d, dmin;
};
// Q3_K: 16 sub-blocks of 16, 6-bit scales biased by 32, packed in 12 bytes; x = d*(sc-32)*(q-4*!h).
struct block_q3_K {
  uint8_t hmask[QK_K / 8];
  uint8_t qs[QK_K / 4];
  uint8_t scales[12];
  uint16_t d;
};
// Q4_K: 8 sub-blocks of 32, 6-bit scale and min each packed in 12 bytes; x = d*sc*q - dmin*m.
struct block_q4_K {
  uint16_t d, dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qs[QK_K / 2];
};
// Q5_K: as Q4_K plus one high bit per element in qh.
struct block_q5_K {
  uint16_t d, dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qh[QK_K / 8];
  uint8_t qs[QK_K / 2];
};
// Q6_K: 16 sub-blocks of 16, int8 scales; x = d*sc*(q-32), q = 4 low bits (ql) | 2 high bits (qh).
struct block_q6_K {
  uint8_t ql[QK_K / 2];
  uint8_t qh[QK_K / 4];
  int8_t scales[QK_K / 16];
  uint16_t d;
};
// Q8_K (activation side of the K-quant dots): x = d*q, bsums = sums of q over 16-element groups.
struct block_q8_K {
  float d;
  int8_t qs[QK_K];
  int16_t bsums[QK_K / 16];
};

static_assert(sizeof(block_q4_0) == 18);
static_assert(sizeof(block_q4_1) == 20);
static_assert(sizeof(block_q5_0) == 22);
static_assert(sizeof(block_q5_1) == 24);
static_assert(sizeof(block_q8_0) == 34);
static_assert(sizeof(block_q8_1) == 36);
static_assert(sizeof(block_q2_K) == 84);
static_assert(sizeof(block_q3_K) == 110);
static_assert(sizeof(block_q4_K) == 144);
static_assert(sizeof(block_q5_K) == 176);
static_assert(sizeof(block_q6_K) == 210);
static_assert(sizeof(block_q8_K) == 292);

// The 6-bit (scale, min) pair j < 8 of Q4_K/Q5_K's 12-byte scales field.
static inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Q3_K's 16 scales (still biased by 32) unpacked from its 12 bytes.
static inline void unpack_q3_k_scales(const uint8_t* s12, int8_t out[16]) {
  for (int j = 0; j < 16; ++j) {
    const int lo = j < 8 ? (s12[j] & 0xF) : (s12[j - 8] >> 4);
    const int hi = (s12[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
    out[j] = static_cast<int8_t>(lo | (hi << 4));
  }
}

}  // namespace edgellm::quant
