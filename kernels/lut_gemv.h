// LUT GEMV: the decode (M = 1) matvec for 2- and 3-bit group-int weights without dequantization (T-MAC,
// EuroSys 2025): weights repacked once into bit planes, activations turned into tables of subset sums, and each
// 4-bit slice of a bit plane indexes a table (pshufb / tbl). Not the prompt path: M > 1 keeps the dequantizing GEMM.
//
// Numerics (chosen so perplexity matches the dequantizing path): x is quantized to int8 per 32-block (scale
// xd[b] = absmax/127, as Q8_0 does); each quad of int8 activations gives a table of the 16 exact subset sums
// (|sum| <= 508, int16, stored as a low-byte and a high-byte plane for byte shuffles). The integer dots are
// exact, so y = W_dequantized · x_q8 up to float rounding: the same activation rounding llama.cpp's Q8 paths make.
// Int8-quantized tables (T-MAC's fast mode) were not taken: they add a second, coarser rounding of the sums.
//
// Packed layout (LutWeights), tiles of kLutRows = 16 rows (the last padded with zero rows), K padded to Kp, a
// multiple of 32 (padding codes 0, padding activations 0):
//   codes  [tile][b < nb][j < 4][pp < pairs][slot < 16][e < 2]  one byte: bit plane p = 2·pp + e of row
//          row_of_slot(slot); low nibble bit i = bit p of q[k = 32b + 8j + i], high nibble the same for k + 4.
//          Bytes (2·slot, 2·slot+1) are one row's two planes, so one byte shuffle looks both up with one table and
//          a pairwise multiply-add (maddubs / vpadal) weighs them 2^p and sums them per row.
//   scales [tile][g < ng][s: 16 rows][m: 16 rows] f32, rows in natural order: w[r,k] = s[r,g]·q[r,k] − m[r,g].
//   tables [quad < Kp/4][lo: 16 bytes][hi: 16 bytes]: entry i = Σ_{bit j of i} a[4·quad + j] as int16.
// The slot order (rows 0-3, 8-11, 4-7, 12-15 in slots 0-15) makes x86's per-128-bit-lane unpacks of the 16-bit
// row sums come out in natural row order.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/kernel_table.h"
#include "runtime/dtype.h"

namespace edgellm {

class Tensor;

struct LutWeights {
  int64_t N = 0, K = 0, Kp = 0;  // rows, columns, columns padded to a multiple of 32
  int64_t nb = 0, ng = 0, tiles = 0;  // 32-blocks, groups, row tiles
  int bits = 2, pairs = 1, gb = 1;    // code bits (2, 3), bit-plane pairs, 32-blocks per group
  std::vector<uint8_t> codes;         // (tiles, nb, 4, pairs, 16, 2)
  std::vector<float> scales;          // (tiles, ng, 2, 16)
};

// The slot a row of a tile occupies in the codes (see the layout above).
inline int lut_slot_of_row(int r) { return r < 4 ? r : r < 8 ? r + 4 : r < 12 ? r - 4 : r; }

// One row's codes q (Kp, 0 .. 2^bits-1; zeros past K), scales s and offsets m (ng each) for row r.
using LutRowFn = std::function<void(int64_t r, uint8_t* q, float* s, float* m)>;
// Packs N rows of K codes of `bits` (2 or 3) in groups of `group` columns (a multiple of 32; the last group may
// be short when K is not a multiple of it). Throws Error on other bits or groups.
LutWeights lut_pack(int64_t N, int64_t K, int bits, int group, const LutRowFn& row);
// The same from a GINT2/GINT3 weight (kernels/quant/gint.h; N rows back to back): m = scale·zero.
LutWeights lut_pack_gint(const uint8_t* w, int64_t N, int64_t K, int bits, int group);

// Activation side of one call: x (K) -> int8 per 32-block with scales xd (nb), tables (Kp/4 quads of 32 bytes) and
// per-group sums xg[g] = Σ_{b∈g} xd[b]·Σ_{k∈b} a[k] (ng), consistent with the integer dots.
struct LutActivations {
  std::vector<uint8_t> tables;
  std::vector<float> xd, xg;
};
void lut_prepare(LutActivations& act, const float* x, const LutWeights& W);

// y (N) = W · x through the table's lut_gemv, parallel over tiles.
void lut_gemv(float* y, const float* x, const LutWeights& W, const KernelTable& t = kernels());

// Whether decode of weights of this type takes the LUT path: GINT2_* and GINT3_*, unless EDGELLM_LUT=0 (read
// once; the benches and the perplexity comparison use it to force the dequantizing path).
bool lut_gemv_selected(DType w);
// The packed form of W, made on first use and kept while W's storage lives (one copy per weight, shared by
// threads). Costs (bits + 1 or 2)·N·K/8 bytes beside W itself.
const LutWeights& lut_weights_of(const Tensor& W);

}  // namespace edgellm
