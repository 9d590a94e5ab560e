// C (M, N) = alpha · A (M, K) · B (K, N) + beta · C, tiled 64x64x16 in shared memory, 4x4 outputs per thread.
// B is f32 with any strides (A·B, Aᵀ·B, A·Bᵀ) or, for WTYPE != 0, a weight W in a GGUF/GINT layout: W (N, K)
// used as x·Wᵀ, or with b_trans W (K, N) used as dy·W (the input gradient of a linear layer).
// Not a tensor-core kernel: plain fp32 FMAs.
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer ABuf { float a[]; };
layout(std430, binding = 1) readonly buffer BBuf { uint wb[]; };
layout(std430, binding = 2) buffer CBuf { float c[]; };
layout(push_constant) uniform P {
  uint M, N, K;
  uint a_off, a_sm, a_sk;  // A(m, k) = a[a_off + m*a_sm + k*a_sk]
  uint b_off, b_sk, b_sn;  // f32: B(k, n) = b[b_off + k*b_sk + n*b_sn]; else W row n at byte b_off + n*b_sn
  uint c_off, c_sm;        // C(m, n) = c[c_off + m*c_sm + n]
  float alpha, beta;       // beta == 0 never reads C
  uint gint_bits, gint_group;
  uint b_trans;  // WTYPE != 0: B(k, n) = W row k, column n (rows of b_sn bytes/elements) instead of W row n, column k
} p;
#include "dequant.glsl"

const uint BM = 64, BN = 64, BK = 16;
shared float As[BK][BM + 1];
shared float Bs[BK][BN + 1];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tx = tid % 16u, ty = tid / 16u;
  const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  float acc[4][4];
  for (uint i = 0; i < 4; ++i)
    for (uint j = 0; j < 4; ++j) acc[i][j] = 0.0;
  for (uint k0 = 0; k0 < p.K; k0 += BK) {
    for (uint e = tid; e < BM * BK; e += 256u) {
      const uint kk = e % BK, mm = e / BK;
      const uint m = m0 + mm, k = k0 + kk;
      As[kk][mm] = (m < p.M && k < p.K) ? a[p.a_off + m * p.a_sm + k * p.a_sk] : 0.0;
      const uint n = n0 + mm;
      float bv = 0.0;
      if (n < p.N && k < p.K) {
#if WTYPE == 0
        bv = uintBitsToFloat(wb[p.b_off + k * p.b_sk + n * p.b_sn]);
#else
        bv = p.b_trans == 0u ? load_w(p.b_off + n * p.b_sn, k) : load_w(p.b_off + k * p.b_sn, n);
#endif
      }
      Bs[kk][mm] = bv;
    }
    barrier();
    for (uint kk = 0; kk < BK; ++kk) {
      float av[4], bv[4];
      for (uint i = 0; i < 4; ++i) av[i] = As[kk][ty * 4u + i];
      for (uint j = 0; j < 4; ++j) bv[j] = Bs[kk][tx * 4u + j];
      for (uint i = 0; i < 4; ++i)
        for (uint j = 0; j < 4; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    barrier();
  }
  for (uint i = 0; i < 4; ++i) {
    const uint m = m0 + ty * 4u + i;
    if (m >= p.M) continue;
    for (uint j = 0; j < 4; ++j) {
      const uint n = n0 + tx * 4u + j;
      if (n >= p.N) continue;
      const uint ci = p.c_off + m * p.c_sm + n;
      c[ci] = p.alpha * acc[i][j] + (p.beta != 0.0 ? p.beta * c[ci] : 0.0);
    }
  }
}
