// Attention of one decoded token, its keys split across workgroups (flash-decoding): workgroup (h, j) takes head
// h's keys [j·chunk, (j+1)·chunk) ∩ [0, pos] (pos from the step buffer) in tiles of NCL keys: a cluster of CL
// subgroup lanes per key holds its K and V rows in registers (both loaded when the tile starts), q·k finished by a
// butterfly of shuffles, one workgroup max per tile (shuffles, then shared memory across subgroups), the online
// softmax's sums and p·V kept per cluster and added across clusters once at the end. A head whose keys fit one
// workgroup writes o; else each writes (acc, max, sum) into `work` and the last to finish (an atomic ticket per
// head, reset by it for the next replay) merges them.
// Not for prompts (attention_flash.comp), windows or soft-caps; HD a multiple of 4 up to HDM (64, or 128 with
// -DHDM=128); needs subgroups of >= CL lanes with shuffles (kernels/vulkan/decode.cpp checks; else
// attention_decode.comp, one workgroup per head).
#version 450
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_control_flow_attributes : require
#ifndef HDM
#define HDM 64
#endif
#if HDM == 64
#define CL 4u    // lanes per key
#else
#define CL 8u
#endif
#define NT 256u             // threads per workgroup
#define NCL (NT / CL)       // keys per tile
#define HV (uint(HDM) / 4u) // vec4s of a head row
#define DV (HV / CL)        // vec4s per lane: lane l holds vec4s l + CL·i of the head
#define NP (NT / uint(HDM)) // threads per head dim in the final sum over clusters (4 or 2)
#define RS (HV + 8u / NP)   // vec4 row stride of accs: the NP parts of a warp's reads start 8 (16) banks apart
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer OBuf { float o[]; };
layout(std430, binding = 1) readonly buffer QBuf { float q[]; };
layout(std430, binding = 2) readonly buffer KBuf { vec4 k4[]; };
layout(std430, binding = 3) readonly buffer VBuf { vec4 v4[]; };
layout(std430, binding = 4) readonly buffer SBuf { uint st[]; };
// work: [0, NH) the heads' tickets (uint), partials from float part_off: (h, j) at part_off + (h·nsplit + j)·(HD + 2)
// = acc (HD), max, sum. Coherent: the merging workgroup reads what the others wrote in this dispatch.
layout(std430, binding = 5) coherent buffer WBuf { float part[]; };
layout(std430, binding = 5) coherent buffer WCnt { uint cnt[]; };
layout(push_constant) uniform P {
  uint NH, KVH, HD;
  uint kv_st, k_off, v_off;  // key/value row s of group g at (k|v)_off + s*kv_st + g*HD (elements, multiples of 4)
  uint q_off, o_off;         // head h at q_off + h*HD, o_off + h*HD
  float scale;
  uint chunk;                // keys per workgroup, a multiple of NCL
  uint nsplit;               // workgroups per head (the grid's y): chunk·nsplit >= the cache's capacity
  uint part_off;
} p;

shared float red[2][NT];          // per-subgroup tile maxima, by tile parity (one barrier per tile)
shared vec4 accs[NCL * RS];  // per-cluster p·V
shared float lsum[NCL];
shared uint last;

float csum(float x) {
  [[unroll]] for (uint o = 1u; o < CL; o <<= 1) x += subgroupShuffleXor(x, o);
  return x;
}

