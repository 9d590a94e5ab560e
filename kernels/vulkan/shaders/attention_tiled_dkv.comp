// Attention backward, dk/dv part, FlashAttention-2 style: one workgroup (64 threads) per tile of BC keys of one
// (sequence, kv head g), its k and v held in shared memory while every query head of g's group and every query
// tile of BR rows that sees those keys streams through: P recomputed from L, dS = P·(dO·vᵀ − D) with D from
// attention_tiled_dq.comp (run first), dv += Pᵀ·dO, dk += scale·dSᵀ·q. Query tiles before the keys are skipped.
// HD <= HDM: 32 keys x 16 rows for HDM 64, 16 x 8 for HDM 128 (attention_tiled_dkv_hd128); ops.cpp routes larger
// heads to attention_backward_dkv.comp. No window or soft-cap. Layout: attention_tile.glsl.
#version 450
#extension GL_GOOGLE_include_directive : require
#define ATTN_BWD_D_NOT_O
layout(std430, binding = 0) buffer DKBuf { float dkv[]; };  // dk (S, KVH, HD) at k_st
layout(std430, binding = 7) buffer DVBuf { float dvb[]; };  // dv (S, KVH, HD) at v_st
#include "attention_bwd.glsl"
#include "attention_tile.glsl"

#if HDM == 64
#define BC 32u
#define BR 16u
#else
#define BC 16u
#define BR 8u
#endif
#define NI (BC / 8u)        // keys per thread
#define NJ (BR / 8u)        // query rows per thread
#define PS4 (BR / 4u + 1u)  // row pitch (vec4) of the P and dS tiles

shared vec4 Ks[BC * RS4];   // (BC, HD) this workgroup's keys
shared vec4 Vs[BC * RS4];   // (BC, HD) their values
shared vec4 Qs[BR * RS4];   // (BR, HD) the current query tile
shared vec4 dOs[BR * RS4];  // (BR, HD) its output gradient
shared vec4 Ps[BC * PS4];   // (BC, BR) P transposed
shared vec4 dSs[BC * PS4];  // (BC, BR) dS transposed
shared float Ls[BR], Ds[BR];

void main() {
  const uint g = gl_WorkGroupID.x, s0 = gl_WorkGroupID.y * BC, tid = gl_LocalInvocationID.x;
  const uint G = p.NH / p.KVH, HD4 = (p.HD + 3u) / 4u;
  const uint nk = min(BC, p.pos0 + p.T - s0);  // keys past pos0 + T − 1 are seen by no query
  // Thread tid owns keys ri + 8i (i < NI); of a query tile rows ci + 8j (j < NJ); of dk and dv the vec4s of dims
  // ci + 8j (j < ND).
  const uint ri = tid >> 3, ci = tid & 7u;
  const uint lc = tid % LW, lr = tid / LW;  // tile loads: rows lr + LR·n
  for (uint c = lr; c < nk; c += LR) {
    ATT_LOAD4(Ks[c * RS4 + lc], kc, krow(s0 + c, g), true);
    ATT_LOAD4(Vs[c * RS4 + lc], vc, vrow(s0 + c, g), true);
  }
  vec4 ak[NI][ND], av[NI][ND];
  for (uint i = 0; i < NI; ++i)
    for (uint j = 0; j < ND; ++j) ak[i][j] = av[i][j] = vec4(0.0);
  const uint tfirst = s0 > p.pos0 ? s0 - p.pos0 : 0u;  // the first query token that sees key s0
  for (uint hh = 0; hh < G; ++hh) {
    const uint h = g * G + hh;
    for (uint t0 = tfirst; t0 < p.T; t0 += BR) {
      const uint nr = min(BR, p.T - t0), nr4 = (nr + 3u) / 4u;
      for (uint r = lr; r < 4u * nr4; r += LR) {  // rows nr .. 4·nr4 zero: Pᵀ·dO, dSᵀ·q read them (P = dS = 0)
        ATT_LOAD4(Qs[r * RS4 + lc], q, qrow(t0 + r, h), r < nr);
        ATT_LOAD4(dOs[r * RS4 + lc], dO, orow(t0 + r, h), r < nr);
      }
      if (tid < nr) Ls[tid] = L[lrow(t0 + tid, h)], Ds[tid] = Dw[lrow(t0 + tid, h)];
      barrier();
      float s[NI][NJ], dp[NI][NJ];
      for (uint i = 0; i < NI; ++i)
        for (uint j = 0; j < NJ; ++j) s[i][j] = 0.0, dp[i][j] = 0.0;
      for (uint d4 = 0; d4 < HD4; ++d4) {
        vec4 kv[NI], vv[NI], qv[NJ], gv[NJ];
        for (uint i = 0; i < NI; ++i) kv[i] = Ks[(ri + 8u * i) * RS4 + d4], vv[i] = Vs[(ri + 8u * i) * RS4 + d4];
        for (uint j = 0; j < NJ; ++j) qv[j] = Qs[(ci + 8u * j) * RS4 + d4], gv[j] = dOs[(ci + 8u * j) * RS4 + d4];
        for (uint i = 0; i < NI; ++i)
          for (uint j = 0; j < NJ; ++j) s[i][j] += dot(kv[i], qv[j]), dp[i][j] += dot(vv[i], gv[j]);
      }
      for (uint i = 0; i < NI; ++i) {
        const uint c = ri + 8u * i;
        for (uint j = 0; j < NJ; ++j) {
          const uint r = ci + 8u * j;
          const bool ok = c < nk && r < nr && s0 + c <= p.pos0 + t0 + r;
          const float pv = exp(p.scale * s[i][j] - Ls[r]);
          Ps[c * PS4 + r / 4u][r % 4u] = ok ? pv : 0.0;
          dSs[c * PS4 + r / 4u][r % 4u] = ok ? pv * (dp[i][j] - Ds[r]) : 0.0;
        }
      }
      barrier();
      for (uint r4 = 0; r4 < nr4; ++r4) {
        vec4 pv[NI], dsv[NI];
        for (uint i = 0; i < NI; ++i) pv[i] = Ps[(ri + 8u * i) * PS4 + r4], dsv[i] = dSs[(ri + 8u * i) * PS4 + r4];
        for (uint e = 0; e < 4u; ++e) {
          const uint r = 4u * r4 + e;
          vec4 gg[ND], qq[ND];
          for (uint j = 0; j < ND; ++j) gg[j] = dOs[r * RS4 + ci + 8u * j], qq[j] = Qs[r * RS4 + ci + 8u * j];
          for (uint i = 0; i < NI; ++i)
            for (uint j = 0; j < ND; ++j) {
              av[i][j] = fma(vec4(pv[i][e]), gg[j], av[i][j]);
              ak[i][j] = fma(vec4(dsv[i][e]), qq[j], ak[i][j]);
            }
        }
      }
      barrier();
    }
  }
  for (uint i = 0; i < NI; ++i) {
    const uint c = ri + 8u * i;
    if (c >= nk) continue;
    for (uint j = 0; j < ND; ++j)
      for (uint e = 0; e < 4u; ++e) {
        const uint d = 4u * (ci + 8u * j) + e;
        if (d < p.HD) {
          dkv[krow(s0 + c, g) + d] += p.scale * ak[i][j][e];
          dvb[vrow(s0 + c, g) + d] += av[i][j][e];
        }
      }
  }
}
