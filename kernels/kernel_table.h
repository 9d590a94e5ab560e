// The kernel table: one function pointer per kernel, filled once at start from the
// best ISA this CPU runs (or the one EDGELLM_ISA forces). Hot loops never test CPU features.
// Not where kernels live: ref/ holds the scalar twins, simd/ the xsimd bodies, arch/ the ISA builds.
//
// Dimension vocabulary: B batch, T tokens, C channels, V vocab, NH heads, KVH kv heads, HD head dim.
// Backward kernels accumulate (+=) into gradients; callers zero them explicitly.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace edgellm {

// Ordered from least to most capable within a family; tables overlay in this order.
enum class Isa { Scalar, Avx2, Avx512, Neon };

// How RoPE pairs the dims of a head. Interleaved rotates (2i, 2i+1): llama.cpp's "normal" mode
// and GGUF llama files. NeoX rotates (i, i + HD/2): Hugging Face's rotate_half, qwen2 GGUFs.
enum class RopePairing { Interleaved, NeoX };

// ---- kernel signatures (name##_fn) ----------------------------------------------------
// dtype conversions, n elements
using f16_to_f32_fn = void(float* y, const uint16_t* x, int64_t n);
using f32_to_f16_fn = void(uint16_t* y, const float* x, int64_t n);
using bf16_to_f32_fn = void(float* y, const uint16_t* x, int64_t n);
using f32_to_bf16_fn = void(uint16_t* y, const float* x, int64_t n);

// elementwise, all buffers (n)
using add_forward_fn = void(float* y, const float* a, const float* b, int64_t n);
using add_backward_fn = void(float* da, float* db, const float* dy, int64_t n);
using mul_forward_fn = void(float* y, const float* a, const float* b, int64_t n);
using mul_backward_fn = void(float* da, float* db, const float* dy, const float* a, const float* b, int64_t n);
using scale_forward_fn = void(float* y, const float* x, float s, int64_t n);
using scale_backward_fn = void(float* dx, const float* dy, float s, int64_t n);
using silu_forward_fn = void(float* y, const float* x, int64_t n);
using silu_backward_fn = void(float* dx, const float* dy, const float* x, int64_t n);
// gelu is the tanh approximation (gelu_pytorch_tanh)
using gelu_forward_fn = void(float* y, const float* x, int64_t n);
using gelu_backward_fn = void(float* dx, const float* dy, const float* x, int64_t n);
// swiglu: y = silu(gate) * up
using swiglu_forward_fn = void(float* y, const float* gate, const float* up, int64_t n);
using swiglu_backward_fn = void(float* dgate, float* dup, const float* dy, const float* gate, const float* up,
                                int64_t n);

// rmsnorm over rows: y, x, dy, dx (rows, C); w, dw (C); rstd (rows), saved by forward (may be null there)
using rmsnorm_forward_fn = void(float* y, float* rstd, const float* x, const float* w, int64_t rows, int64_t C,
                                float eps);
using rmsnorm_backward_fn = void(float* dx, float* dw, const float* dy, const float* x, const float* w,
                                 const float* rstd, int64_t rows, int64_t C);

// layernorm over rows: y = (x − mean)·rstd·w + b; y, x, dy, dx (rows, C); w, b, dw, db (C); rstd (rows), saved by
// forward (may be null there); the backward recomputes the mean from x.
using layernorm_forward_fn = void(float* y, float* rstd, const float* x, const float* w, const float* b, int64_t rows,
                                  int64_t C, float eps);
using layernorm_backward_fn = void(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w,
                                   const float* rstd, int64_t rows, int64_t C);
// softcap: y = cap·tanh(x / cap) (Gemma 2's final logits); the backward reads the forward's output y.
using softcap_forward_fn = void(float* y, const float* x, float cap, int64_t n);
using softcap_backward_fn = void(float* dx, const float* dy, const float* y, float cap, int64_t n);
// softmax over rows: (rows, C); backward uses the forward's output y
using softmax_forward_fn = void(float* y, const float* x, int64_t rows, int64_t C);
using softmax_backward_fn = void(float* dx, const float* dy, const float* y, int64_t rows, int64_t C);

// rope: x, y, dx, dy (T, NH, HD); cos, sin (T, HD/2) for the angle of pair i at token t.
// y may alias x. Backward rotates by the negative angle and accumulates into dx.
using rope_forward_fn = void(float* y, const float* x, const float* cos, const float* sin, int64_t T, int64_t NH,
                             int64_t HD, RopePairing pairing);
