// Attention backward, dq part, flash layout (attention_flash.glsl): one workgroup (128 threads) per tile of BR
// query rows of one (sequence, head h); each row's q, dO and dq accumulator in the registers of a cluster of
// lanes, k and v in shared tiles of BC keys read once per tile by all rows; P recomputed from L,
// dS = P·(dO·vᵀ − D), dq += scale·dS·k. Also writes D_i = dO_i·o_i (T, NH) for attention_flash_dkv.comp.
// HD <= HDM (64: 32 rows, 32-key tiles; 128: 16 and 16), 16 KiB of shared memory. No window or soft-cap.
#version 450
#extension GL_GOOGLE_include_directive : require
#define ATTN_BWD_THREADS 128
#include "attention_flash.glsl"
layout(std430, binding = 0) buffer DQBuf { float dq[]; };
layout(std430, binding = 7) buffer DBuf { float Dw[]; };  // (T, NH) per sequence, as L
#include "attention_bwd.glsl"

#if HDM == 64
#define BC 32u
#else
#define BC 16u
#endif
#define BR NCL  // one query row per cluster
#define KC 8u   // keys per unrolled step

shared vec4 Ks[BC * HV];  // (BC, HDM) the current key tile
shared vec4 Vs[BC * HV];  // (BC, HDM) its values

uint g_, s0_;  // the kv head, the tile's first key
uint ktile_(uint c) { return krow(s0_ + c, g_); }
uint vtile_(uint c) { return vrow(s0_ + c, g_); }

void main() {
  // The last query tiles (the most keys) first: the longest workgroups start earliest.
  const uint h = gl_WorkGroupID.x, t0 = (gl_NumWorkGroups.y - 1u - gl_WorkGroupID.y) * BR;
  g_ = h / (p.NH / p.KVH);
  const uint rows = min(BR, p.T - t0);
  const uint cid = flash_cluster(), lane = flash_lane();
  const uint r = cid, t = t0 + r;  // this cluster's row
  const bool live = r < rows;
  vec4 qv[DV], gv[DV], ov[DV], acc[DV];
  FLASH_ROW(qv, q, qrow(t, h), live)
  FLASH_ROW(gv, dO, orow(t, h), live)
  FLASH_ROW(ov, o, orow(t, h), live)
  float D = 0.0;
  [[unroll]] for (uint j = 0u; j < DV; ++j) D += dot(gv[j], ov[j]), acc[j] = vec4(0.0);
  D = csum(D);
  const float Lr = live ? L[lrow(t, h)] : 0.0;
  if (live && lane == 0u) Dw[lrow(t, h)] = D;
  const uint q0 = p.pos0 + t0, klast = q0 + rows - 1u, qpos = q0 + r;
  for (s0_ = 0u; s0_ <= klast; s0_ += BC) {
    const uint nk = min(BC, klast + 1u - s0_), nch = (nk + KC - 1u) / KC;
    FLASH_TILE(Ks, BC, kc, ktile_, nk)  // rows nk .. BC zero (masked: dS = 0 there)
    FLASH_TILE(Vs, BC, vc, vtile_, nk)
    barrier();
    for (uint ch = 0u; ch < nch; ++ch) {
      [[unroll]] for (uint kk = 0u; kk < KC; ++kk) {
        const uint c = ch * KC + kk;
        vec4 kv[DV], vv[DV];
        float s = 0.0, dp = 0.0;
        [[unroll]] for (uint j = 0u; j < DV; ++j) {
          kv[j] = Ks[c * HV + lane + CL * j], vv[j] = Vs[c * HV + lane + CL * j];
          s += dot(qv[j], kv[j]), dp += dot(gv[j], vv[j]);
        }
        s = csum(s), dp = csum(dp);
        const bool ok = live && c < nk && s0_ + c <= qpos;
        const float ds = ok ? exp(p.scale * s - Lr) * (dp - D) : 0.0;  // never 0·(garbage)
        [[unroll]] for (uint j = 0u; j < DV; ++j) acc[j] = fma(vec4(ds), kv[j], acc[j]);
      }
    }
    barrier();  // the tile read by all before the next one overwrites it
  }
  if (live) {
    const uint base = qrow(t, h);
    [[unroll]] for (uint j = 0u; j < DV; ++j)
      [[unroll]] for (uint e = 0u; e < 4u; ++e) {
        const uint d = 4u * (lane + CL * j) + e;
        if (d < p.HD) dq[base + d] += p.scale * acc[j][e];
      }
  }
}
