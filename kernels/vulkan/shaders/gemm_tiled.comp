// C (M, N) = alpha · op(A) · op(B) + beta · C in f32 for big shapes (training): BM x BN tiles, TM x TN outputs per
// thread as 4x4 blocks, double-buffered BK slices in shared memory read as vec4s, and global loads along each
// operand's contiguous dimension, compiled once per layout (A_T: A stored (K, M); B_T: B stored (N, K)) and tile.
// Split-K: workgroup z sums k in [z·k_slice, (z+1)·k_slice) into its slice of `part` (gemm_splitk.comp adds the
// slices into C). With WTYPE (a dequant.glsl weight type) B is a weight W in its GGUF/GINT layout, dequantized to
// f32 as its quads are stored to shared memory (dequant_quad.glsl): B_T 1, W (N, K) used as x·Wᵀ (the prompt's
// linear layers); B_T 0, W (K, N) used as dy·W (their input gradient). Rows of W start ldb units apart from b_off.
// Not the generic-stride GEMM (gemm.comp) and not a tensor-core kernel: plain fp32 FMAs.
#version 450
#extension GL_EXT_control_flow_attributes : enable
#extension GL_GOOGLE_include_directive : require

// Defines: A_T, B_T (0 or 1), BM, BN, BK, TM, TN (TM, TN multiples of 4).
#define WX (BN / TN)  // threads along n
#define WY (BM / TM)  // threads along m
#define NT (WX * WY)
#if (BM * BK / 4) % NT != 0 || (BN * BK / 4) % NT != 0 || WX % 8 != 0 || WY % 4 != 0 || TM % 4 != 0 || TN % 4 != 0
#error "tile shape: every thread loads whole quads of both operands; warps of 8 threads along n by 4 along m"
#endif
layout(local_size_x = NT) in;
// Each operand also as vec4s (the same binding): a quad along its contiguous dimension in one load when aligned.
layout(std430, binding = 0) readonly buffer ABuf { float a[]; };
layout(std430, binding = 0) readonly buffer ABuf4 { vec4 a4[]; };
#ifdef WTYPE
layout(std430, binding = 1) readonly buffer BBuf { uint wb[]; };
#else
layout(std430, binding = 1) readonly buffer BBuf { float b[]; };
layout(std430, binding = 1) readonly buffer BBuf4 { vec4 b4[]; };
#endif
layout(std430, binding = 2) buffer CBuf { float c[]; };
layout(std430, binding = 3) writeonly buffer PBuf { float part[]; };  // (z, M, N) split-K partials
layout(push_constant) uniform P {
  uint M, N, K;
  uint a_off, lda;  // A_T == 0: A(m, k) = a[a_off + m*lda + k]; A_T == 1: a[a_off + k*lda + m]
  uint b_off, ldb;  // B_T == 0: B(k, n) = b[b_off + k*ldb + n]; B_T == 1: b[b_off + n*ldb + k]
  uint c_off, ldc;  // C(m, n) = c[c_off + m*ldc + n]
  float alpha, beta;  // beta == 0 never reads C
  uint k_slice;       // k per workgroup z: a multiple of BK
  uint vec_ok;        // bit 0: a_off and lda multiples of 4 (vec4 loads of A); bit 1: the same for B
#ifdef WTYPE
  uint gint_bits, gint_group, b_trans;  // dequant.glsl's: b_trans = 1 - B_T
#endif
} p;
#ifdef WTYPE
#include "dequant.glsl"
#include "dequant_quad.glsl"
#endif

// A slice of BK k by BM rows (or BN columns), m (n) contiguous in vec4s; the pad keeps stores along k from
// landing in one bank and rows 16-byte aligned.
shared vec4 As[2][BK][BM / 4 + 1];
shared vec4 Bs[2][BK][BN / 4 + 1];