using rope_backward_fn = void(float* dx, const float* dy, const float* cos, const float* sin, int64_t T, int64_t NH,
                              int64_t HD, RopePairing pairing);

// ---- attention, cross-entropy, embedding (h-attn) ----------------------------------------
// Causal self-attention with grouped-query heads over one sequence, possibly after a KV-cache prefix.
// Layout (all f32, row = one token):
//   q  (T, NH, HD)  element (t, h, d)  at q[t * q_stride + h * HD + d]      (q_stride >= NH * HD)
//   k  (S, KVH, HD) element (s, g, d)  at k[s * k_stride + g * HD + d]      (k_stride >= KVH * HD)
//   v  (S, KVH, HD) element (s, g, d)  at v[s * v_stride + g * HD + d]      (v_stride >= KVH * HD)
//   o  (T, NH, HD)  element (t, h, d)  at o[t * o_stride + h * HD + d]      (o_stride >= NH * HD)
//   L  (T, NH)      contiguous, L[t * NH + h]: the row's logsumexp of scale * q·k, saved for backward
// Gradients share their primal's layout: dq like q, dk like k, dv like v, dO like o.
// The strides let a model pass views into a fused QKV buffer (q_stride = k_stride = v_stride =
// (NH + 2·KVH)·HD) or into a KV cache whose capacity exceeds S (rows are tokens, so capacity only
// changes where rows end, not the stride). Query t sits at absolute position pos0 + t and attends keys
// 0 .. pos0 + t; S >= pos0 + T (keys past pos0 + T − 1 are never read). Query head h uses kv head
// h / (NH / KVH). Training: S = T, pos0 = 0.
// window > 0 (sliding-window attention): query t sees only keys s with pos0 + t − s < window.
// softcap > 0 (Gemma 2): each score x = scale·q·k becomes softcap·tanh(x / softcap) before the softmax.
// The backward applies both as the forward did (the scores recomputed, the soft-cap's derivative 1 − (y/cap)²).
struct AttentionDims {
  int64_t T = 0, S = 0, NH = 0, KVH = 0, HD = 0, pos0 = 0;
  int64_t q_stride = 0, k_stride = 0, v_stride = 0, o_stride = 0;
  double scale = 0;  // usually 1/sqrt(HD); double so the reference runs exactly in double
  int64_t window = 0;
  double softcap = 0;
};
// Tile sizes of the tiled kernels: a tile is up to kAttnRows (query token, head) rows against
// kAttnKeys keys. The work buffer a tile kernel needs is attention_work_floats(HD) (kernels/attention.h):
// a function of these and HD only, never of T or S.
inline constexpr int64_t kAttnRows = 128;
inline constexpr int64_t kAttnKeys = 64;

// Forward of query tokens [t0, t1) for all NH/KVH query heads of kv head g: writes their o rows and L
// (L may be null when no backward follows).
using attention_forward_fn = void(float* o, float* L, const float* q, const float* k, const float* v,
                                  const AttentionDims& d, int64_t g, int64_t t0, int64_t t1, float* work);
// Backward for kv head g (every query head of its group, every token): dq, dk, dv +=. Recomputes the
// softmax from q, k and L. Only kv head g's dk/dv columns and its query heads' dq columns are written,
// so different g may run in parallel.
using attention_backward_fn = void(float* dq, float* dk, float* dv, const float* dO, const float* q,
                                   const float* k, const float* v, const float* o, const float* L,
                                   const AttentionDims& d, int64_t g, float* work);

// Cross-entropy over rows of logits (T, V) with targets (T); rows whose target is ignore_index are
// masked. Forward writes loss (T) (0 on masked rows) and lse (T), the row logsumexp saved for backward.
// Backward: dlogits (T, V) += (softmax − onehot) · g on unmasked rows (g = dloss / n_unmasked for a
// mean). Targets are validated by the driver (kernels/cross_entropy.h), not here.
using cross_entropy_forward_fn = void(float* loss, float* lse, const float* logits, const int32_t* targets,
                                      int64_t T, int64_t V, int32_t ignore_index);
using cross_entropy_backward_fn = void(float* dlogits, const float* logits, const float* lse,
                                       const int32_t* targets, float g, int64_t T, int64_t V,
                                       int32_t ignore_index);

