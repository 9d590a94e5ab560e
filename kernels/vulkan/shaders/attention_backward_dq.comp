// Attention backward, dq part: dq_i += scale · Σ_j dS_ij · k_j, one workgroup (64 threads) per (token t, head h),
// keys in chunks of 64 (one P and dS per thread). Not dk/dv (attention_backward_dkv.comp).
#version 450
#extension GL_GOOGLE_include_directive : require
layout(std430, binding = 0) buffer DQBuf { float dq[]; };
#include "attention_bwd.glsl"
shared float qs[256], dos[256], ds[64], red[64];

void main() {
  const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
  const uint g = h / (p.NH / p.KVH);
  float dpart = 0.0;
  for (uint d = tid; d < p.HD; d += 64u) {
    qs[d] = q[qrow(t, h) + d];
    dos[d] = dO[orow(t, h) + d];
    dpart += dos[d] * o[orow(t, h) + d];
  }
  red[tid] = dpart;
  barrier();
  for (uint w = 32u; w > 0u; w >>= 1) {
    if (tid < w) red[tid] += red[tid + w];
    barrier();
  }
  const float D = red[0], Li = L[lrow(t, h)];
  const uint last = p.pos0 + t;
  float acc[4] = float[4](0.0, 0.0, 0.0, 0.0);
  for (uint s0 = 0; s0 <= last; s0 += 64u) {
    const uint s = s0 + tid;
    float v = 0.0;
    if (s <= last) {
      float qk = 0.0, dv = 0.0;
      for (uint d = 0; d < p.HD; ++d) {
        qk = fma(qs[d], kc[krow(s, g) + d], qk);
        dv = fma(dos[d], vc[vrow(s, g) + d], dv);
      }
      v = exp(p.scale * qk - Li) * (dv - D);
    }
    barrier();
    ds[tid] = v;
    barrier();
    const uint nk = min(64u, last + 1u - s0);
    for (uint i = 0; i < 4u; ++i) {
      const uint d = tid + 64u * i;
      if (d >= p.HD) break;
      float a = acc[i];
      for (uint j = 0; j < nk; ++j) a = fma(ds[j], kc[krow(s0 + j, g) + d], a);
      acc[i] = a;
    }
  }
  for (uint i = 0; i < 4u; ++i) {
    const uint d = tid + 64u * i;
    if (d < p.HD) dq[qrow(t, h) + d] += p.scale * acc[i];
  }
}
