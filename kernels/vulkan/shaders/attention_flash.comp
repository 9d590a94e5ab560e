// Causal attention forward, flash layout (attention_flash.glsl): one workgroup (128 threads) per tile of BR query
// rows of one (sequence, head); each query row held in registers by a cluster of lanes, keys and values in shared
// tiles of BC read once per tile by all rows, the online softmax per row in registers (rescaled once per KC keys).
// Same bindings, push constants and semantics as attention.comp (GQA, window, soft-cap, offsets, batch z, L).
// HD <= HDM (64: 64 rows, 32-key tiles; 128: 16 rows, 16-key tiles), 16 KiB of shared memory. Larger heads:
// ops.cpp routes them elsewhere. Not the decode path (attention_decode.comp).
#version 450
#extension GL_GOOGLE_include_directive : require
#include "attention_flash.glsl"
layout(local_size_x = 128) in;
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

#if HDM == 64
#define RPT 2  // query rows per cluster
#define BC 32u
#else
#define RPT 1
#define BC 16u
#endif
#define BR (NCL * uint(RPT))
#define KC 8u  // keys per softmax step (one rescale of the accumulators per KC keys)

shared vec4 Ks[BC * HV];  // (BC, HDM) the current key tile
shared vec4 Vs[BC * HV];  // (BC, HDM) its values

uint bs_;  // this sequence's first key row
uint g_;   // the kv head
uint s0_;  // the tile's first key
uint krow_(uint c) { return p.k_off + (bs_ + s0_ + c) * p.k_st + g_ * p.HD; }
uint vrow_(uint c) { return p.v_off + (bs_ + s0_ + c) * p.v_st + g_ * p.HD; }

void main() {
  // The last query tiles (the most keys) first: the longest workgroups start earliest.
  const uint h = gl_WorkGroupID.x, t0 = (gl_NumWorkGroups.y - 1u - gl_WorkGroupID.y) * BR;
  g_ = h / (p.NH / p.KVH);
  const uint bt = gl_WorkGroupID.z * p.T;
  bs_ = gl_WorkGroupID.z * p.S;
  const uint rows = min(BR, p.T - t0);
  const uint cid = flash_cluster(), lane = flash_lane();
  // Rows cid + NCL·i (i < RPT): the query, the output accumulator, the running max and denominator.
  vec4 qv[RPT][DV], acc[RPT][DV];
  float m_run[RPT], l_run[RPT];
  [[unroll]] for (uint i = 0u; i < RPT; ++i) {
    const uint r = cid + NCL * i;
    FLASH_ROW(qv[i], q, p.q_off + (bt + t0 + r) * p.q_st + h * p.HD, r < rows)
    [[unroll]] for (uint j = 0u; j < DV; ++j) acc[i][j] = vec4(0.0);
    m_run[i] = MASKED, l_run[i] = 0.0;
  }
  const uint q0 = p.pos0 + t0, klast = q0 + rows - 1u;  // the tile's last row sees keys ..= klast
  const uint kfirst = p.window > 0u && q0 + 1u > p.window ? q0 + 1u - p.window : 0u;  // its first row's first key
  for (s0_ = kfirst; s0_ <= klast; s0_ += BC) {
    const uint s0 = s0_, nk = min(BC, klast + 1u - s0), nch = (nk + KC - 1u) / KC;
    // rows nk .. BC zero: read as keys (masked) and values (P = 0 there; 0·0, never 0·garbage)
    FLASH_TILE(Ks, BC, kc, krow_, nk)
    FLASH_TILE(Vs, BC, vc, vrow_, nk)
    barrier();
    for (uint ch = 0u; ch < nch; ++ch) {
      // S for KC keys: the lane's partial dots summed over the cluster; scaled, soft-capped, masked.
      float sc[RPT][KC];
      [[unroll]] for (uint kk = 0u; kk < KC; ++kk) {
        const uint c = ch * KC + kk, s = s0 + c;
        vec4 kv[DV];
        [[unroll]] for (uint j = 0u; j < DV; ++j) kv[j] = Ks[c * HV + lane + CL * j];
        [[unroll]] for (uint i = 0u; i < RPT; ++i) {
          float x = 0.0;
          [[unroll]] for (uint j = 0u; j < DV; ++j) x += dot(qv[i][j], kv[j]);
          x = csum(x) * p.scale;
          if (p.softcap > 0.0) x = p.softcap * tanh_safe(x / p.softcap);
          const uint r = cid + NCL * i, qpos = q0 + r;
          const bool ok = r < rows && c < nk && s <= qpos && (p.window == 0u || s + p.window > qpos);
          sc[i][kk] = ok ? x : MASKED;
        }
      }
      // Online softmax: m_new = max(m, max_k s_k), P = exp(s − m_new), l = l·α + Σ P, O = O·α + P·V.
      [[unroll]] for (uint i = 0u; i < RPT; ++i) {
        float mx = m_run[i];
        [[unroll]] for (uint kk = 0u; kk < KC; ++kk) mx = max(mx, sc[i][kk]);
        const float a = exp(m_run[i] - mx);  // 1 while the row has seen nothing (both MASKED)
        float sum = 0.0;
        [[unroll]] for (uint kk = 0u; kk < KC; ++kk) {
          sc[i][kk] = sc[i][kk] > -1.0e38 ? exp(sc[i][kk] - mx) : 0.0;
          sum += sc[i][kk];
        }
        l_run[i] = l_run[i] * a + sum;
        m_run[i] = mx;
        [[unroll]] for (uint j = 0u; j < DV; ++j) acc[i][j] *= a;
      }
      [[unroll]] for (uint kk = 0u; kk < KC; ++kk) {
        const uint c = ch * KC + kk;
        vec4 vv[DV];
        [[unroll]] for (uint j = 0u; j < DV; ++j) vv[j] = Vs[c * HV + lane + CL * j];
        [[unroll]] for (uint i = 0u; i < RPT; ++i)
          [[unroll]] for (uint j = 0u; j < DV; ++j) acc[i][j] = fma(vec4(sc[i][kk]), vv[j], acc[i][j]);
      }
    }
    barrier();  // the tile read by all before the next one overwrites it
  }
  // Written row by row (a macro, not a loop over i: spirv-opt leaves that loop rolled and the arrays in memory).
#define FLASH_OUT(i)                                                                          \
  {                                                                                           \
    const uint r = cid + NCL * i;                                                             \
    if (r < rows) {                                                                           \
      if (p.has_L != 0u && lane == 0u) L[(bt + t0 + r) * p.NH + h] = m_run[i] + log(l_run[i]); \
      const float inv = 1.0 / l_run[i];                                                       \
      const uint oo = p.o_off + (bt + t0 + r) * p.o_st + h * p.HD;                            \
      [[unroll]] for (uint j = 0u; j < DV; ++j)                                               \
        [[unroll]] for (uint e = 0u; e < 4u; ++e) {                                           \
          const uint d = 4u * (lane + CL * j) + e;                                            \
          if (d < p.HD) o[oo + d] = acc[i][j][e] * inv;                                       \
        }                                                                                     \
    }                                                                                         \
  }
  FLASH_OUT(0)
#if RPT == 2
  FLASH_OUT(1)
#endif
}
