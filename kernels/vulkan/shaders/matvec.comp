// y (M, N) = alpha · x (M, K) · Wᵀ + beta · y for small M (decoding): a workgroup of 256 threads takes 16 rows
// of W for one row m of x, a warp of 32 threads per two rows over K (matvec_dot.glsl), then a shared-memory
// reduction whose barriers are shared by the 16 rows. W in any WTYPE layout (see dequant.glsl). MV_WIDE (Q4_0, Q8_0,
// Q4_K, Q6_K): 128 threads per 8 rows, the rows staged through shared memory (matvec_wide.glsl).
// Not for large M: the GEMM (gemm.comp) reuses each weight tile across 64 rows of x.
#version 450
#extension GL_GOOGLE_include_directive : require
#if MV_WIDE
layout(local_size_x = 128) in;
#else
layout(local_size_x = 256) in;
#endif
layout(std430, binding = 0) readonly buffer XBuf { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer WBuf { uint wb[]; };
#if MV_WIDE
layout(std430, binding = 1) readonly buffer WBuf4 { uvec4 wb4[]; };  // the same words, 16 bytes at a time
#endif
layout(std430, binding = 2) buffer YBuf { float y[]; };
layout(push_constant) uniform P {
  uint M, N, K;
  uint x_off, x_sm, unused0;  // x(m, k) = x[x_off + m*x_sm + k]
  uint b_off, unused1, b_sn;  // W row n begins at b_off + n*b_sn (elements for f32/f16, bytes otherwise)
  uint c_off, c_sm;           // y(m, n) = y[c_off + m*c_sm + n]
  float alpha, beta;
  uint gint_bits, gint_group;
  uint b_trans;  // unused here (gemm.comp's layout)
} p;
#include "dequant.glsl"
#define XNORM4(v, k) (v)
#define XNORM1(v, k) (v)
#define SQ(v) 0.0
#include "matvec_dot.glsl"
#if MV_WIDE
#include "matvec_wide.glsl"

void main() {
  const uint tid = mw_tid(), grp = tid / MW_TP;
  const uint n = ((gl_WorkGroupID.x + gl_WorkGroupID.z * 65535u) * MW_PAIRS + grp) * 2u, m = gl_WorkGroupID.y;
  const bool valid = n < p.N;
  const vec3 r = mw_dot2(p.b_off + n * p.b_sn, p.b_off + min(n + 1u, p.N - 1u) * p.b_sn, p.x_off + m * p.x_sm,
                         valid);
  if (tid % MW_TP != 0u || !valid) return;
  for (uint i = 0u; i < 2u; ++i) {
    if (n + i >= p.N) break;
    const uint yi = p.c_off + m * p.c_sm + n + i;
    y[yi] = p.alpha * r[i] + (p.beta != 0.0 ? p.beta * y[yi] : 0.0);
  }
}
#else
shared vec2 red[256];

void main() {
  const uint tid = gl_LocalInvocationID.x, lane = tid % 32u, warp = tid / 32u;
  const uint n = (gl_WorkGroupID.x + gl_WorkGroupID.z * 65535u) * 16u + 2u * warp, m = gl_WorkGroupID.y;
  vec2 s = vec2(0.0);
  float unused = 0.0;
  if (n < p.N)
    s = row_dot2(p.b_off + n * p.b_sn, p.b_off + min(n + 1u, p.N - 1u) * p.b_sn, p.x_off + m * p.x_sm, lane, 32u, unused);
  red[tid] = s;
  barrier();
  for (uint h = 16u; h > 0u; h >>= 1) {
    if (lane < h) red[tid] += red[tid + h];
    barrier();
  }
  if (lane != 0u) return;
  for (uint i = 0u; i < 2u; ++i) {
    if (n + i >= p.N) break;
    const uint yi = p.c_off + m * p.c_sm + n + i;
    y[yi] = p.alpha * red[tid][i] + (p.beta != 0.0 ? p.beta * y[yi] : 0.0);
  }
}
#endif
