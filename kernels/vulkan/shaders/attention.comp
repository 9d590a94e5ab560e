// Causal attention with an online softmax, grouped-query heads, over a KV cache: one workgroup (64 threads)
// per (query token t, head h); keys in chunks of 64 (one score per thread), each thread owns HD/64 output dims.
// Layout as kernels/kernel_table.h AttentionDims, plus element offsets; workgroup z is the sequence of a batch
// (T query rows and S key rows after the previous ones). Writes L = logsumexp when has_L. window > 0: query t sees
// keys from pos0 + t − window + 1 only; softcap > 0: each score x becomes softcap·tanh(x / softcap) (Gemma 2).
// Not tiled over queries (each row re-reads K and V): simple and correct, fine for decoding.
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

shared float qs[256];
shared float ps[64];
shared float red[64];

float reduce_max(float v, uint t) {
  barrier();
  red[t] = v;
  barrier();
  for (uint h = 32u; h > 0u; h >>= 1) {
    if (t < h) red[t] = max(red[t], red[t + h]);
    barrier();
  }
  return red[0];
}
float reduce_sum(float v, uint t) {
  barrier();
  red[t] = v;
  barrier();
  for (uint h = 32u; h > 0u; h >>= 1) {
    if (t < h) red[t] += red[t + h];
    barrier();
  }
  return red[0];
}

void main() {
  const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
  const uint g = h / (p.NH / p.KVH);
  const uint bt = gl_WorkGroupID.z * p.T, bs = gl_WorkGroupID.z * p.S;  // this sequence's first query, key rows
  const uint qo = p.q_off + (bt + t) * p.q_st + h * p.HD;
  for (uint d = tid; d < p.HD; d += 64u) qs[d] = q[qo + d];
  barrier();
  const uint last = p.pos0 + t;  // keys first ..= last
  const uint first = p.window > 0u && last + 1u > p.window ? last + 1u - p.window : 0u;
  float m = -3.0e38, l = 0.0;
  float acc[4] = float[4](0.0, 0.0, 0.0, 0.0);
  for (uint s0 = first; s0 <= last; s0 += 64u) {
    const uint s = s0 + tid;
    float sc = -3.0e38;
    if (s <= last) {
      const uint ko = p.k_off + (bs + s) * p.k_st + g * p.HD;
      float dot = 0.0;
      for (uint d = 0; d < p.HD; ++d) dot = fma(qs[d], kc[ko + d], dot);
      sc = dot * p.scale;
      if (p.softcap > 0.0) sc = p.softcap * tanh_safe(sc / p.softcap);
    }
    const float mc = reduce_max(sc, tid);
    const float mn = max(m, mc);
    const float pv = s <= last ? exp(sc - mn) : 0.0;
    const float sum = reduce_sum(pv, tid);
    const float alpha = exp(m - mn);
    l = l * alpha + sum;
    m = mn;
    ps[tid] = pv;
    barrier();
    const uint nk = min(64u, last + 1u - s0);
    for (uint i = 0; i < 4u; ++i) {
      const uint d = tid + 64u * i;
      if (d >= p.HD) break;
      float a = acc[i] * alpha;
      for (uint j = 0; j < nk; ++j) a = fma(ps[j], vc[p.v_off + (bs + s0 + j) * p.v_st + g * p.HD + d], a);
      acc[i] = a;
    }
  }
  const uint oo = p.o_off + (bt + t) * p.o_st + h * p.HD;
  for (uint i = 0; i < 4u; ++i) {
    const uint d = tid + 64u * i;
    if (d < p.HD) o[oo + d] = acc[i] / l;
  }
  if (tid == 0u && p.has_L != 0u) L[(bt + t) * p.NH + h] = m + log(l);
}
