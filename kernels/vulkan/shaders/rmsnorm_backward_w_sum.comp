// RMSNorm backward, dw part, second pass: dw_i += Σ over chunks of partial[chunk · C + i], chunks in order (the
// same sum every run). Not the first pass (rmsnorm_backward_w.comp).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer DwBuf { float dw[]; };
layout(std430, binding = 1) readonly buffer PBuf { float part[]; };
layout(push_constant) uniform P { uint chunks, C; } p;
void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.C) return;
  float s = 0.0;
  for (uint k = 0; k < p.chunks; ++k) s += part[k * p.C + i];
  dw[i] += s;
}
