// SwiGLU backward, y = silu(g)·u: dg += dy·u·σ(g)·(1 + g·(1 − σ(g))), du += dy·silu(g). Not the forward
// (elementwise.comp op 4).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer DgBuf { float dg[]; };
layout(std430, binding = 1) buffer DuBuf { float du[]; };
layout(std430, binding = 2) readonly buffer DyBuf { float dy[]; };
layout(std430, binding = 3) readonly buffer GBuf { float g[]; };
layout(std430, binding = 4) readonly buffer UBuf { float u[]; };
layout(push_constant) uniform P { uint n; } p;
void main() {
  const uint i = gl_GlobalInvocationID.x + gl_NumWorkGroups.x * 256u * gl_GlobalInvocationID.y;
  if (i >= p.n) return;
  const float x = g[i], sg = 1.0 / (1.0 + exp(-x));
  dg[i] += dy[i] * u[i] * sg * (1.0 + x * (1.0 - sg));
  du[i] += dy[i] * x * sg;
}
