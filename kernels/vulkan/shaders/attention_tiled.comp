// Causal attention forward, FlashAttention-2 style: one workgroup (64 threads) per tile of BR query rows of one
// (sequence, head); keys in tiles of BC staged in shared memory once for all BR rows (not re-read per row as
// attention.comp does), online softmax per row, key tiles past the tile's last row (or before its window) skipped.
// Same bindings, push constants and semantics as attention.comp (GQA, window, soft-cap, offsets, batch z, L).
// HD <= HDM: 32x32 tiles for HDM 64, 16x16 for HDM 128 (attention_tiled_hd128), ≤ 31 KiB of shared memory; ops.cpp
// routes larger heads to attention.comp. Shared tiles are read as vec4 (a quarter of the shared-memory
// instructions of scalar reads), rows padded by a vec4 (attention_tile.glsl); HD is zero-padded to 4.
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer OBuf { float o[]; };
layout(std430, binding = 1) buffer LBuf { float L[]; };
layout(std430, binding = 2) readonly buffer QBuf { float q[]; };
layout(std430, binding = 3) readonly buffer KBuf { float kc[]; };
layout(std430, binding = 4) readonly buffer VBuf { float vc[]; };
layout(push_constant) uniform P {
  uint T, S, NH, KVH, HD, pos0;
  uint q_st, k_st, v_st, o_st;
  uint q_off, k_off, v_off, o_off;
  float scale;
  uint has_L;
  uint window;
  float softcap;
} p;

#include "tanh.glsl"
#include "attention_tile.glsl"

#if HDM == 64
#define BR 32u
#define BC 32u
#else
#define BR 16u
#define BC 16u
#endif
#define NI (BR / 8u)         // rows per thread
#define NJ (BC / 8u)         // keys per thread
#define PS4 (BC / 4u + 1u)   // row pitch (vec4) of the score tile
#define MASKED -3.0e38       // a masked score; real scores are never below -1e38

shared vec4 Qs[BR * RS4];  // (BR, HD) this tile's queries
shared vec4 Ks[BC * RS4];  // (BC, HD) the current key tile
shared vec4 Vs[BC * RS4];  // (BC, HD) its values
shared vec4 Ps[BR * PS4];  // (BR, BC) scores, then probabilities
shared float alpha_s[BR];  // per row: exp(m_old − m_new), the rescale of what was accumulated
shared float l_s[BR];      // per row: the final softmax denominator