const uint QA = BM * BK / 4 / NT, QB = BN * BK / 4 / NT;  // quads each thread loads per slice
vec4 ra[QA];
#ifdef WTYPE
uvec4 rb[QB];  // the raw words of W's quads (fetch_w4), decoded by store_slice
bool rb_ok[QB];
#else
vec4 rb[QB];
#endif

// One operand's quad q of the slice at k0: 4 consecutive elements along the contiguous dimension (rows when the
// operand is stored k-major (A_T / !B_T), else k), zero outside rows < R and k < kend.
#define LOAD_QUAD(KMAJOR, BUF, BUF4, OFF, LD, ROWS, R, VEC, q, k0, kend, out)                                    \
  {                                                                                                              \
    if (KMAJOR) {                                                                                                \
      const uint r = (q) % (ROWS / 4) * 4, k = (k0) + (q) / (ROWS / 4);                                          \
      const uint base = OFF + k * LD + r;                                                                        \
      if (VEC && k < kend && r + 3 < R) {                                                                        \
        out = BUF4[base / 4];                                                                                    \
      } else {                                                                                                   \
        [[unroll]] for (uint j = 0; j < 4; ++j) out[j] = (k < kend && r + j < R) ? BUF[base + j] : 0.0;         \
      }                                                                                                          \
    } else {                                                                                                     \
      const uint r = (q) / (BK / 4), k = (k0) + (q) % (BK / 4) * 4;                                              \
      const uint base = OFF + r * LD + k;                                                                        \
      if (VEC && r < R && k + 3 < kend) {                                                                        \
        out = BUF4[base / 4];                                                                                    \
      } else {                                                                                                   \
        [[unroll]] for (uint j = 0; j < 4; ++j) out[j] = (r < R && k + j < kend) ? BUF[base + j] : 0.0;         \
      }                                                                                                          \
    }                                                                                                            \
  }

// Stores quad q (as loaded above) into the shared slice S (rows of ROWS/4 vec4s): one vec4 when it runs along
// rows, else one component in each of 4 k rows.
#define STORE_QUAD(KMAJOR, S, ROWS, q, v)                                                                        \
  {                                                                                                              \
    if (KMAJOR) {                                                                                                \
      S[(q) / (ROWS / 4)][(q) % (ROWS / 4)] = v;                                                                 \
    } else {                                                                                                     \
      const uint r = (q) / (BK / 4), kk = (q) % (BK / 4) * 4;                                                    \
      [[unroll]] for (uint j = 0; j < 4; ++j) S[kk + j][r / 4][r % 4] = v[j];                                    \
    }                                                                                                            \
  }

uint m0, n0;

void load_slice(uint k0, uint kend) {
  const uint tid = gl_LocalInvocationID.x;
  const bool va = (p.vec_ok & 1u) != 0u, vb = (p.vec_ok & 2u) != 0u;
  [[unroll]] for (uint i = 0; i < QA; ++i) {
    const uint q = tid + i * NT;
    LOAD_QUAD(A_T == 1, a, a4, p.a_off + m0 * (A_T == 1 ? 1u : p.lda), p.lda, BM, p.M - m0, va, q, k0, kend, ra[i]);
  }
  [[unroll]] for (uint i = 0; i < QB; ++i) {
    const uint q = tid + i * NT;
#ifdef WTYPE
    // Whole quads along W's rows (k for B_T, else n): the host asks K (B_T) or N (else) to be a multiple of 4.
#if B_T == 1
    const uint r = q / (BK / 4), k = k0 + q % (BK / 4) * 4;
    rb_ok[i] = r < p.N - n0 && k < kend;
    if (rb_ok[i]) rb[i] = fetch_w4(p.b_off + (n0 + r) * p.ldb, k);
#else
    const uint r = q % (BN / 4) * 4, k = k0 + q / (BN / 4);
    rb_ok[i] = r < p.N - n0 && k < kend;
    if (rb_ok[i]) rb[i] = fetch_w4(p.b_off + k * p.ldb, n0 + r);
#endif
#else
    LOAD_QUAD(B_T == 0, b, b4, p.b_off + n0 * (B_T == 0 ? 1u : p.ldb), p.ldb, BN, p.N - n0, vb, q, k0, kend, rb[i]);
#endif
  }
}

