// Attention backward, dq part, FlashAttention-2 style: one workgroup (64 threads) per tile of BR = 32 query rows of
// one (sequence, head h); keys in tiles of BC = 16 (k and v staged once for all rows), P recomputed from L,
// dS = P·(dO·vᵀ − D), dq += scale·dS·k. Also writes D_i = dO_i·o_i (T, NH) for attention_tiled_dkv.comp.
// HD <= 64 only (ops.cpp routes larger heads to attention_backward_dq.comp); no window or soft-cap (no backward).
#version 450
#extension GL_GOOGLE_include_directive : require
layout(std430, binding = 0) buffer DQBuf { float dq[]; };
layout(std430, binding = 7) buffer DBuf { float Dw[]; };  // (T, NH) per sequence, as L
#include "attention_bwd.glsl"

#define BR 32u
#define BC 16u
#define RS 65u        // row pitch of the q, dO, k, v tiles (HD <= 64)
#define PS (BC + 1u)  // row pitch of the dS tile

shared float Qs[BR * RS];   // (BR, HD)
shared float dOs[BR * RS];  // (BR, HD)
shared float Ks[BC * RS];   // (BC, HD)
shared float Vs[BC * RS];   // (BC, HD)
shared float dSs[BR * PS];  // (BR, BC)
shared float Ls[BR], Ds[BR];

void main() {
  const uint h = gl_WorkGroupID.x, t0 = gl_WorkGroupID.y * BR, tid = gl_LocalInvocationID.x;
  const uint g = h / (p.NH / p.KVH);
  const uint rows = min(BR, p.T - t0);
  // Thread tid owns rows ri + 8i (i < 4); of a key tile keys ci + 8j (j < 2); of dq dims ci + 8j (j < 8).
  const uint ri = tid >> 3, ci = tid & 7u;
  for (uint r = 0; r < rows; ++r)  // a row at a time: no integer division per element
    for (uint d = tid; d < p.HD; d += 64u) {
      Qs[r * RS + d] = q[qrow(t0 + r, h) + d];
      dOs[r * RS + d] = dO[orow(t0 + r, h) + d];
    }
  barrier();
  if (tid < BR) {
    float D = 0.0, Lr = 0.0;
    if (tid < rows) {
      for (uint d = 0; d < p.HD; ++d) D = fma(dOs[tid * RS + d], o[orow(t0 + tid, h) + d], D);
      Lr = L[lrow(t0 + tid, h)];
      Dw[lrow(t0 + tid, h)] = D;
    }
    Ds[tid] = D;
    Ls[tid] = Lr;
  }
  const uint q0 = p.pos0 + t0, klast = q0 + rows - 1u;
  float acc[4][8];
  for (uint i = 0; i < 4u; ++i)
    for (uint j = 0; j < 8u; ++j) acc[i][j] = 0.0;
  for (uint s0 = 0; s0 <= klast; s0 += BC) {
    const uint nk = min(BC, klast + 1u - s0);
    for (uint c = 0; c < nk; ++c)
      for (uint d = tid; d < p.HD; d += 64u) {
        Ks[c * RS + d] = kc[krow(s0 + c, g) + d];
        Vs[c * RS + d] = vc[vrow(s0 + c, g) + d];
      }
    barrier();
    float s[4][2], dp[4][2];
    for (uint i = 0; i < 4u; ++i)
      for (uint j = 0; j < 2u; ++j) s[i][j] = 0.0, dp[i][j] = 0.0;
    for (uint d = 0; d < p.HD; ++d) {
      float qv[4], gv[4], kv[2], vv[2];
      for (uint i = 0; i < 4u; ++i) qv[i] = Qs[(ri + 8u * i) * RS + d], gv[i] = dOs[(ri + 8u * i) * RS + d];
      for (uint j = 0; j < 2u; ++j) kv[j] = Ks[(ci + 8u * j) * RS + d], vv[j] = Vs[(ci + 8u * j) * RS + d];
      for (uint i = 0; i < 4u; ++i)
        for (uint j = 0; j < 2u; ++j) s[i][j] = fma(qv[i], kv[j], s[i][j]), dp[i][j] = fma(gv[i], vv[j], dp[i][j]);
    }
    for (uint i = 0; i < 4u; ++i) {
      const uint r = ri + 8u * i;
      for (uint j = 0; j < 2u; ++j) {
        const uint c = ci + 8u * j;
        const bool ok = r < rows && c < nk && s0 + c <= q0 + r;
        const float pv = ok ? exp(p.scale * s[i][j] - Ls[r]) : 0.0;
        dSs[r * PS + c] = ok ? pv * (dp[i][j] - Ds[r]) : 0.0;  // never 0·(garbage) of unloaded rows
      }
    }
    barrier();
    for (uint c = 0; c < nk; ++c) {
      float dsv[4], kv[8];
      for (uint i = 0; i < 4u; ++i) dsv[i] = dSs[(ri + 8u * i) * PS + c];
      for (uint j = 0; j < 8u; ++j) kv[j] = Ks[c * RS + ci + 8u * j];
      for (uint i = 0; i < 4u; ++i)
        for (uint j = 0; j < 8u; ++j) acc[i][j] = fma(dsv[i], kv[j], acc[i][j]);
    }
    barrier();
  }
  for (uint i = 0; i < 4u; ++i) {
    const uint r = ri + 8u * i;
    if (r >= rows) continue;
    for (uint j = 0; j < 8u; ++j) {
      const uint d = ci + 8u * j;
      if (d < p.HD) dq[qrow(t0 + r, h) + d] += p.scale * acc[i][j];
    }
  }
}