void main() {
  // The last query tiles (the most keys) first: the longest workgroups start earliest.
  const uint h = gl_WorkGroupID.x, t0 = (gl_NumWorkGroups.y - 1u - gl_WorkGroupID.y) * BR;
  const uint tid = gl_LocalInvocationID.x;
  const uint g = h / (p.NH / p.KVH);
  const uint bt = gl_WorkGroupID.z * p.T, bs = gl_WorkGroupID.z * p.S;  // this sequence's first query, key rows
  const uint rows = min(BR, p.T - t0), HD4 = (p.HD + 3u) / 4u;
  // Thread tid owns rows ri + 8i (i < NI); of the key tile keys ci + 8j (j < NJ); of the output the vec4s of dims
  // ci + 8j (j < ND).
  const uint ri = tid >> 3, ci = tid & 7u;
  const uint lc = tid % LW, lr = tid / LW;  // tile loads: rows lr + LR·n
  for (uint r = lr; r < rows; r += LR)
    ATT_LOAD4(Qs[r * RS4 + lc], q, p.q_off + (bt + t0 + r) * p.q_st + h * p.HD, true);
  const uint klast = p.pos0 + t0 + rows - 1u;  // the tile's last row sees keys ..= klast
  const uint q0 = p.pos0 + t0;
  const uint kfirst = p.window > 0u && q0 + 1u > p.window ? q0 + 1u - p.window : 0u;  // its first row's first key
  float m_run = MASKED, l_run = 0.0;  // row tid's running max and denominator (threads tid < BR)
  vec4 acc[NI][ND];
  for (uint i = 0; i < NI; ++i)
    for (uint j = 0; j < ND; ++j) acc[i][j] = vec4(0.0);
  for (uint s0 = kfirst; s0 <= klast; s0 += BC) {
    const uint nk = min(BC, klast + 1u - s0), nk4 = (nk + 3u) / 4u;
    for (uint c = lr; c < 4u * nk4; c += LR) {  // v rows nk .. 4·nk4 zero: P·V reads them (with P = 0)
      ATT_LOAD4(Ks[c * RS4 + lc], kc, p.k_off + (bs + s0 + c) * p.k_st + g * p.HD, c < nk);
      ATT_LOAD4(Vs[c * RS4 + lc], vc, p.v_off + (bs + s0 + c) * p.v_st + g * p.HD, c < nk);
    }
    barrier();
    // S = Q·Kᵀ for the thread's NI x NJ scores, scaled, soft-capped, masked.
    float sc[NI][NJ];
    for (uint i = 0; i < NI; ++i)
      for (uint j = 0; j < NJ; ++j) sc[i][j] = 0.0;
    for (uint d4 = 0; d4 < HD4; ++d4) {
      vec4 qv[NI], kv[NJ];
      for (uint i = 0; i < NI; ++i) qv[i] = Qs[(ri + 8u * i) * RS4 + d4];
      for (uint j = 0; j < NJ; ++j) kv[j] = Ks[(ci + 8u * j) * RS4 + d4];
      for (uint i = 0; i < NI; ++i)
        for (uint j = 0; j < NJ; ++j) sc[i][j] += dot(qv[i], kv[j]);
    }
    for (uint i = 0; i < NI; ++i) {
      const uint r = ri + 8u * i, qpos = q0 + r;
      for (uint j = 0; j < NJ; ++j) {
        const uint c = ci + 8u * j, s = s0 + c;
        const bool ok = r < rows && c < nk && s <= qpos && (p.window == 0u || s + p.window > qpos);
        float x = sc[i][j] * p.scale;
        if (p.softcap > 0.0) x = p.softcap * tanh_safe(x / p.softcap);
        Ps[r * PS4 + c / 4u][c % 4u] = ok ? x : MASKED;
      }
    }
    barrier();
    // Online softmax, one thread per row: m_new = max(m, max_j s_j), P = exp(s − m_new), l = l·α + Σ P.
    if (tid < BR) {
      float mx = m_run;
      for (uint c4 = 0; c4 < nk4; ++c4) {
        const vec4 x = Ps[tid * PS4 + c4];
        mx = max(mx, max(max(x.x, x.y), max(x.z, x.w)));
      }
      float sum = 0.0;
      for (uint c4 = 0; c4 < nk4; ++c4) {
        const vec4 x = Ps[tid * PS4 + c4];
        const vec4 pv = mix(vec4(0.0), exp(x - mx), greaterThan(x, vec4(-1.0e38)));
        Ps[tid * PS4 + c4] = pv;
        sum += (pv.x + pv.y) + (pv.z + pv.w);
      }
      const float a = exp(m_run - mx);  // 1 while the row has seen nothing (both MASKED)
      l_run = l_run * a + sum;
      m_run = mx;
      alpha_s[tid] = a;
    }
    barrier();
    // O = O·α + P·V for the thread's NI rows x ND vec4s of dims.
    for (uint i = 0; i < NI; ++i) {
      const float a = alpha_s[ri + 8u * i];
      for (uint j = 0; j < ND; ++j) acc[i][j] *= a;
    }
    for (uint c4 = 0; c4 < nk4; ++c4) {
      vec4 pv[NI];
      for (uint i = 0; i < NI; ++i) pv[i] = Ps[(ri + 8u * i) * PS4 + c4];
      for (uint e = 0; e < 4u; ++e) {
        const uint c = 4u * c4 + e;
        vec4 vv[ND];
        for (uint j = 0; j < ND; ++j) vv[j] = Vs[c * RS4 + ci + 8u * j];
        for (uint i = 0; i < NI; ++i)
          for (uint j = 0; j < ND; ++j) acc[i][j] = fma(vec4(pv[i][e]), vv[j], acc[i][j]);
      }
    }
    barrier();
  }
  if (tid < BR) {
    l_s[tid] = l_run;
    if (p.has_L != 0u && tid < rows) L[(bt + t0 + tid) * p.NH + h] = m_run + log(l_run);
  }
  barrier();
  for (uint i = 0; i < NI; ++i) {
    const uint r = ri + 8u * i;
    if (r >= rows) continue;
    const float inv = 1.0 / l_s[r];
    const uint oo = p.o_off + (bt + t0 + r) * p.o_st + h * p.HD;
    for (uint j = 0; j < ND; ++j)
      for (uint e = 0; e < 4u; ++e) {
        const uint d = 4u * (ci + 8u * j) + e;
        if (d < p.HD) o[oo + d] = acc[i][j][e] * inv;
      }
  }
}
