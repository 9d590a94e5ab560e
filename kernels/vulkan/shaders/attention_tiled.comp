// Causal attention forward, FlashAttention-2 style: one workgroup (64 threads) per tile of BR = 32 query rows of one
// (sequence, head); keys in tiles of BC = 32 staged in shared memory once for all 32 rows (not re-read per row as
// attention.comp does), online softmax per row, key tiles past the tile's last row (or before its window) skipped.
// Same bindings, push constants and semantics as attention.comp (GQA, window, soft-cap, offsets, batch z, L).
// HD <= 64 only: ops.cpp routes larger heads to attention.comp (the 32 KiB of shared memory hold three 32x65 tiles).
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

#define BR 32u
#define BC 32u
#define HDM 64u
#define RS 65u         // row pitch of the q, k, v tiles: rows land in different banks
#define PS (BC + 1u)   // row pitch of the score tile
#define MASKED -3.0e38 // a masked score; real scores are never below -1e38

shared float Qs[BR * RS];  // (BR, HD) this tile's queries
shared float Ks[BC * RS];  // (BC, HD) the current key tile
shared float Vs[BC * RS];  // (BC, HD) its values
shared float Ps[BR * PS];  // (BR, BC) scores, then probabilities
shared float alpha_s[BR];  // per row: exp(m_old - m_new), the rescale of what was accumulated
shared float l_s[BR];      // per row: the final softmax denominator

void main() {
  const uint h = gl_WorkGroupID.x, t0 = gl_WorkGroupID.y * BR, tid = gl_LocalInvocationID.x;
  const uint g = h / (p.NH / p.KVH);
  const uint bt = gl_WorkGroupID.z * p.T, bs = gl_WorkGroupID.z * p.S;  // this sequence's first query, key rows
  const uint rows = min(BR, p.T - t0);
  // Thread tid owns rows ri + 8i (i < 4) and, of the key tile, keys ci + 8j (j < 4); of the output, dims ci + 8j.
  const uint ri = tid >> 3, ci = tid & 7u;
  // Tiles load a row at a time (no integer division per element; a warp reads 32 consecutive floats).
  for (uint r = 0; r < rows; ++r)
    for (uint d = tid; d < p.HD; d += 64u) Qs[r * RS + d] = q[p.q_off + (bt + t0 + r) * p.q_st + h * p.HD + d];
  const uint klast = p.pos0 + t0 + rows - 1u;  // the tile's last row sees keys ..= klast
  const uint q0 = p.pos0 + t0;
  const uint kfirst = p.window > 0u && q0 + 1u > p.window ? q0 + 1u - p.window : 0u;  // its first row's first key
  float m_run = MASKED, l_run = 0.0;  // row tid's running max and denominator (threads tid < BR)
  float acc[4][8];
  for (uint i = 0; i < 4u; ++i)
    for (uint j = 0; j < 8u; ++j) acc[i][j] = 0.0;
  for (uint s0 = kfirst; s0 <= klast; s0 += BC) {
    const uint nk = min(BC, klast + 1u - s0);
    for (uint c = 0; c < nk; ++c)
      for (uint d = tid; d < p.HD; d += 64u) {
        Ks[c * RS + d] = kc[p.k_off + (bs + s0 + c) * p.k_st + g * p.HD + d];
        Vs[c * RS + d] = vc[p.v_off + (bs + s0 + c) * p.v_st + g * p.HD + d];
      }
    barrier();
    // S = Q·Kᵀ for the thread's 4x4 scores, scaled, soft-capped, masked.
    float sc[4][4];
    for (uint i = 0; i < 4u; ++i)
      for (uint j = 0; j < 4u; ++j) sc[i][j] = 0.0;
    for (uint d = 0; d < p.HD; ++d) {
      float qv[4], kv[4];
      for (uint i = 0; i < 4u; ++i) qv[i] = Qs[(ri + 8u * i) * RS + d];
      for (uint j = 0; j < 4u; ++j) kv[j] = Ks[(ci + 8u * j) * RS + d];
      for (uint i = 0; i < 4u; ++i)
        for (uint j = 0; j < 4u; ++j) sc[i][j] = fma(qv[i], kv[j], sc[i][j]);
    }
    for (uint i = 0; i < 4u; ++i) {
      const uint r = ri + 8u * i, qpos = q0 + r;
      for (uint j = 0; j < 4u; ++j) {
        const uint c = ci + 8u * j, s = s0 + c;
        const bool ok = r < rows && c < nk && s <= qpos && (p.window == 0u || s + p.window > qpos);
        float x = sc[i][j] * p.scale;
        if (p.softcap > 0.0) x = p.softcap * tanh_safe(x / p.softcap);
        Ps[r * PS + c] = ok ? x : MASKED;
      }
    }
    barrier();
    // Online softmax, one thread per row: m_new = max(m, max_j s_j), P = exp(s − m_new), l = l·α + Σ P.
    if (tid < BR) {
      float mx = m_run;
      for (uint c = 0; c < nk; ++c) mx = max(mx, Ps[tid * PS + c]);
      float sum = 0.0;
      for (uint c = 0; c < nk; ++c) {
        const float x = Ps[tid * PS + c];
        const float pv = x > -1.0e38 ? exp(x - mx) : 0.0;
        Ps[tid * PS + c] = pv;
        sum += pv;
      }
      const float a = exp(m_run - mx);  // 1 while the row has seen nothing (both MASKED)
      l_run = l_run * a + sum;
      m_run = mx;
      alpha_s[tid] = a;
    }
    barrier();
    // O = O·α + P·V for the thread's 4 rows x 8 dims.
    for (uint i = 0; i < 4u; ++i) {
      const float a = alpha_s[ri + 8u * i];
      for (uint j = 0; j < 8u; ++j) acc[i][j] *= a;
    }
    for (uint c = 0; c < nk; ++c) {
      float pv[4], vv[8];
      for (uint i = 0; i < 4u; ++i) pv[i] = Ps[(ri + 8u * i) * PS + c];
      for (uint j = 0; j < 8u; ++j) vv[j] = Vs[c * RS + ci + 8u * j];
      for (uint i = 0; i < 4u; ++i)
        for (uint j = 0; j < 8u; ++j) acc[i][j] = fma(pv[i], vv[j], acc[i][j]);
    }
    barrier();
  }
  if (tid < BR) {
    l_s[tid] = l_run;
    if (p.has_L != 0u && tid < rows) L[(bt + t0 + tid) * p.NH + h] = m_run + log(l_run);
  }
  barrier();
  for (uint i = 0; i < 4u; ++i) {
    const uint r = ri + 8u * i;
    if (r >= rows) continue;
    const float inv = 1.0 / l_s[r];
    const uint oo = p.o_off + (bt + t0 + r) * p.o_st + h * p.HD;
    for (uint j = 0; j < 8u; ++j) {
      const uint d = ci + 8u * j;
      if (d < p.HD) o[oo + d] = acc[i][j] * inv;
    }
  }
}
