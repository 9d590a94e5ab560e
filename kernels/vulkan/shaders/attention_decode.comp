// Attention of one decoded token over the KV cache, position from the step buffer (keys 0 ..= pos): one
// workgroup of 256 threads per head; keys in chunks of 256 (one score per thread, q·k as vec4s), an online
// softmax across chunks, and p·V with HD threads per key group reading V rows whole (256 / HD keys at a time).
// Not for prompts (attention.comp: many query rows, L for the backward), not for windows or soft-caps (the fused
// decode step is the plain Llama block's); HD a multiple of 4 up to 256.
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer OBuf { float o[]; };
layout(std430, binding = 1) readonly buffer QBuf { float q[]; };
layout(std430, binding = 2) readonly buffer KBuf { vec4 k4[]; };
layout(std430, binding = 3) readonly buffer VBuf { float vc[]; };
layout(std430, binding = 4) readonly buffer SBuf { uint st[]; };
layout(push_constant) uniform P {
  uint NH, KVH, HD;
  uint kv_st, k_off, v_off;  // key/value row s of group g at (k|v)_off + s*kv_st + g*HD (elements)
  uint q_off, o_off;         // head h at q_off + h*HD, o_off + h*HD
  float scale;
} p;
#include "reduce.glsl"

shared vec4 qs[64];
shared float ps[256];
shared float part[256];

void main() {
  const uint h = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
  const uint g = h / (p.NH / p.KVH), HD4 = p.HD / 4u, S = st[0] + 1u;
  const uint qo = p.q_off + h * p.HD;
  if (t < HD4) qs[t] = vec4(q[qo + 4u * t], q[qo + 4u * t + 1u], q[qo + 4u * t + 2u], q[qo + 4u * t + 3u]) * p.scale;
  barrier();
  const uint groups = 256u / p.HD, grp = t / p.HD, d = t % p.HD;
  float m = -3.0e38, l = 0.0, acc = 0.0;
  for (uint s0 = 0u; s0 < S; s0 += 256u) {
    const uint s = s0 + t;
    float sc = -3.0e38;
    if (s < S) {
      const uint ko = (p.k_off + s * p.kv_st + g * p.HD) >> 2;
      vec4 a = vec4(0.0);
      for (uint i = 0u; i < HD4; ++i) a = fma(qs[i], k4[ko + i], a);
      sc = a.x + a.y + a.z + a.w;
    }
    const float mn = max(m, wg_max(sc));
    const float pv = s < S ? exp(sc - mn) : 0.0;
    const float alpha = exp(m - mn);
    l = l * alpha + wg_sum(pv);
    m = mn;
    ps[t] = pv;
    barrier();
    const uint nk = min(256u, S - s0), vo = p.v_off + s0 * p.kv_st + g * p.HD + d;
    float a = acc * alpha;
    if (grp < groups)  // HD not dividing 256: the last threads idle here
      for (uint j = grp; j < nk; j += groups) a = fma(ps[j], vc[vo + j * p.kv_st], a);
    acc = a;
    barrier();  // ps is rewritten by the next chunk
  }
  part[t] = acc;
  barrier();
  if (t < p.HD) {
    float sum = 0.0;
    for (uint i = 0u; i < groups; ++i) sum += part[i * p.HD + t];
    o[p.o_off + h * p.HD + t] = sum / l;
  }
}
