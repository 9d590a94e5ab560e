// Element types: plain floats and GGUF-compatible block-quantized formats.
// Scalar f16/bf16 conversions live here; bulk fast paths (F16C, NEON) are kernels.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace edgellm {

// Values equal GGUF's ggml_type ids where GGUF defines one, so files map 1:1.
enum class DType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
  // edgellm's group-wise integer format (kernels/quant/gint.h; GPTQ/AWQ results), one id per
  // (bits, group): 1000 + 10·bits + {0, 1, 2} for groups {32, 64, 128}. Not ggml ids: a GGUF file holding
  // them is edgellm's own (llama.cpp refuses it). A row of K elements takes K/G·(G·bits/8 + 4) bytes, so
  // the table's block = G and block_bytes = G·bits/8 + 4 give the row size (the row layout is not blocked).
  GINT2_G32 = 1020, GINT2_G64 = 1021, GINT2_G128 = 1022,
  GINT3_G32 = 1030, GINT3_G64 = 1031, GINT3_G128 = 1032,
  GINT4_G32 = 1040, GINT4_G64 = 1041, GINT4_G128 = 1042,
  GINT8_G32 = 1080, GINT8_G64 = 1081, GINT8_G128 = 1082,
};

struct DTypeInfo {
  std::string_view name;
  int64_t block;      // elements per block (1 for scalars)
  int64_t block_bytes;  // bytes per block
  bool quantized;
};

// Traits of a dtype; throws Error for an id edgellm does not know.
const DTypeInfo& dtype_info(DType t);
// Whether a raw GGUF type id names a dtype edgellm can read.
bool dtype_known(uint32_t id);
std::string_view dtype_name(DType t);
// Parses "f32", "q4_k", ... (case-insensitive); throws Error for unknown names.
DType dtype_from_name(std::string_view name);
// Bytes of a row of `n` elements; throws Error if n is not a multiple of the block.
int64_t dtype_row_bytes(DType t, int64_t n);

// The group-int family: whether t is one, its bits and group, and the id of (bits, group) (Error if none).
static inline bool dtype_is_gint(DType t) {
  const uint32_t v = static_cast<uint32_t>(t);
  return v >= 1020 && v <= 1082 && (v / 10 == 102 || v / 10 == 103 || v / 10 == 104 || v / 10 == 108) && v % 10 <= 2;
}
static inline int gint_bits(DType t) { return static_cast<int>(static_cast<uint32_t>(t) / 10 % 100); }
static inline int gint_group(DType t) { return 32 << (static_cast<uint32_t>(t) % 10); }
DType gint_dtype(int bits, int group);

// ---- IEEE half and bfloat16, round-to-nearest-even --------------------------------

static inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
static inline float bits_f32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

static inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (mant << 13));  // inf / nan
  if (exp == 0) {
    if (mant == 0) return bits_f32(sign);
    // Subnormal half: value = mant * 2^-24, exact in f32.
    float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

static inline uint16_t f32_to_f16(float f) {
  uint32_t x = f32_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) return sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u);  // nan / inf
  if (x >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: overflow to inf
  if (x < 0x38800000u) {
    // Result is subnormal (or zero): align to 2^-24 units with RNE.
    if (x < 0x33000000u) return sign;  // < 2^-25: rounds to zero
    const uint32_t e = x >> 23;
    const uint32_t m = (x & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;  // 14..24
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return sign | static_cast<uint16_t>(r);
  }
  // Normal: rebias exponent, RNE on the 13 dropped bits (carry may bump exponent).
  uint32_t r = x - 0x38000000u;
  r += 0xfffu + ((r >> 13) & 1u);
  return sign | static_cast<uint16_t>(r >> 13);
}

static inline float bf16_to_f32(uint16_t b) { return bits_f32(static_cast<uint32_t>(b) << 16); }

static inline uint16_t f32_to_bf16(float f) {
  uint32_t x = f32_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet nan
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace edgellm
