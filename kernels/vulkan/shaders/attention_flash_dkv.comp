// Attention backward, dk/dv part, flash layout (attention_flash.glsl): one workgroup (128 threads) per tile of BK
// keys of one (sequence, kv head g); each key's k, v and dk, dv accumulators in the registers of a cluster of
// lanes, while every query head of g's group and every query row that sees those keys streams through shared
// tiles of BR rows (q, dO, L, D): P recomputed from L, dS = P·(dO·vᵀ − D) with D from attention_flash_dq.comp
// (run first), dv += Pᵀ·dO, dk += scale·dSᵀ·q. Query rows before the keys are skipped.
// HD <= HDM (64: 32 keys, 32-row tiles; 128: 16 and 16), 16 KiB of shared memory. No window or soft-cap.
#version 450
#extension GL_GOOGLE_include_directive : require
#define ATTN_BWD_THREADS 128
#define ATTN_BWD_D_NOT_O
#include "attention_flash.glsl"
layout(std430, binding = 0) buffer DKBuf { float dkv[]; };  // dk (S, KVH, HD) at k_st
layout(std430, binding = 7) buffer DVBuf { float dvb[]; };  // dv (S, KVH, HD) at v_st
#include "attention_bwd.glsl"

#define BK NCL  // one key per cluster
#if HDM == 64
#define BR 32u
#else
#define BR 16u
#endif
#define RC 8u  // query rows per unrolled step

shared vec4 Qs[BR * HV];   // (BR, HDM) the current query tile
shared vec4 dOs[BR * HV];  // (BR, HDM) its output gradient
shared float Ls[BR], Ds[BR];

uint h_, t0_;  // the query head and the tile's first row
uint qtile_(uint r) { return qrow(t0_ + r, h_); }
uint otile_(uint r) { return orow(t0_ + r, h_); }

void main() {
  const uint g = gl_WorkGroupID.x, s0 = gl_WorkGroupID.y * BK;
  const uint G = p.NH / p.KVH;
  const uint nk = min(BK, p.pos0 + p.T - s0);  // keys past pos0 + T − 1 are seen by no query
  const uint cid = flash_cluster(), lane = flash_lane();
  const uint c = cid, key = s0 + c;  // this cluster's key
  const bool live = c < nk;
  vec4 kv[DV], vv[DV], ak[DV], av[DV];
  FLASH_ROW(kv, kc, krow(key, g), live)
  FLASH_ROW(vv, vc, vrow(key, g), live)
  [[unroll]] for (uint j = 0u; j < DV; ++j) ak[j] = vec4(0.0), av[j] = vec4(0.0);
  const uint tfirst = s0 > p.pos0 ? s0 - p.pos0 : 0u;  // the first query token that sees key s0
  for (uint hh = 0u; hh < G; ++hh) {
    h_ = g * G + hh;
    for (t0_ = tfirst; t0_ < p.T; t0_ += BR) {
      const uint nr = min(BR, p.T - t0_), nch = (nr + RC - 1u) / RC;
      FLASH_TILE(Qs, BR, q, qtile_, nr)  // rows nr .. BR zero (masked: P = dS = 0 there)
      FLASH_TILE(dOs, BR, dO, otile_, nr)
      for (uint r = gl_LocalInvocationIndex; r < BR; r += NT) {
        Ls[r] = r < nr ? L[lrow(t0_ + r, h_)] : 0.0;
        Ds[r] = r < nr ? Dw[lrow(t0_ + r, h_)] : 0.0;
      }
      barrier();
      for (uint ch = 0u; ch < nch; ++ch) {
        [[unroll]] for (uint rr = 0u; rr < RC; ++rr) {
          const uint r = ch * RC + rr;
          vec4 qq[DV], gg[DV];
          float s = 0.0, dp = 0.0;
          [[unroll]] for (uint j = 0u; j < DV; ++j) {
            qq[j] = Qs[r * HV + lane + CL * j], gg[j] = dOs[r * HV + lane + CL * j];
            s += dot(kv[j], qq[j]), dp += dot(vv[j], gg[j]);
          }
          s = csum(s), dp = csum(dp);
          const bool ok = live && r < nr && key <= p.pos0 + t0_ + r;
          const float pr = ok ? exp(p.scale * s - Ls[r]) : 0.0, ds = pr * (dp - Ds[r]);
          [[unroll]] for (uint j = 0u; j < DV; ++j) {
            av[j] = fma(vec4(pr), gg[j], av[j]);
            ak[j] = fma(vec4(ds), qq[j], ak[j]);
          }
        }
      }
      barrier();  // the tile read by all before the next one overwrites it
    }
  }
  if (live) {
    const uint kb = krow(key, g), vb = vrow(key, g);
    [[unroll]] for (uint j = 0u; j < DV; ++j)
      [[unroll]] for (uint e = 0u; e < 4u; ++e) {
        const uint d = 4u * (lane + CL * j) + e;
        if (d < p.HD) {
          dkv[kb + d] += p.scale * ak[j][e];
          dvb[vb + d] += av[j][e];
        }
      }
  }
}
