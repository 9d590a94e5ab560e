// The decode step's fused matvec: y = epilogue(rs · x∘nw · Wᵀ) for one token row m, where W is up to three
// weights stored back to back (q|k|v, gate|up) and each segment of W's rows lands in its own output:
//   prologue: RMSNorm folded in: x times the norm weight nw, the row's rstd rs = (mean(x²) + eps)^(−½) applied
//             to the sums, Σx² summed by the same lanes in the same pass (the NORM variant,
//             matvec_fused_norm_<type>; else rs = 1, nw unread);
//   pair 1/2: RoPE (interleaved / NeoX) on the segments whose bit is set in rope_segs, both rows of a rotation
//             pair in one warp; pair 3: h = silu(gate)·up over W = gate|up (the first half of the rows);
//   outputs:  segment s row j at y_s[y_off[s] + (m + pos·pos_seg[s])·y_st[s] + j] (+ beta · the old value:
//             the residual add), pos read from the step buffer, so a recorded decode replays at any position.
// Threads: 256, 8 row pairs (fewer with split), 32·split threads per pair over K (matvec_dot.glsl); MV_WIDE (Q4_0,
// Q8_0, Q4_K, Q6_K): 128, 4 row pairs of 32 threads, rows staged through shared memory (matvec_wide.glsl).
// Not for many rows of x (gemm.comp); not a general epilogue language: these are the Llama block's pairs.
#version 450
#extension GL_GOOGLE_include_directive : require
#if MV_WIDE
layout(local_size_x = 128) in;
#else
layout(local_size_x = 256) in;
#endif
layout(std430, binding = 0) readonly buffer XBuf { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer NBuf { vec4 nw4[]; };
layout(std430, binding = 2) readonly buffer WBuf { uint wb[]; };
#if MV_WIDE
layout(std430, binding = 2) readonly buffer WBuf4 { uvec4 wb4[]; };  // the same words, 16 bytes at a time
#endif
layout(std430, binding = 3) buffer Y0 { float y0[]; };
layout(std430, binding = 4) buffer Y1 { float y1[]; };
layout(std430, binding = 5) buffer Y2 { float y2[]; };
// The step buffer: [0] the position of token 0 (uint), [4 ..) cos (M, HD/2) then sin (M, HD/2).
layout(std430, binding = 6) readonly buffer SBuf { uint st[]; };
layout(push_constant) uniform P {
  uint M, N, K;          // N rows of W in all
  uint x_off, x_sm;      // x(m, k) = x[x_off + m*x_sm + k]
  uint b_off, b_sn;      // W row n at b_off + n*b_sn (elements for f32/f16, bytes otherwise)
  uint end0, end1;       // segment 0 rows [0, end0), 1 [end0, end1), 2 [end1, N)
  uint y_off0, y_off1, y_off2, y_st0, y_st1, y_st2;
  uint pos_segs, rope_segs;  // bit s: segment s rows advance by the step's position / get RoPE
  uint pair, HD;         // 0 none, 1 RoPE interleaved, 2 RoPE NeoX, 3 swiglu
  uint split;            // threads per row pair: 32·split (split K over more warps where rows are few; not MV_WIDE)
  float eps, beta;
  uint gint_bits, gint_group;
  uint b_trans;  // 0 (dequant.glsl's GINT loader reads it)
} p;
#include "dequant.glsl"
// NORM (a compile-time variant, so the inner loop has no branch): the RMSNorm prologue.
#if NORM
#define XNORM4(v, k) ((v) * nw4[(k) >> 2])
#define XNORM1(v, k) ((v) * nw4[(k) >> 2][(k) & 3u])
#define SQ(v) dot(v, v)
#else
#define XNORM4(v, k) (v)
#define XNORM1(v, k) (v)
#define SQ(v) 0.0
#endif
#include "matvec_dot.glsl"
#if MV_WIDE
#include "matvec_wide.glsl"
#else
shared vec2 red[256];
shared float red_sq[256];
#endif

void store(uint n, uint m, float v) {
  const uint s = n < p.end0 ? 0u : n < p.end1 ? 1u : 2u;
  const uint j = n - (s == 0u ? 0u : s == 1u ? p.end0 : p.end1);
  const uint row = m + (((p.pos_segs >> s) & 1u) != 0u ? st[0] : 0u);
  if (s == 0u) {
    const uint i = p.y_off0 + row * p.y_st0 + j;
    y0[i] = v + (p.beta != 0.0 ? p.beta * y0[i] : 0.0);
  } else if (s == 1u) {
    const uint i = p.y_off1 + row * p.y_st1 + j;
    y1[i] = v + (p.beta != 0.0 ? p.beta * y1[i] : 0.0);
  } else {
    const uint i = p.y_off2 + row * p.y_st2 + j;
    y2[i] = v + (p.beta != 0.0 ? p.beta * y2[i] : 0.0);
  }
}

// Rows n0, n1 of row pair pr: 2pr and 2pr + 1; paired modes: the two rows of pair pr (a RoPE rotation's, or gate
// and up). valid: the pair exists; valid1: its second row does.
void pair_rows(uint pr, out uint n0, out uint n1, out bool valid, out bool valid1) {
  n0 = 2u * pr, n1 = n0 + 1u;
  valid = n0 < p.N, valid1 = n1 < p.N;
  if (p.pair != 0u) {
    valid = valid1 = pr < p.N / 2u;
    if (p.pair == 3u) {
      n0 = pr, n1 = pr + p.N / 2u;
    } else {
      const uint half_ = p.HD / 2u, head = pr / half_, i = pr % half_;
      n0 = head * p.HD + (p.pair == 1u ? 2u * i : i);
      n1 = n0 + (p.pair == 1u ? 1u : half_);
    }
  }
}

// The epilogue of pair pr (rows n0, n1; sums a, b already scaled by rstd): swiglu, RoPE or plain stores.
void finish(uint pr, uint n0, uint n1, bool valid1, uint m, float a, float b) {
  if (p.pair == 3u) {
    store(pr, m, a / (1.0 + exp(-a)) * b);
    return;
  }
  const uint seg = n0 < p.end0 ? 0u : n0 < p.end1 ? 1u : 2u;
  if (p.pair == 0u || ((p.rope_segs >> seg) & 1u) == 0u) {
    store(n0, m, a);
    if (valid1) store(n1, m, b);
    return;
  }
  // Rotation of pair (a, b) by the angle of (position, i): a' = a·cos − b·sin, b' = a·sin + b·cos.
  const uint half_ = p.HD / 2u, i = pr % half_;
  const float c = uintBitsToFloat(st[4u + m * half_ + i]), sn = uintBitsToFloat(st[4u + (p.M + m) * half_ + i]);
  store(n0, m, a * c - b * sn);
  store(n1, m, a * sn + b * c);
}

#if MV_WIDE
void main() {
  const uint tid = mw_tid(), grp = tid / MW_TP;
  const uint pr = (gl_WorkGroupID.x + gl_WorkGroupID.z * 65535u) * MW_PAIRS + grp, m = gl_WorkGroupID.y;
  uint n0, n1;
  bool valid, valid1;
  pair_rows(pr, n0, n1, valid, valid1);
  const vec3 r = mw_dot2(p.b_off + n0 * p.b_sn, p.b_off + (valid1 ? n1 : n0) * p.b_sn, p.x_off + m * p.x_sm, valid);
  if (tid % MW_TP != 0u || !valid) return;
  // Every thread staged its share of x: r.z is the row's Σx².
  const float rs = NORM != 0 ? 1.0 / sqrt(r.z / float(p.K) + p.eps) : 1.0;
  finish(pr, n0, n1, valid1, m, rs * r.x, rs * r.y);
}
#else
void main() {
  const uint tid = gl_LocalInvocationID.x, L = 32u * p.split, lane = tid % L, grp = tid / L, per = 8u / p.split;
  const uint wg = gl_WorkGroupID.x + gl_WorkGroupID.z * 65535u, m = gl_WorkGroupID.y;
  // This group's two rows of W: rows 2i, 2i+1 (i = wg·per + grp), or the pair's.
  const uint pr = wg * per + grp;
  uint n0, n1;
  bool valid, valid1;
  pair_rows(pr, n0, n1, valid, valid1);
  const uint xo = p.x_off + m * p.x_sm;
  float ss = 0.0;
  vec2 s = vec2(0.0);
  if (valid) s = row_dot2(p.b_off + n0 * p.b_sn, p.b_off + (valid1 ? n1 : n0) * p.b_sn, xo, lane, L, ss);
  red[tid] = s;
  red_sq[tid] = ss;
  barrier();
  for (uint h = L / 2u; h > 0u; h >>= 1) {
    if (lane < h) {
      red[tid] += red[tid + h];
      if (NORM != 0) red_sq[tid] += red_sq[tid + h];
    }
    barrier();
  }
  if (lane != 0u || !valid) return;
  // Every valid group's threads saw all of x: its Σx² is the row's.
  const float rs = NORM != 0 ? 1.0 / sqrt(red_sq[tid] / float(p.K) + p.eps) : 1.0;
  finish(pr, n0, n1, valid1, m, rs * red[tid].x, rs * red[tid].y);
}
#endif
