// RMSNorm backward, dx part: dx_j += r·w_j·dy_j − (r³/C)·x_j·Σ_i dy_i·w_i·x_i; one workgroup per row.
// Not the dw part (rmsnorm_backward_w.comp sums over rows, one thread per column, without atomics).
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer DxBuf { float dx[]; };
layout(std430, binding = 1) readonly buffer DyBuf { float dy[]; };
layout(std430, binding = 2) readonly buffer XBuf { float x[]; };
layout(std430, binding = 3) readonly buffer WBuf { float w[]; };
layout(std430, binding = 4) readonly buffer RBuf { float rstd[]; };
layout(push_constant) uniform P { uint rows, C; } p;
#include "reduce.glsl"
void main() {
  const uint r = gl_WorkGroupID.x, t = gl_LocalInvocationID.x, o = r * p.C;
  float dot = 0.0;
  for (uint i = t; i < p.C; i += 256u) dot += dy[o + i] * w[i] * x[o + i];
  dot = wg_sum(dot);
  const float rs = rstd[r], k = rs * rs * rs * dot / float(p.C);
  for (uint i = t; i < p.C; i += 256u) dx[o + i] += rs * w[i] * dy[o + i] - k * x[o + i];
}
