// tanh-GELU over n floats at element offsets: glu 0 y = gelu(a) (GPT-2's MLP), glu 1 y = gelu(a)·b (Gemma's
// GeGLU); gelu(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))), as kernels/ref/elementwise.h (its CPU twin). Not the backward.
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer YBuf { float y[]; };
layout(std430, binding = 1) buffer ABuf { float a[]; };
layout(std430, binding = 2) buffer BBuf { float b[]; };
layout(push_constant) uniform P { uint n, glu, y_off, a_off, b_off; } p;
#include "tanh.glsl"
void main() {
  const uint i = gl_GlobalInvocationID.x + gl_NumWorkGroups.x * 256u * gl_GlobalInvocationID.y;
  if (i >= p.n) return;
  const float x = a[p.a_off + i];
  const float g = 0.5 * x * (1.0 + tanh_safe(0.7978845608028654 * (x + 0.044715 * x * x * x)));
  y[p.y_off + i] = p.glu != 0u ? g * b[p.b_off + i] : g;
}
