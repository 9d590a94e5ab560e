// y (M, N) = alpha · x (M, K) · Wᵀ + beta · y for small M (decoding): one workgroup per (row n of W, row m of x),
// 128 threads striding over K, a shared-memory reduction. W in any WTYPE layout (see dequant.glsl).
// Not for large M: the GEMM (gemm.comp) reuses each weight tile across 64 rows of x.
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 128) in;
layout(std430, binding = 0) readonly buffer XBuf { float x[]; };
layout(std430, binding = 1) readonly buffer WBuf { uint wb[]; };
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

shared float red[128];

void main() {
  const uint n = gl_WorkGroupID.x + gl_WorkGroupID.z * 65535u, m = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
  if (n >= p.N) return;
  const uint r = p.b_off + n * p.b_sn, xo = p.x_off + m * p.x_sm;
  float s = 0.0;
  for (uint k = tid; k < p.K; k += 128u) s = fma(load_w(r, k), x[xo + k], s);
  red[tid] = s;
  barrier();
  for (uint h = 64u; h > 0u; h >>= 1) {
    if (tid < h) red[tid] += red[tid + h];
    barrier();
  }
  if (tid == 0u) {
    const uint yi = p.c_off + m * p.c_sm + n;
    y[yi] = p.alpha * red[0] + (p.beta != 0.0 ? p.beta * y[yi] : 0.0);
  }
}
