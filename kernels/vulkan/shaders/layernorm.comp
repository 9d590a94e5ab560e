// LayerNorm forward over rows (GPT-2's): y = (x − mean)·rstd·w + b, rstd = (mean((x − mean)²) + eps)^(−½), the
// two-pass variance as kernels/ref/norm.h (its CPU twin). One workgroup per row; in place allowed. Not the backward.
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer YBuf { float y[]; };
layout(std430, binding = 1) buffer RBuf { float rstd[]; };
layout(std430, binding = 2) readonly buffer XBuf { float x[]; };
layout(std430, binding = 3) readonly buffer WBuf { float w[]; };
layout(std430, binding = 4) readonly buffer BBuf { float bias[]; };
layout(push_constant) uniform P { uint rows, C, y_off, x_off, has_rstd; float eps; } p;
#include "reduce.glsl"
void main() {
  const uint r = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
  const uint xo = p.x_off + r * p.C, yo = p.y_off + r * p.C;
  float s = 0.0;
  for (uint i = t; i < p.C; i += 256u) s += x[xo + i];
  const float mean = wg_sum(s) / float(p.C);
  float ss = 0.0;
  for (uint i = t; i < p.C; i += 256u) ss += (x[xo + i] - mean) * (x[xo + i] - mean);
  const float rs = 1.0 / sqrt(wg_sum(ss) / float(p.C) + p.eps);
  if (t == 0u && p.has_rstd != 0u) rstd[r] = rs;
  for (uint i = t; i < p.C; i += 256u) y[yo + i] = (x[xo + i] - mean) * rs * w[i] + bias[i];
}