void main() {
  const uint h = gl_WorkGroupID.x, j = gl_WorkGroupID.y;
  const uint S = st[0] + 1u, s0 = j * p.chunk;
  if (s0 >= S) return;  // the whole workgroup: nothing of this split is inside the context yet
  const uint s1 = min(S, s0 + p.chunk), nact = (S + p.chunk - 1u) / p.chunk;
  const uint t = gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID, c = t / CL, lane = t % CL;
  const uint g = h / (p.NH / p.KVH), HD4 = p.HD / 4u, qo = p.q_off + h * p.HD;
  vec4 qv[DV], acc[DV];
  [[unroll]] for (uint i = 0u; i < DV; ++i) {
    const uint d4 = lane + CL * i;
    qv[i] = d4 < HD4 ? vec4(q[qo + 4u * d4], q[qo + 4u * d4 + 1u], q[qo + 4u * d4 + 2u], q[qo + 4u * d4 + 3u]) * p.scale
                     : vec4(0.0);
    acc[i] = vec4(0.0);
  }
  float m = -3.0e38, l = 0.0;  // the running max (the same in every thread) and this cluster's Σ exp
  uint tile = 0u;
  for (uint base = s0; base < s1; base += NCL, ++tile) {
    const uint s = base + c;
    const bool valid = s < s1;
    const uint ko = (p.k_off + s * p.kv_st + g * p.HD) >> 2, vo = (p.v_off + s * p.kv_st + g * p.HD) >> 2;
    vec4 kr[DV], vr[DV];
    [[unroll]] for (uint i = 0u; i < DV; ++i) {
      const uint d4 = lane + CL * i;
      const bool ok = valid && d4 < HD4;
      kr[i] = ok ? k4[ko + d4] : vec4(0.0);
      vr[i] = ok ? v4[vo + d4] : vec4(0.0);
    }
    float dt = 0.0;
    [[unroll]] for (uint i = 0u; i < DV; ++i) dt += dot(qv[i], kr[i]);
    const float sc = valid ? csum(dt) : -3.0e38;
    float mx = sc;
    for (uint o = CL; o < gl_SubgroupSize; o <<= 1) mx = max(mx, subgroupShuffleXor(mx, o));
    if (gl_SubgroupInvocationID == 0u) red[tile & 1u][gl_SubgroupID] = mx;
    barrier();
    for (uint i = 0u; i < gl_NumSubgroups; ++i) mx = max(mx, red[tile & 1u][i]);
    const float mn = max(m, mx), alpha = exp(m - mn), pv = valid ? exp(sc - mn) : 0.0;
    l = l * alpha + pv;
    [[unroll]] for (uint i = 0u; i < DV; ++i) acc[i] = acc[i] * alpha + pv * vr[i];
    m = mn;
  }
  // Σ over clusters: NP consecutive threads per dim d (t / NP) each add every NP-th cluster's p·V and sum, then a
  // butterfly over the NP.
  [[unroll]] for (uint i = 0u; i < DV; ++i) accs[c * RS + lane + CL * i] = acc[i];
  if (lane == 0u) lsum[c] = l;
  barrier();
  const uint d = t / NP, np = t % NP;
  float sa = 0.0, sl = 0.0;
  if (d < p.HD)
    for (uint cc = np; cc < NCL; cc += NP) sa += accs[cc * RS + d / 4u][d % 4u], sl += lsum[cc];
  [[unroll]] for (uint o = 1u; o < NP; o <<= 1) sa += subgroupShuffleXor(sa, o), sl += subgroupShuffleXor(sl, o);
  const uint po = p.part_off + (h * p.nsplit + j) * (p.HD + 2u);
  if (d < p.HD && np == 0u) {
    if (nact == 1u) {
      o[p.o_off + h * p.HD + d] = sa / sl;
    } else {
      part[po + d] = sa;
      if (d == 0u) part[po + p.HD] = m, part[po + p.HD + 1u] = sl;
    }
  }
  if (nact == 1u) return;
  // The ticket: this workgroup's partial is visible device-wide before its count is.
  memoryBarrierBuffer();
  barrier();
  if (t == 0u) last = atomicAdd(cnt[h], 1u) == nact - 1u ? 1u : 0u;
  barrier();
  if (last == 0u) return;
  memoryBarrierBuffer();
  if (t < p.HD) {
    const uint pb = p.part_off + h * p.nsplit * (p.HD + 2u);
    float M = -3.0e38;
    for (uint i = 0u; i < nact; ++i) M = max(M, part[pb + i * (p.HD + 2u) + p.HD]);
    float a = 0.0, L = 0.0;
    for (uint i = 0u; i < nact; ++i) {
      const uint pi = pb + i * (p.HD + 2u);
      const float w = exp(part[pi + p.HD] - M);
      a += w * part[pi + t];
      L += w * part[pi + p.HD + 1u];
    }
    o[p.o_off + h * p.HD + t] = a / L;
  }
  if (t == 0u) atomicExchange(cnt[h], 0u);  // ready for the next dispatch (the next layer, the next token)
}