// Embedding rows of width C at row pitch `stride` (>= C; a column slice of a wider matrix):
// out row t = table row ids[t]; backward dtable row ids[t] += dout row t (duplicates accumulate).
// ids are validated by the driver (kernels/embedding.h).
using embedding_forward_fn = void(float* out, const float* table, const int32_t* ids, int64_t T, int64_t C,
                                  int64_t stride);
using embedding_backward_fn = void(float* dtable, const float* dout, const int32_t* ids, int64_t T, int64_t C,
                                   int64_t stride);
// ---- end attention, cross-entropy, embedding (h-attn) -------------------------------------
// ---- quantized blocks (h-quant): GGUF formats, kernels/quant/ + kernels/ref/quant_*.cpp --------------
// quantize_*: activation rows to 8-bit blocks, x (n) -> y blocks; dequantize_*: blocks -> y (n).
// vec_dot_W_A: a tile of nw weight rows (row c at w + c*w_stride bytes, K elements each) against nx activation
// rows (row j at x + j*x_stride bytes): s[j*s_stride + c] = dot(w_c, x_j). Kernels may tile both ways.
using quant_row_fn = void(void* y, const float* x, int64_t n);
using dequant_row_fn = void(float* y, const void* x, int64_t n);
using quant_vec_dot_fn = void(float* s, int64_t s_stride, const void* w, int64_t w_stride, int64_t nw, const void* x,
                              int64_t x_stride, int64_t nx, int64_t K);
#define EDGELLM_QUANT_ACT(X) X(quantize_q8_0) X(quantize_q8_1) X(quantize_q8_k)
#define EDGELLM_QUANT_DEQUANT(X)                                                                               \
  X(dequantize_q4_0) X(dequantize_q4_1) X(dequantize_q5_0) X(dequantize_q5_1) X(dequantize_q8_0)              \
  X(dequantize_q8_1) X(dequantize_q2_k) X(dequantize_q3_k) X(dequantize_q4_k) X(dequantize_q5_k)              \
  X(dequantize_q6_k) X(dequantize_q8_k)
#define EDGELLM_QUANT_DOT(X)                                                                                   \
  X(vec_dot_q4_0_q8_0) X(vec_dot_q4_1_q8_1) X(vec_dot_q5_0_q8_0) X(vec_dot_q5_1_q8_1) X(vec_dot_q8_0_q8_0)   \
  X(vec_dot_q2_k_q8_k) X(vec_dot_q3_k_q8_k) X(vec_dot_q4_k_q8_k) X(vec_dot_q5_k_q8_k) X(vec_dot_q6_k_q8_k)
#define EDGELLM_QUANT_USING_ACT(name) using name##_fn = quant_row_fn;
#define EDGELLM_QUANT_USING_DEQ(name) using name##_fn = dequant_row_fn;
#define EDGELLM_QUANT_USING_DOT(name) using name##_fn = quant_vec_dot_fn;
EDGELLM_QUANT_ACT(EDGELLM_QUANT_USING_ACT)
EDGELLM_QUANT_DEQUANT(EDGELLM_QUANT_USING_DEQ)
EDGELLM_QUANT_DOT(EDGELLM_QUANT_USING_DOT)
#undef EDGELLM_QUANT_USING_ACT
#undef EDGELLM_QUANT_USING_DEQ
#undef EDGELLM_QUANT_USING_DOT
// GINT (kernels/quant/gint.h): s[r*s_stride] = dot(dequantized GINT row w (K), x + r*x_stride floats), r < nx.
using gint_dot_fn = void(float* s, int64_t s_stride, const uint8_t* w, const float* x, int64_t x_stride,
                         int64_t nx, int64_t K, int bits, int group);
// LUT GEMV (kernels/lut_gemv.h packs and drives it; T-MAC's lookup tables, no dequantization): weights repacked
// into bit-plane tiles of kLutRows rows, activations as int16 tables of the 16 subset sums of each quad of int8
// activations. For `tiles` tiles of codes/scales (layout in kernels/lut_gemv.h), y (tiles*kLutRows) gets
//   y[r] = Σ_g s[r,g] · (Σ_{b∈g} xd[b] · S[r,b] − z[r,g] · xg[g]),   S[r,b] = Σ_{k∈b} q[r,k] · a[k] (exact integers)
// with nb 32-blocks of k, gb blocks per group, `bits` (2 or 3) bit planes; s, z are f16.
inline constexpr int64_t kLutRows = 16;
using lut_gemv_fn = void(float* y, const uint8_t* codes, const uint16_t* scales, const uint8_t* tables,
                         const float* xd, const float* xg, int64_t tiles, int64_t nb, int bits, int gb);
