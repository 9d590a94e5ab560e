// Attention backward, dk/dv part, FlashAttention-2 style: one workgroup (64 threads) per tile of BC = 32 keys of
// one (sequence, kv head g), its k and v held in shared memory while every query head of g's group and every query
// tile of BR = 16 rows that sees those keys streams through: P recomputed from L, dS = P·(dO·vᵀ − D) with D from
// attention_tiled_dq.comp (run first), dv += Pᵀ·dO, dk += scale·dSᵀ·q. Query tiles before the keys are skipped.
// HD <= 64 only (ops.cpp routes larger heads to attention_backward_dkv.comp); no window or soft-cap.
#version 450
#extension GL_GOOGLE_include_directive : require
#define ATTN_BWD_D_NOT_O
layout(std430, binding = 0) buffer DKBuf { float dkv[]; };  // dk (S, KVH, HD) at k_st
layout(std430, binding = 7) buffer DVBuf { float dvb[]; };  // dv (S, KVH, HD) at v_st
#include "attention_bwd.glsl"

#define BC 32u
#define BR 16u
#define RS 65u        // row pitch of the k, v, q, dO tiles (HD <= 64)
#define PS (BR + 1u)  // row pitch of the P and dS tiles

shared float Ks[BC * RS];   // (BC, HD) this workgroup's keys
shared float Vs[BC * RS];   // (BC, HD) their values
shared float Qs[BR * RS];   // (BR, HD) the current query tile
shared float dOs[BR * RS];  // (BR, HD) its output gradient
shared float Ps[BC * PS];   // (BC, BR) P transposed
shared float dSs[BC * PS];  // (BC, BR) dS transposed
shared float Ls[BR], Ds[BR];

void main() {
  const uint g = gl_WorkGroupID.x, s0 = gl_WorkGroupID.y * BC, tid = gl_LocalInvocationID.x;
  const uint G = p.NH / p.KVH;
  const uint nk = min(BC, p.pos0 + p.T - s0);  // keys past pos0 + T − 1 are seen by no query
  // Thread tid owns keys ri + 8i (i < 4); of a query tile rows ci + 8j (j < 2); of dk and dv dims ci + 8j (j < 8).
  const uint ri = tid >> 3, ci = tid & 7u;
  for (uint c = 0; c < nk; ++c)  // a row at a time: no integer division per element
    for (uint d = tid; d < p.HD; d += 64u) {
      Ks[c * RS + d] = kc[krow(s0 + c, g) + d];
      Vs[c * RS + d] = vc[vrow(s0 + c, g) + d];
    }
  float ak[4][8], av[4][8];
  for (uint i = 0; i < 4u; ++i)
    for (uint j = 0; j < 8u; ++j) ak[i][j] = 0.0, av[i][j] = 0.0;
  const uint tfirst = s0 > p.pos0 ? s0 - p.pos0 : 0u;  // the first query token that sees key s0
  for (uint hh = 0; hh < G; ++hh) {
    const uint h = g * G + hh;
    for (uint t0 = tfirst; t0 < p.T; t0 += BR) {
      const uint nr = min(BR, p.T - t0);
      for (uint r = 0; r < nr; ++r)
        for (uint d = tid; d < p.HD; d += 64u) {
          Qs[r * RS + d] = q[qrow(t0 + r, h) + d];
          dOs[r * RS + d] = dO[orow(t0 + r, h) + d];
        }
      if (tid < nr) Ls[tid] = L[lrow(t0 + tid, h)], Ds[tid] = Dw[lrow(t0 + tid, h)];
      barrier();
      float s[4][2], dp[4][2];
      for (uint i = 0; i < 4u; ++i)
        for (uint j = 0; j < 2u; ++j) s[i][j] = 0.0, dp[i][j] = 0.0;
      for (uint d = 0; d < p.HD; ++d) {
        float kv[4], vv[4], qv[2], gv[2];
        for (uint i = 0; i < 4u; ++i) kv[i] = Ks[(ri + 8u * i) * RS + d], vv[i] = Vs[(ri + 8u * i) * RS + d];
        for (uint j = 0; j < 2u; ++j) qv[j] = Qs[(ci + 8u * j) * RS + d], gv[j] = dOs[(ci + 8u * j) * RS + d];
        for (uint i = 0; i < 4u; ++i)
          for (uint j = 0; j < 2u; ++j) s[i][j] = fma(kv[i], qv[j], s[i][j]), dp[i][j] = fma(vv[i], gv[j], dp[i][j]);
      }
      for (uint i = 0; i < 4u; ++i) {
        const uint c = ri + 8u * i;
        for (uint j = 0; j < 2u; ++j) {
          const uint r = ci + 8u * j;
          const bool ok = c < nk && r < nr && s0 + c <= p.pos0 + t0 + r;
          const float pv = ok ? exp(p.scale * s[i][j] - Ls[r]) : 0.0;
          Ps[c * PS + r] = pv;
          dSs[c * PS + r] = ok ? pv * (dp[i][j] - Ds[r]) : 0.0;
        }
      }
      barrier();
      for (uint r = 0; r < nr; ++r) {
        float pv[4], dsv[4], gv[8], qv[8];
        for (uint i = 0; i < 4u; ++i) pv[i] = Ps[(ri + 8u * i) * PS + r], dsv[i] = dSs[(ri + 8u * i) * PS + r];
        for (uint j = 0; j < 8u; ++j) gv[j] = dOs[r * RS + ci + 8u * j], qv[j] = Qs[r * RS + ci + 8u * j];
        for (uint i = 0; i < 4u; ++i)
          for (uint j = 0; j < 8u; ++j) av[i][j] = fma(pv[i], gv[j], av[i][j]), ak[i][j] = fma(dsv[i], qv[j], ak[i][j]);
      }
      barrier();
    }
  }
  for (uint i = 0; i < 4u; ++i) {
    const uint c = ri + 8u * i;
    if (c >= nk) continue;
    for (uint j = 0; j < 8u; ++j) {
      const uint d = ci + 8u * j;
      if (d < p.HD) {
        dkv[krow(s0 + c, g) + d] += p.scale * ak[i][j];
        dvb[vrow(s0 + c, g) + d] += av[i][j];
      }
    }
  }
}
