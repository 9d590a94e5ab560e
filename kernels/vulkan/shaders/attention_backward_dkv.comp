// Attention backward, dk/dv part: for key s of kv head g, dv_s += Σ_i P_is·dO_i and dk_s += scale·Σ_i dS_is·q_i
// over every query row i = (t, h) of g's group that sees s (pos0 + t >= s); one workgroup (64 threads) per
// (s, g), query rows in chunks of 64 (one P and dS per thread, D_i recomputed). Not dq (attention_backward_dq.comp).
#version 450
#extension GL_GOOGLE_include_directive : require
layout(std430, binding = 0) buffer DKVBuf { float dkv[]; };  // dk (S, KVH, HD) at k_st
layout(std430, binding = 7) buffer DVBuf { float dvb[]; };  // dv (S, KVH, HD) at v_st
#include "attention_bwd.glsl"
shared float ks[256], vs[256], pw[64], dsw[64];

void main() {
  const uint g = gl_WorkGroupID.x, s = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
  const uint G = p.NH / p.KVH;
  for (uint d = tid; d < p.HD; d += 64u) {
    ks[d] = kc[krow(s, g) + d];
    vs[d] = vc[vrow(s, g) + d];
  }
  barrier();
  // Queries that see key s: tokens t >= s − pos0 (all when s <= pos0), each with the G heads of group g.
  const uint t0 = s > p.pos0 ? s - p.pos0 : 0u;
  const uint rows = t0 < p.T ? (p.T - t0) * G : 0u;
  float ak[4] = float[4](0.0, 0.0, 0.0, 0.0), av[4] = float[4](0.0, 0.0, 0.0, 0.0);
  for (uint r0 = 0; r0 < rows; r0 += 64u) {
    const uint r = r0 + tid;
    float pv = 0.0, dsv = 0.0;
    if (r < rows) {
      const uint t = t0 + r / G, h = g * G + r % G;
      float qk = 0.0, dv = 0.0, D = 0.0;
      for (uint d = 0; d < p.HD; ++d) {
        const float go = dO[orow(t, h) + d];
        qk = fma(q[qrow(t, h) + d], ks[d], qk);
        dv = fma(go, vs[d], dv);
        D = fma(go, o[orow(t, h) + d], D);
      }
      pv = exp(p.scale * qk - L[lrow(t, h)]);
      dsv = pv * (dv - D);
    }
    barrier();
    pw[tid] = pv;
    dsw[tid] = dsv;
    barrier();
    const uint nr = min(64u, rows - r0);
    for (uint i = 0; i < 4u; ++i) {
      const uint d = tid + 64u * i;
      if (d >= p.HD) break;
      float a = ak[i], b = av[i];
      for (uint j = 0; j < nr; ++j) {
        const uint rr = r0 + j, t = t0 + rr / G, h = g * G + rr % G;
        a = fma(dsw[j], q[qrow(t, h) + d], a);
        b = fma(pw[j], dO[orow(t, h) + d], b);
      }
      ak[i] = a, av[i] = b;
    }
  }
  for (uint i = 0; i < 4u; ++i) {
    const uint d = tid + 64u * i;
    if (d < p.HD) {
      dkv[krow(s, g) + d] += p.scale * ak[i];
      dvb[vrow(s, g) + d] += av[i];
    }
  }
}