// The same lookups on Q2_K / Q3_K weights (bits 2 / 3), their scales kept exact: nsb super-blocks of 256, xd (nsb)
// the Q8_K activation scales, bsums (nsb, 16) its 16-element sums; sub and d as laid out in kernels/lut_gemv.h.
//   y[r] = Σ_s xd[s] · (d[r,s] · Σ_j sc[r,s,j] · P[r,s,j] − dmin[r,s] · Σ_j m[r,s,j] · bsums[s,j])
// P = Σ_{k∈j} q[r,k] · a[k] over sub-block j (16 k), in exact integers. Q2_K: sc, m the low and high nibble of sub;
// Q3_K: sc the int8 sub, q = code − 4, no dmin term.
using lut_gemv_kquant_fn = void(float* y, const uint8_t* codes, const uint8_t* sub, const uint16_t* d,
                                const uint8_t* tables, const float* xd, const int16_t* bsums, int64_t tiles,
                                int64_t nsb, int bits);
#define EDGELLM_QUANT_KERNELS(X) \
  EDGELLM_QUANT_ACT(X) EDGELLM_QUANT_DEQUANT(X) EDGELLM_QUANT_DOT(X) X(gint_dot) X(lut_gemv) X(lut_gemv_kquant)
// ---- end quantized blocks ------------------------------------------------------------------------------
// ---- 8-bit panel GEMM (kernels/quant_gemm_i8.h drives it) ------------------------------------------
// Weights of kI8PanelCols columns (output features) are packed per block b of kb elements (32, or 16 for
// Q6_K's sub-blocks) as codes u[b][g][j][0..3] (g < kb/4 groups of 4 k, j < kI8PanelCols, unsigned
// bytes), f32 scales wd[b][j] and, for formats with a per-block minimum (Q4_K, Q5_K), f32 offsets
// wm[b][j] (nullptr: none). Activations are signed bytes x (rows of ldx) with per (row, block) scales dx,
// integer corrections corr (= -zero_point * Σ_k x over the block) and dsx = dx · Σ_k x, all rows of ldd.
// For m <= the table's i8_panel_mr rows and n <= kI8PanelCols columns:
//   c[i, j] = Σ_b dx[i,b] · wd[b,j] · (Σ_k u[b,j,k] · x[i, kb·b+k] + corr[i,b]) + dsx[i,b] · wm[b,j].
// code_bits bounds the codes: below 2^code_bits (4: Q4_0, Q4_K; 5: Q5_K; 6: Q6_K), or any byte with 8 (Q8_0), read as
// signed on tables with i8_panel_signed_codes. It tells a kernel how many products fit a 16-bit sum (AVX2's maddubs).
inline constexpr int64_t kI8PanelCols = 32;
using i8_panel_ukernel_fn = void(int64_t nb, int64_t kb, int code_bits, const int8_t* x, int64_t ldx, const float* dx,
                                 const int32_t* corr, const float* dsx, int64_t ldd, const uint8_t* u, const float* wd,
                                 const float* wm, float* c, int64_t ldc, int64_t m, int64_t n);
// Packs rows <= kI8PanelCols weight rows of K elements (row r at w + r·wrb bytes, one GGUF type per entry) into that
// layout: codes u (K/4, kI8PanelCols, 4), scales wd and, for Q4_K and Q5_K, offsets wm (K/kb, kI8PanelCols; wm is
// not touched for the other types). Columns rows.. get zero codes and scales. Codes are unsigned: q + 8 (Q4_0), q + 32
// (Q6_K), the stored value (Q4_K, Q5_K); Q8_0's are q + 128, or q itself (signed bytes) when signed_codes is set.
using i8_panel_pack_fn = void(uint8_t* u, float* wd, float* wm, const uint8_t* w, int64_t wrb, int64_t rows,
                              int64_t K, bool signed_codes);
#define EDGELLM_I8_PACKS(X) X(i8_panel_pack_q4_0) X(i8_panel_pack_q8_0) X(i8_panel_pack_q4_k) X(i8_panel_pack_q5_k) \
  X(i8_panel_pack_q6_k)
