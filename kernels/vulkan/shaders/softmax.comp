// Softmax over rows (rows, C), max-subtracted; one workgroup per row. Not masked (attention.comp masks itself).
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer YBuf { float y[]; };
layout(std430, binding = 1) readonly buffer XBuf { float x[]; };
layout(push_constant) uniform P { uint rows, C; } p;
#include "reduce.glsl"
void main() {
  const uint r = gl_WorkGroupID.x, t = gl_LocalInvocationID.x, o = r * p.C;
  float m = -3.0e38;
  for (uint i = t; i < p.C; i += 256u) m = max(m, x[o + i]);
  m = wg_max(m);
  float s = 0.0;
  for (uint i = t; i < p.C; i += 256u) s += exp(x[o + i] - m);
  s = wg_sum(s);
  for (uint i = t; i < p.C; i += 256u) y[o + i] = exp(x[o + i] - m) / s;
}
