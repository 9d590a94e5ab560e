// LUT GEMV: the decode matvec (M = 1, and up to kLutMaxRows rows) for 2- and 3-bit group-int, Q2_K and Q3_K
// weights without dequantization (T-MAC, EuroSys 2025): weights repacked once into bit planes, activations turned
// into tables of subset sums, and each 4-bit slice of a bit plane indexes a table (pshufb / tbl). Not the prompt
// path: above kLutMaxRows rows the other paths take over.
//
// Numerics (chosen so perplexity matches the dequantizing path): x is quantized to int8 per 32-block (scale
// xd[b] = absmax/127, as Q8_0 does); each quad of int8 activations gives a table of the 16 exact subset sums
// (|sum| <= 508, int16, stored as a low-byte and a high-byte plane for byte shuffles). The integer dots are
// exact, so y = W_dequantized · x_q8 up to float rounding: the same activation rounding llama.cpp's Q8 paths make.
// Int8-quantized tables (T-MAC's fast mode) were not taken: they add a second, coarser rounding of the sums.
//
// Packed layout (LutWeights), tiles of kLutRows = 16 rows (the last padded with zero rows), K padded to Kp, a
// multiple of 32 (padding codes 0, padding activations 0). A nibble of plane p for quad u holds bit p of the codes
// of k = 4u .. 4u+3 (bit i for k = 4u + i); a byte holds quads (2v, 2v+1) in its low and high nibble, v = 4b + j.
//   codes per tile, per 32-block b (lut_block_bytes(bits) bytes):
//     planes 0, 1:  [j < 4][slot < 16][e < 2]: plane e of the row in that slot (lut_slot_of_row). Bytes
//                   (2·slot, 2·slot+1) are one row's two planes, so one byte shuffle looks both up with one table
//                   and a pairwise multiply-add (maddubs / vpadal) weighs them 1 and 2 and sums them per row.
//     plane 2 (3-bit only): [j < 4][16 bytes], byte i the row in slot i for even j, in slot i ^ 8 for odd j (the
//                   slot halves swapped). x86 loads pairs (2h, 2h+1) as the two 16-byte lanes of one register, a
//                   different table per lane; interleaving a lookup's low and high bytes (unpack / zip) gives its
//                   int16 entries in slot order, and the swap lines the two pairs' halves up for one lane swap.
//   scales [tile][g < ng][s: 16 rows][z: 16 rows] f16, rows in natural order: w[r,k] = s[r,g]·(q[r,k] − z[r,g]).
//   tables [b < nb][h < 2][odd < 2][lo/hi < 2][e < 2][16 bytes]: quad 8b + 4h + 2e + odd's low-byte (lo 0) or
//          high-byte (lo 1) table, entry i = Σ_{bit j of i} a[4·quad + j] as int16. So quad pair j = 2h + e of block
//          b starts at lut_pair_tables(b, j), its second quad 64 bytes on, each high table 32 after its low one;
//          and pairs 2h, 2h + 1 sit side by side as the two lanes of one 32-byte load (x86's plane 2).
// The slot order (rows 0-3, 8-11, 4-7, 12-15 in slots 0-15) makes x86's per-128-bit-lane unpacks of the 16-bit
// row sums come out in natural row order. Bits per weight: bits + 32/group (2.25 at 2 bits, group 128).
//
// Q2_K and Q3_K (format Q2_K / Q3_K): the same codes (Q2_K's 2-bit q; Q3_K's low 2 bits of q + 4 in planes 0, 1 and
// in plane 2 its −4 flag, 1 − the hmask bit, so q = planes01 − 4·plane2 and no bsum term), K a multiple of 256,
// activations quantized to Q8_K exactly as matmul_quant does, so the integer sums are the vec_dot's and y equals
// it up to float rounding. Per tile, besides the codes:
//   sub    [b < nb][r: 16 rows][h < 2] bytes: sub-block 2·(b mod 8) + h of super-block b/8. Q2_K: its scales byte
//          (scale | min << 4); Q3_K: its 6-bit scale − 32 as int8. Row r's pair is bytes 2r, 2r+1, so x86 widens
//          rows 0-7 straight into (h = 0, h = 1) int16 pairs for madd.
//   scales [s < nsb][16 rows of d] f16, then for Q2_K [16 rows of dmin]: the super-blocks' own f16 values.
// Bits per weight: Q2_K 2.625 (as the file), Q3_K 3.5625 (the file's 3.4375 plus 2 bits per 16 for int8 scales).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/kernel_table.h"
#include "runtime/dtype.h"