#define EDGELLM_I8_USING_PACK(name) using name##_fn = i8_panel_pack_fn;
EDGELLM_I8_PACKS(EDGELLM_I8_USING_PACK)
#undef EDGELLM_I8_USING_PACK
#define EDGELLM_I8_KERNELS(X) X(i8_panel_ukernel) EDGELLM_I8_PACKS(X)
// ---- GEMM family (kernels/gemm.h drives these; see kernels/simd/gemm_microkernel.h) -----
// sgemm micro-kernel on packed panels. ap: A micro-panel (kc, MR) k-major, alpha already applied;
// bp: B micro-panel (kc, NR) k-major; c: (m, n) with row stride ldc, m <= MR, n <= NR.
// c = ap·bp when accumulate is false (c is not read), c += ap·bp when true.
using sgemm_ukernel_fn = void(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int64_t m,
                              int64_t n, bool accumulate);
// Packs one B micro-panel of the x·Wᵀ case: dst (kc, NR) k-major, dst[k*NR + j] = w[j*ldw + k] for
// the nr <= NR rows of W (kc contiguous each); columns nr..NR are zeroed. NR is the table's sgemm_block.nr.
using sgemm_pack_bt_fn = void(float* dst, const float* w, int64_t ldw, int64_t kc, int64_t nr);
// Packs one A micro-panel from A (M, K) row-major: dst (kc, MR) k-major, dst[k*MR + i] = alpha *
// a[i*lda + k] for the mr <= MR rows; rows mr..MR are zeroed. MR is the table's sgemm_block.mr.
using sgemm_pack_an_fn = void(float* dst, const float* a, int64_t lda, int64_t kc, int64_t mr, float alpha);
// GEMV over the rows of W, the M=1 case of y = x·Wᵀ: y (N) = alpha * W (N, K; row stride ldw) · x (K)
// + beta * y. beta == 0 never reads y. The _f16/_bf16 forms convert W on the fly, accumulating in f32.
using sgemv_rows_fn = void(float* y, const float* x, const float* w, int64_t N, int64_t K, int64_t ldw, float alpha,
                           float beta);
using sgemv_rows_f16_fn = void(float* y, const float* x, const uint16_t* w, int64_t N, int64_t K, int64_t ldw,
                               float alpha, float beta);
using sgemv_rows_bf16_fn = void(float* y, const float* x, const uint16_t* w, int64_t N, int64_t K, int64_t ldw,
                                float alpha, float beta);
#define EDGELLM_GEMM_KERNELS(X) X(sgemm_ukernel) X(sgemm_pack_bt) X(sgemm_pack_an) X(sgemv_rows) X(sgemv_rows_f16) X(sgemv_rows_bf16)

// Register tile and cache blocking that go with the table's sgemm_ukernel (set with it).
struct GemmBlocking {
  int mr = 4, nr = 4;                   // micro-kernel tile (rows of A, columns of B)
  int64_t kc = 256, mc = 64, nc = 1024;  // packed A block (mc, kc) ~ L2, B panel (kc, nc) ~ L3
};

// ---- optimizer passes (train/optimizer.cpp drives them; scalar in kernels/ref/optim.h) ----------
// One AdamW update of n elements (see ref::adamw_f32); the coefficients come from double in the caller.
struct AdamWCoef {
  float grad_scale = 1, decay = 1, b1 = 0.9f, b2 = 0.999f, one_m_b1 = 0.1f, one_m_b2 = 0.001f;
  float step_size = 0, bc2_sqrt = 1, eps = 1e-8f;
};
using adamw_f32_fn = void(float* w, float* m, float* v, const float* g, int64_t n, const AdamWCoef& c);
using sumsq_f32_fn = double(const float* x, int64_t n);  // Σ x² (float partial sums, double total)
#define EDGELLM_OPTIM_KERNELS(X) X(adamw_f32) X(sumsq_f32)

#define EDGELLM_KERNELS(X)                                                                                      \
  X(f16_to_f32) X(f32_to_f16) X(bf16_to_f32) X(f32_to_bf16) X(add_forward) X(add_backward) X(mul_forward)    \
  X(mul_backward) X(scale_forward) X(scale_backward) X(silu_forward) X(silu_backward) X(gelu_forward)          \
  X(gelu_backward) X(swiglu_forward) X(swiglu_backward) X(rmsnorm_forward) X(rmsnorm_backward) X(layernorm_forward) X(layernorm_backward) \
  X(softcap_forward) X(softcap_backward) \
  X(softmax_forward) X(softmax_backward) X(rope_forward) X(rope_backward)                                 \
  X(attention_forward) X(attention_backward) X(cross_entropy_forward)                                      \
  X(cross_entropy_backward) X(embedding_forward) X(embedding_backward)                                     \
  EDGELLM_GEMM_KERNELS(X) EDGELLM_QUANT_KERNELS(X) EDGELLM_OPTIM_KERNELS(X) EDGELLM_I8_KERNELS(X)

