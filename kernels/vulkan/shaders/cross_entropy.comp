// Cross-entropy of logit rows against targets, and its gradient in place, one workgroup per row:
// loss = lse(z) − z[y];  z ← (softmax(z) − onehot(y))·scale. A masked row (y < 0): loss 0, z ← 0.
// Not chunked over rows (the caller bounds rows·V) and not fused with the head's GEMM.
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer ZBuf { float z[]; };             // (rows, V) logits in, gradient out
layout(std430, binding = 1) readonly buffer YBuf { int tgt[]; };    // (rows)
layout(std430, binding = 2) buffer LBuf { float loss[]; };          // (rows)
layout(push_constant) uniform P { uint V; float scale; } p;
#include "reduce.glsl"
void main() {
  const uint r = gl_WorkGroupID.x, t = gl_LocalInvocationID.x, o = r * p.V;
  const int y = tgt[r];
  if (y < 0) {  // uniform over the workgroup: no barrier is skipped by part of it
    for (uint i = t; i < p.V; i += 256u) z[o + i] = 0.0;
    if (t == 0u) loss[r] = 0.0;
    return;
  }
  float mx = -3.402823466e38;
  for (uint i = t; i < p.V; i += 256u) mx = max(mx, z[o + i]);
  mx = wg_max(mx);
  float s = 0.0;
  for (uint i = t; i < p.V; i += 256u) s += exp(z[o + i] - mx);
  s = wg_sum(s);
  const float lse = mx + log(s), zy = z[o + uint(y)];
  barrier();  // every thread has read z[y] before any overwrites it
  if (t == 0u) loss[r] = lse - zy;
  for (uint i = t; i < p.V; i += 256u) z[o + i] = exp(z[o + i] - lse) * p.scale - (i == uint(y) ? p.scale : 0.0);
}
