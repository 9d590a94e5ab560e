// Attention backward, dq part, FlashAttention-2 style: one workgroup (64 threads) per tile of BR = 32 query rows of
// one (sequence, head h); keys in tiles of BC = 16 (k and v staged once for all rows), P recomputed from L,
// dS = P·(dO·vᵀ − D), dq += scale·dS·k. Also writes D_i = dO_i·o_i (T, NH) for attention_tiled_dkv.comp.
// HD <= 64 only (ops.cpp routes larger heads to attention_backward_dq.comp); no window or soft-cap (no backward).
// Shared tiles are vec4 rows padded to 17 vec4 (attention_tiled.comp says why); HD zero-padded to 4.
#version 450
#extension GL_GOOGLE_include_directive : require
layout(std430, binding = 0) buffer DQBuf { float dq[]; };
layout(std430, binding = 7) buffer DBuf { float Dw[]; };  // (T, NH) per sequence, as L
#include "attention_bwd.glsl"
#include "attention_tile.glsl"

#define BR 32u
#define BC 16u
#define RS4 17u  // row pitch (vec4) of the q, dO, k, v tiles (HD <= 64)
#define PS4 5u   // row pitch (vec4) of the dS tile

shared vec4 Qs[BR * RS4];   // (BR, HD)
shared vec4 dOs[BR * RS4];  // (BR, HD)
shared vec4 Ks[BC * RS4];   // (BC, HD)
shared vec4 Vs[BC * RS4];   // (BC, HD)
shared vec4 dSs[BR * PS4];  // (BR, BC)
shared float Ls[BR], Ds[BR];

void main() {
  // The last query tiles (the most keys) first: the longest workgroups start earliest.
  const uint h = gl_WorkGroupID.x, t0 = (gl_NumWorkGroups.y - 1u - gl_WorkGroupID.y) * BR;
  const uint tid = gl_LocalInvocationID.x;
  const uint g = h / (p.NH / p.KVH);
  const uint rows = min(BR, p.T - t0), HD4 = (p.HD + 3u) / 4u;
  // Thread tid owns rows ri + 8i (i < 4); of a key tile keys ci + 8j (j < 2); of dq the vec4s of dims ci, ci + 8.
  const uint ri = tid >> 3, ci = tid & 7u;
  const uint lc = tid & 15u, lr = tid >> 4;  // tile loads: rows lr + 4n, dims 4·lc ..
  for (uint r = lr; r < rows; r += 4u) {
    ATT_LOAD4(Qs[r * RS4 + lc], q, qrow(t0 + r, h), true);
    ATT_LOAD4(dOs[r * RS4 + lc], dO, orow(t0 + r, h), true);
  }
  barrier();
  if (tid < BR) {
    float D = 0.0, Lr = 0.0;
    if (tid < rows) {
      for (uint d = 0; d < p.HD; ++d) D = fma(dOs[tid * RS4 + d / 4u][d % 4u], o[orow(t0 + tid, h) + d], D);
      Lr = L[lrow(t0 + tid, h)];
      Dw[lrow(t0 + tid, h)] = D;
    }
    Ds[tid] = D;
    Ls[tid] = Lr;
  }
  const uint q0 = p.pos0 + t0, klast = q0 + rows - 1u;
  vec4 acc[4][2];
  for (uint i = 0; i < 4u; ++i) acc[i][0] = acc[i][1] = vec4(0.0);
  for (uint s0 = 0; s0 <= klast; s0 += BC) {
    const uint nk = min(BC, klast + 1u - s0), nk4 = (nk + 3u) / 4u;
    for (uint c = lr; c < 4u * nk4; c += 4u) {  // k rows nk .. 4·nk4 zero: dS·k reads them (with dS = 0)
      ATT_LOAD4(Ks[c * RS4 + lc], kc, krow(s0 + c, g), c < nk);
      ATT_LOAD4(Vs[c * RS4 + lc], vc, vrow(s0 + c, g), c < nk);
    }
    barrier();
    float s[4][2], dp[4][2];
    for (uint i = 0; i < 4u; ++i)
      for (uint j = 0; j < 2u; ++j) s[i][j] = 0.0, dp[i][j] = 0.0;
    for (uint d4 = 0; d4 < HD4; ++d4) {
      vec4 qv[4], gv[4], kv[2], vv[2];
      for (uint i = 0; i < 4u; ++i) qv[i] = Qs[(ri + 8u * i) * RS4 + d4], gv[i] = dOs[(ri + 8u * i) * RS4 + d4];
      for (uint j = 0; j < 2u; ++j) kv[j] = Ks[(ci + 8u * j) * RS4 + d4], vv[j] = Vs[(ci + 8u * j) * RS4 + d4];
      for (uint i = 0; i < 4u; ++i)
        for (uint j = 0; j < 2u; ++j) s[i][j] += dot(qv[i], kv[j]), dp[i][j] += dot(gv[i], vv[j]);
    }
    for (uint i = 0; i < 4u; ++i) {
      const uint r = ri + 8u * i;
      for (uint j = 0; j < 2u; ++j) {
        const uint c = ci + 8u * j;
        const bool ok = r < rows && c < nk && s0 + c <= q0 + r;
        const float pv = exp(p.scale * s[i][j] - Ls[r]);
        dSs[r * PS4 + c / 4u][c % 4u] = ok ? pv * (dp[i][j] - Ds[r]) : 0.0;  // never 0·(garbage)
      }
    }
    barrier();
    for (uint c4 = 0; c4 < nk4; ++c4) {
      vec4 dsv[4];
      for (uint i = 0; i < 4u; ++i) dsv[i] = dSs[(ri + 8u * i) * PS4 + c4];
      for (uint e = 0; e < 4u; ++e) {
        const uint c = 4u * c4 + e;
        const vec4 k0 = Ks[c * RS4 + ci], k1 = Ks[c * RS4 + ci + 8u];
        for (uint i = 0; i < 4u; ++i) acc[i][0] = fma(vec4(dsv[i][e]), k0, acc[i][0]), acc[i][1] = fma(vec4(dsv[i][e]), k1, acc[i][1]);
      }
    }
    barrier();
  }
  for (uint i = 0; i < 4u; ++i) {
    const uint r = ri + 8u * i;
    if (r >= rows) continue;
    for (uint j = 0; j < 2u; ++j)
      for (uint e = 0; e < 4u; ++e) {
        const uint d = 4u * (ci + 8u * j) + e;
        if (d < p.HD) dq[qrow(t0 + r, h) + d] += p.scale * acc[i][j][e];
      }
  }
}
