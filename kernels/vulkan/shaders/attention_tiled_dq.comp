// Attention backward, dq part, FlashAttention-2 style: one workgroup (64 threads) per tile of BR query rows of one
// (sequence, head h); keys in tiles of BC (k and v staged once for all rows), P recomputed from L,
// dS = P·(dO·vᵀ − D), dq += scale·dS·k. Also writes D_i = dO_i·o_i (T, NH) for attention_tiled_dkv.comp.
// HD <= HDM: 32 rows x 16 keys for HDM 64, 16 x 8 for HDM 128 (attention_tiled_dq_hd128); ops.cpp routes larger
// heads to attention_backward_dq.comp. No window or soft-cap (no backward). Layout: attention_tile.glsl.
#version 450
#extension GL_GOOGLE_include_directive : require
layout(std430, binding = 0) buffer DQBuf { float dq[]; };
layout(std430, binding = 7) buffer DBuf { float Dw[]; };  // (T, NH) per sequence, as L
#include "attention_bwd.glsl"
#include "attention_tile.glsl"

#if HDM == 64
#define BR 32u
#define BC 16u
#else
#define BR 16u
#define BC 8u
#endif
#define NI (BR / 8u)        // rows per thread
#define NJ (BC / 8u)        // keys per thread
#define PS4 (BC / 4u + 1u)  // row pitch (vec4) of the dS tile

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
  // Thread tid owns rows ri + 8i (i < NI); of a key tile keys ci + 8j (j < NJ); of dq the vec4s of dims ci + 8j
  // (j < ND).
  const uint ri = tid >> 3, ci = tid & 7u;
  const uint lc = tid % LW, lr = tid / LW;  // tile loads: rows lr + LR·n
  for (uint r = lr; r < rows; r += LR) {
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
  vec4 acc[NI][ND];
  for (uint i = 0; i < NI; ++i)
    for (uint j = 0; j < ND; ++j) acc[i][j] = vec4(0.0);
  for (uint s0 = 0; s0 <= klast; s0 += BC) {
    const uint nk = min(BC, klast + 1u - s0), nk4 = (nk + 3u) / 4u;
    for (uint c = lr; c < 4u * nk4; c += LR) {  // k rows nk .. 4·nk4 zero: dS·k reads them (with dS = 0)
      ATT_LOAD4(Ks[c * RS4 + lc], kc, krow(s0 + c, g), c < nk);
      ATT_LOAD4(Vs[c * RS4 + lc], vc, vrow(s0 + c, g), c < nk);
    }
    barrier();
    float s[NI][NJ], dp[NI][NJ];
    for (uint i = 0; i < NI; ++i)
      for (uint j = 0; j < NJ; ++j) s[i][j] = 0.0, dp[i][j] = 0.0;
    for (uint d4 = 0; d4 < HD4; ++d4) {
      vec4 qv[NI], gv[NI], kv[NJ], vv[NJ];
      for (uint i = 0; i < NI; ++i) qv[i] = Qs[(ri + 8u * i) * RS4 + d4], gv[i] = dOs[(ri + 8u * i) * RS4 + d4];
      for (uint j = 0; j < NJ; ++j) kv[j] = Ks[(ci + 8u * j) * RS4 + d4], vv[j] = Vs[(ci + 8u * j) * RS4 + d4];
      for (uint i = 0; i < NI; ++i)
        for (uint j = 0; j < NJ; ++j) s[i][j] += dot(qv[i], kv[j]), dp[i][j] += dot(gv[i], vv[j]);
    }
    for (uint i = 0; i < NI; ++i) {
      const uint r = ri + 8u * i;
      for (uint j = 0; j < NJ; ++j) {
        const uint c = ci + 8u * j;
        const bool ok = r < rows && c < nk && s0 + c <= q0 + r;
        const float pv = exp(p.scale * s[i][j] - Ls[r]);
        dSs[r * PS4 + c / 4u][c % 4u] = ok ? pv * (dp[i][j] - Ds[r]) : 0.0;  // never 0·(garbage)
      }
    }
    barrier();
    for (uint c4 = 0; c4 < nk4; ++c4) {
      vec4 dsv[NI];
      for (uint i = 0; i < NI; ++i) dsv[i] = dSs[(ri + 8u * i) * PS4 + c4];
      for (uint e = 0; e < 4u; ++e) {
        const uint c = 4u * c4 + e;
        vec4 kk[ND];
        for (uint j = 0; j < ND; ++j) kk[j] = Ks[c * RS4 + ci + 8u * j];
        for (uint i = 0; i < NI; ++i)
          for (uint j = 0; j < ND; ++j) acc[i][j] = fma(vec4(dsv[i][e]), kk[j], acc[i][j]);
      }
    }
    barrier();
  }
  for (uint i = 0; i < NI; ++i) {
    const uint r = ri + 8u * i;
    if (r >= rows) continue;
    for (uint j = 0; j < ND; ++j)
      for (uint e = 0; e < 4u; ++e) {
        const uint d = 4u * (ci + 8u * j) + e;
        if (d < p.HD) dq[qrow(t0 + r, h) + d] += p.scale * acc[i][j][e];
      }
  }
}
