// Partial sums of squares: workgroup g writes Σ x² over its 4096 elements of x[0..n) to out[off + g]; the host
// adds the partials in double (the gradient norm for clipping). Not a full reduction on the device.
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer OBuf { float o[]; };
layout(std430, binding = 1) readonly buffer XBuf { float x[]; };
layout(push_constant) uniform P { uint n, off; } p;
#include "reduce.glsl"
void main() {
  const uint g = gl_WorkGroupID.x, t = gl_LocalInvocationID.x, base = g * 4096u;
  float s = 0.0;
  for (uint i = base + t; i < min(base + 4096u, p.n); i += 256u) s += x[i] * x[i];
  s = wg_sum(s);
  if (t == 0u) o[p.off + g] = s;
}
