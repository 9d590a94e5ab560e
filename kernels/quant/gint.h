// GINT: edgellm's group-wise integer weight format for GPTQ/AWQ-style results (2, 3, 4 or 8 bits,
// groups of 32/64/128 along K, f16 scale and zero point per group). In GGUF under edgellm's own type ids
// (DType::GINT<bits>_G<group>, runtime/dtype.h), which llama.cpp does not read. No g_idx in the rows.
//
// Layout of a weight W (N rows, K cols), quantized along K; K a multiple of the group size G.
// Rows are stored back to back, each gint_row_bytes(bits, G, K) bytes:
//   [codes: K*bits/8 bytes][scales: K/G x f16][zeros: K/G x f16]
// codes: element k's code q_k (0 .. 2^bits - 1) occupies bits [k*bits, (k+1)*bits) of the row's code
//   stream, little-endian (bit i of the stream is bit i%8 of byte i/8). For 3 bits, 8 codes fill 3 bytes.
// value: w_k = scale_g * (q_k - zero_g) with g = k / G. zero_g is an f16 in code units (an integer
//   for GPTQ/AWQ and for our RTN; symmetric quantization uses zero = 2^(bits-1)).
#pragma once

#include <cstdint>

namespace edgellm::quant {

struct GintParams {
  int bits = 4;    // 2, 3, 4 or 8
  int group = 128; // 32, 64 or 128
};

// Throws Error unless bits is 2/3/4/8, group is 32/64/128 and K is a multiple of group.
void gint_check(const GintParams& p, int64_t K);
int64_t gint_codes_bytes(const GintParams& p, int64_t K);
int64_t gint_row_bytes(const GintParams& p, int64_t K);

// Round-to-nearest of one row x (K) into dst (gint_row_bytes). Asymmetric: per group
// scale = (max - min) / (2^bits - 1), zero = round(-min / scale); symmetric (GPTQ's grid):
// scale = 2 * absmax / (2^bits - 1), zero = 2^(bits-1). Codes use the f16-rounded scale.
void quantize_row_gint_ref(uint8_t* dst, const float* x, int64_t K, const GintParams& p, bool symmetric);
// y (K) from one packed row.
void dequantize_row_gint(float* y, const uint8_t* src, int64_t K, const GintParams& p);

// Code k of a packed code stream (any bits <= 8): a two-byte read covers every straddle.
static inline int gint_code(const uint8_t* codes, int64_t k, int bits) {
  const int64_t bit = k * bits;
  const unsigned lo = codes[bit >> 3];
  const unsigned hi = ((bit & 7) + bits > 8) ? codes[(bit >> 3) + 1] : 0u;
  return static_cast<int>(((lo | (hi << 8)) >> (bit & 7)) & ((1u << bits) - 1u));
}

}  // namespace edgellm::quant