struct KernelTable {
  Isa isa = Isa::Scalar;  // the ISA this table was built up to
#define EDGELLM_KERNEL_FIELD(name) \
  name##_fn* name = nullptr;       \
  const char* name##_isa = "none";
  EDGELLM_KERNELS(EDGELLM_KERNEL_FIELD)
#undef EDGELLM_KERNEL_FIELD
  GemmBlocking sgemm_block;  // goes with sgemm_ukernel
  int i8_panel_mr = 4;       // rows of i8_panel_ukernel's tile
  // i8_panel_ukernel reads u as signed bytes (sdot): codes must stay below 128, so Q8_0 is packed as q with zero
  // point 0 instead of q + 128 (the other formats' codes are below 64 either way).
  bool i8_panel_signed_codes = false;
};

// Sets entry `name` of table `t` to `fn`, recording the ISA that provides it.
#define EDGELLM_SET_KERNEL(t, name, fn, isa_str) \
  do {                                           \
    (t).name = (fn);                             \
    (t).name##_isa = (isa_str);                  \
  } while (0)

// The active table: the best ISA the CPU runs, or EDGELLM_ISA's choice. Throws Error if
// EDGELLM_ISA names an ISA that is unknown, not compiled in, or that this CPU lacks.
const KernelTable& kernels();
Isa active_isa();
// The table built up to `isa`, or nullptr if that ISA is not compiled in or the CPU lacks it.
const KernelTable* kernels_for(Isa isa);
// Compiled-in and supported by this CPU, scalar first: what tests iterate over.
std::vector<Isa> available_isas();
bool isa_compiled(Isa isa);
bool isa_supported(Isa isa);
const char* isa_name(Isa isa);
Isa isa_from_name(const std::string& name);  // throws Error on an unknown name
std::string compiled_isas_string();
// (kernel name, ISA that fills it) for every entry, for `edgellm info`.
std::vector<std::pair<std::string, std::string>> kernel_isa_list(const KernelTable& t);

namespace detail {
// One filler per arch folder; each overlays only the kernels that ISA has.
void fill_scalar(KernelTable& t);
void fill_avx2(KernelTable& t);
void fill_avx512(KernelTable& t);
void fill_neon(KernelTable& t);
void fill_neon_dotprod(KernelTable& t);
// h-attn: attention, cross-entropy and embedding (scalar in kernels/ref/fill_scalar_attention.cpp).
void fill_scalar_attention(KernelTable& t);
void fill_avx2_attention(KernelTable& t);
void fill_avx2_cross_entropy(KernelTable& t);
void fill_avx2_embedding(KernelTable& t);
void fill_avx512_attention(KernelTable& t);
void fill_avx512_cross_entropy(KernelTable& t);
void fill_avx512_embedding(KernelTable& t);
void fill_neon_attention(KernelTable& t);
void fill_neon_cross_entropy(KernelTable& t);
void fill_neon_embedding(KernelTable& t);
// end h-attn
// GEMM family, one per arch folder (kernels/arch/<isa>/gemm.cpp); scalar in kernels/ref/fill_gemm.cpp.
void fill_scalar_gemm(KernelTable& t);
void fill_avx2_gemm(KernelTable& t);
void fill_avx512_gemm(KernelTable& t);
void fill_neon_gemm(KernelTable& t);
// quantized blocks (h-quant)
void fill_scalar_quant(KernelTable& t);
void fill_avx2_quant(KernelTable& t);
void fill_avx512_quant(KernelTable& t);
void fill_neon_quant(KernelTable& t);
void fill_neon_dotprod_quant(KernelTable& t);
void fill_avx2_gint(KernelTable& t);    // called from fill_avx2_quant
void fill_avx512_gint(KernelTable& t);  // called from fill_avx512_quant
void fill_avx512_i8_panel(KernelTable& t);  // called from fill_avx512_quant on VNNI CPUs
void fill_neon_gint(KernelTable& t);    // called from fill_neon_quant
}  // namespace detail

}  // namespace edgellm
