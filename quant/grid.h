// Quantization grids shared by RTN, GPTQ and AWQ: per-(row, group) parameters, code <-> value, packing.
// Not a search: the grid is told the values (and an optional range shrink) and answers; callers choose.
//
// Every grid decodes exactly as its storage does, so the value a method chooses is the value written:
//   Gint  (kernels/quant/gint.h): v = s * (q - z), q in [0, 2^bits - 1], s and z f16.
//         symmetric: s = 2*absmax/(2^bits-1), z = 2^(bits-1); asymmetric: s = (hi-lo)/(2^bits-1),
//         z = round(-lo/s), lo = min(0, min), hi = max(0, max).
//   Q4_0: v = d * (q - 8), d = f16(m / -8), m the signed element of largest |.| (llama.cpp's choice).
//   Q4_1: v = q * d + m, d = f16((max - min) / 15), m = f16(min).
//   Q8_0: v = d * q, d = f16(absmax / 127), q in [-127, 127].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/quant/gint.h"
#include "runtime/dtype.h"

namespace edgellm::quant {

enum class GridKind : uint8_t { Gint, Q4_0, Q4_1, Q8_0 };

// What to produce: bits, group along K, symmetric or not, and whether a matching GGUF type may be used.
struct QuantSpec {
  int bits = 4;
  int group = 128;
  bool symmetric = false;
  bool prefer_gguf = true; // 4-bit g32 sym -> Q4_0, asym -> Q4_1, 8-bit g32 sym -> Q8_0
};

// The grid a spec maps to (Throws Error for an unsupported bits/group).
GridKind grid_kind(const QuantSpec& s);
const char* grid_name(GridKind k);
// Parses "int4g128", "int3g64", "uint4g32" (u = asymmetric; int = symmetric), "q4_0", "q4_1", "q8_0".
// Returns false for other names.
bool parse_quant_spec(const std::string& name, QuantSpec& out);

// One group's parameters.
struct GroupParams {
  float s = 0; // scale (d), f16-representable
  float z = 0; // Gint: zero point in code units; Q4_1: the min m; unused otherwise
};

struct Grid {
  GridKind kind = GridKind::Gint;
  int bits = 4;
  int group = 128;
  bool symmetric = false;
  int qmin = 0, qmax = 15;

  explicit Grid(const QuantSpec& s);
  // Parameters of a group of n values at stride `stride`, their range shrunk by `shrink` (1 = none).
  GroupParams params(const float* w, int64_t n, int64_t stride = 1, float shrink = 1.0f) const;
  int code(const GroupParams& p, float w) const;
  float value(const GroupParams& p, int q) const;
  float round(const GroupParams& p, float w) const { return value(p, code(p, w)); }
  // Storage of one row of K elements.
  int64_t row_bytes(int64_t K) const;
  // Packs one row: codes (K), params (K / group) into dst (row_bytes).
  void pack_row(uint8_t* dst, const int* codes, const GroupParams* params, int64_t K) const;
  // The DType of packed rows: Q4_0/Q4_1/Q8_0, or the group-int dtype of (bits, group) (runtime/dtype.h).
  DType gguf_type() const;
};

// A quantized matrix (N, K) as chosen by a method, packed in its grid's storage.
struct QuantizedMatrix {
  QuantSpec spec;
  GridKind kind = GridKind::Gint;
  int64_t N = 0, K = 0;
  std::vector<uint8_t> data;  // N rows of Grid::row_bytes(K)
  std::vector<float> values;  // (N, K) the decoded values, original column order
  std::vector<int32_t> perm;  // GPTQ act-order processing order (empty when none); informational only
};

// Round-to-nearest of W (N, K) on the grid (GPTQ without error feedback; the baseline of the tests).
QuantizedMatrix rtn_quantize(const float* W, int64_t N, int64_t K, const QuantSpec& spec);

// Decodes packed rows with the storage's own decoder (kernels/quant/gint.h or dequantize_row_from).
void decode_quantized(const QuantizedMatrix& q, float* out);

}  // namespace edgellm::quant
