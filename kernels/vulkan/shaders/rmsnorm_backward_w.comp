// RMSNorm backward, dw part: dw_i += Σ_rows dy_i · x_i · rstd; one thread per column.
// Not the dx part (rmsnorm_backward.comp).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer DwBuf { float dw[]; };
layout(std430, binding = 1) readonly buffer DyBuf { float dy[]; };
layout(std430, binding = 2) readonly buffer XBuf { float x[]; };
layout(std430, binding = 3) readonly buffer RBuf { float rstd[]; };
layout(push_constant) uniform P { uint rows, C; } p;
void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.C) return;
  float s = 0.0;
  for (uint r = 0; r < p.rows; ++r) s += dy[r * p.C + i] * x[r * p.C + i] * rstd[r];
  dw[i] += s;
}