void store_slice(uint buf) {
  const uint tid = gl_LocalInvocationID.x;
  [[unroll]] for (uint i = 0; i < QA; ++i) STORE_QUAD(A_T == 1, As[buf], BM, tid + i * NT, ra[i]);
#ifdef WTYPE
  [[unroll]] for (uint i = 0; i < QB; ++i) {
    const vec4 v = rb_ok[i] ? decode_w4(rb[i]) : vec4(0.0);
    STORE_QUAD(B_T == 0, Bs[buf], BN, tid + i * NT, v);
  }
#else
  [[unroll]] for (uint i = 0; i < QB; ++i) STORE_QUAD(B_T == 0, Bs[buf], BN, tid + i * NT, rb[i]);
#endif
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  // A warp covers 8 threads along n by 4 along m: its shared reads are 4 (A) and 8 (B) distinct vec4s per k.
  const uint lane = tid % 32u, warp = tid / 32u;
  const uint tx = warp % (WX / 8u) * 8u + lane % 8u, ty = warp / (WX / 8u) * 4u + lane / 8u;
  m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  const uint kbeg = gl_WorkGroupID.z * p.k_slice, kend = min(p.K, kbeg + p.k_slice);
  // acc[i][j]: row (i/4)·(BM/(TM/4)) + ty·4 + i%4, columns (j)·(BN/(TN/4)) + tx·4 + 0..3.
  vec4 acc[TM][TN / 4];
  [[unroll]] for (uint i = 0; i < TM; ++i)
    [[unroll]] for (uint j = 0; j < TN / 4; ++j) acc[i][j] = vec4(0.0);

  uint buf = 0;
  if (kbeg < kend) {
    load_slice(kbeg, kend);
    store_slice(0);
  }
  barrier();
  for (uint k0 = kbeg; k0 < kend; k0 += BK) {
    const bool more = k0 + BK < kend;
    if (more) load_slice(k0 + BK, kend);  // in flight while this slice is multiplied
    [[unroll]] for (uint kk = 0; kk < BK; ++kk) {
      vec4 av[TM / 4], bv[TN / 4];
      [[unroll]] for (uint i = 0; i < TM / 4; ++i) av[i] = As[buf][kk][i * (BM / TM) + ty];
      [[unroll]] for (uint j = 0; j < TN / 4; ++j) bv[j] = Bs[buf][kk][j * (BN / TN) + tx];
      [[unroll]] for (uint i = 0; i < TM; ++i)
        [[unroll]] for (uint j = 0; j < TN / 4; ++j) acc[i][j] = fma(vec4(av[i / 4][i % 4]), bv[j], acc[i][j]);
    }
    if (more) store_slice(buf ^ 1u);  // the other buffer: everyone finished reading it before the last barrier
    barrier();
    buf ^= 1u;
  }

  const bool split = gl_NumWorkGroups.z > 1u;
  [[unroll]] for (uint i = 0; i < TM; ++i) {
    const uint m = m0 + i / 4u * (BM / (TM / 4u)) + ty * 4u + i % 4u;
    if (m >= p.M) continue;
    [[unroll]] for (uint j = 0; j < TN / 4; ++j) {
      [[unroll]] for (uint jj = 0; jj < 4; ++jj) {
        const uint n = n0 + j * (BN / (TN / 4u)) + tx * 4u + jj;
        if (n >= p.N) continue;
        if (split) {
          part[(gl_WorkGroupID.z * p.M + m) * p.N + n] = acc[i][j][jj];
        } else {
          const uint ci = p.c_off + m * p.ldc + n;
          c[ci] = p.alpha * acc[i][j][jj] + (p.beta != 0.0 ? p.beta * c[ci] : 0.0);
        }
      }
    }
  }
}
