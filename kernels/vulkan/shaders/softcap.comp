// Soft-capping over n floats at an element offset, in place allowed: y = cap·tanh(x / cap) (Gemma 2's final
// logits), as kernels/ref/elementwise.h softcap_forward (its CPU twin). Not the attention's (attention.comp caps its scores).
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer YBuf { float y[]; };
layout(std430, binding = 1) buffer XBuf { float x[]; };
layout(push_constant) uniform P { uint n, y_off, x_off; float cap; } p;
#include "tanh.glsl"
void main() {
  const uint i = gl_GlobalInvocationID.x + gl_NumWorkGroups.x * 256u * gl_GlobalInvocationID.y;
  if (i >= p.n) return;
  y[p.y_off + i] = p.cap * tanh_safe(x[p.x_off + i] / p.cap);
}