namespace edgellm {

class Tensor;

// Where the scales come from: a group-int weight (s, z per group) or a GGUF K-quant's super-blocks.
enum class LutFormat { Group, Q2_K, Q3_K };

struct LutWeights {
  LutFormat format = LutFormat::Group;
  int64_t N = 0, K = 0, Kp = 0;  // rows, columns, columns padded to a multiple of 32
  int64_t nb = 0, ng = 0, tiles = 0;  // 32-blocks, groups (K-quants: super-blocks of 256), row tiles
  int bits = 2, gb = 1;                // code bits (2, 3), 32-blocks per group (K-quants: 8)
  std::vector<uint8_t> codes;         // (tiles, nb, lut_block_bytes(bits))
  std::vector<uint16_t> scales;       // Group: (tiles, ng, 2, 16) f16; K-quants: (tiles, ng, 2 or 1, 16) f16
  std::vector<uint8_t> sub;           // K-quants: (tiles, nb, 16, 2) sub-block scales; Group: empty
};

// Bytes of one 32-block of one tile: 16 rows × 32 codes × bits / 8.
inline constexpr int64_t lut_block_bytes(int bits) { return 64 * bits; }

// The slot a row of a tile occupies in the codes (see the layout above).
inline int lut_slot_of_row(int r) { return r < 4 ? r : r < 8 ? r + 4 : r < 12 ? r - 4 : r; }

// Byte offset in the tables of quad pair j (< 4) of 32-block b, and of a quad's low-byte table (see above).
inline constexpr int64_t lut_pair_tables(int64_t b, int j) { return 256 * b + 128 * (j >> 1) + 16 * (j & 1); }
inline constexpr int64_t lut_quad_table(int64_t quad) {
  return lut_pair_tables(quad >> 3, static_cast<int>((quad >> 1) & 3)) + 64 * (quad & 1);
}

// One row's codes q (Kp, 0 .. 2^bits-1; zeros past K), scales s and zero points z (ng each, stored as f16) for row r.
using LutRowFn = std::function<void(int64_t r, uint8_t* q, float* s, float* z)>;
// Packs N rows of K codes of `bits` (2 or 3) in groups of `group` columns (a multiple of 32; the last group may
// be short when K is not a multiple of it). Throws Error on other bits or groups.
LutWeights lut_pack(int64_t N, int64_t K, int bits, int group, const LutRowFn& row);
// The same from a GINT2/GINT3 weight (kernels/quant/gint.h; N rows back to back): its f16 scales and zeros as they are.
LutWeights lut_pack_gint(const uint8_t* w, int64_t N, int64_t K, int bits, int group);
// From a Q2_K or Q3_K weight (N rows of K/256 GGUF blocks back to back): codes, sub-block scales, d and dmin as
// they are. Throws Error on another type or K not a multiple of 256.
LutWeights lut_pack_kquant(const uint8_t* w, DType type, int64_t N, int64_t K);

// Activation side of one call: x (K) -> int8 per 32-block with scales xd (nb), tables (Kp/4 quads of 32 bytes) and
// per-group sums xg[g] = Σ_{b∈g} xd[b]·Σ_{k∈b} a[k] (ng), consistent with the integer dots. K-quant weights: x as
// t's quantize_q8_k makes it (xd per super-block, bsums per 16), the tables from its int8 values, no xg.
struct LutActivations {
  std::vector<uint8_t> tables;
  std::vector<float> xd, xg;
  std::vector<int16_t> bsums;  // (ng, 16), K-quants only
  std::vector<uint8_t> q8;     // the Q8_K row, K-quants only
};
void lut_prepare(LutActivations& act, const float* x, const LutWeights& W, const KernelTable& t = kernels());

// y (M, N) = x (M, K) · Wᵀ through the table's lut_gemv (or lut_gemv_kquant), parallel over tiles; for M > 1
// every row of x takes a chunk of tiles in turn while it is in cache. For the few rows of decode, not prompts.
void lut_matmul(float* y, const float* x, int64_t M, const LutWeights& W, const KernelTable& t = kernels());
// y (N) = W · x.
inline void lut_gemv(float* y, const float* x, const LutWeights& W, const KernelTable& t = kernels()) {
  lut_matmul(y, x, 1, W, t);
}

// Rows of x up to which linear_forward takes the LUT: from 4 rows the Q2_K/Q3_K vec_dot shares each weight decode
// among 4 activation rows and catches up (bench lowbit_small_m); group-int prompts keep f32 activations.
inline constexpr int64_t kLutMaxRows = 3;
// Whether M rows against weights of this type take the LUT path: GINT2_*, GINT3_*, Q2_K and Q3_K, 1 <= M <=
// kLutMaxRows, unless EDGELLM_LUT=0 (read once; the benches and the perplexity comparison use it to force the
// dequantizing path).
bool lut_gemv_selected(DType w, int64_t M = 1);
// The table's ISA that serves weights of type w on the LUT path (lut_gemv's or lut_gemv_kquant's).
const char* lut_gemv_isa(DType w, const KernelTable& t = kernels());
// The packed form of W, made on first use and kept while W's storage lives (one copy per weight, shared by
// threads). Costs about as many bytes as W itself, beside it.
const LutWeights& lut_weights_of(const Tensor& W);

}  // namespace edgellm
