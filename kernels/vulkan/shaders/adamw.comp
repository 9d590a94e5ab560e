// AdamW over n parameters, as kernels/ref/optim.h's adamw_f32 (the CPU trainer's): g scaled by the clip
// coefficient as it is read, decoupled decay, bias corrections folded into step_size and bc2_sqrt. Not SGD.
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer WBuf { float w[]; };
layout(std430, binding = 1) buffer MBuf { float m[]; };
layout(std430, binding = 2) buffer VBuf { float v[]; };
layout(std430, binding = 3) readonly buffer GBuf { float g[]; };
layout(push_constant) uniform P { uint n; float grad_scale, decay, b1, b2, one_m_b1, one_m_b2, step_size, bc2_sqrt, eps; } p;
void main() {
  const uint i = gl_GlobalInvocationID.x + gl_NumWorkGroups.x * 256u * gl_GlobalInvocationID.y;
  if (i >= p.n) return;
  const float gj = g[i] * p.grad_scale, wj = w[i] * p.decay;
  const float mj = p.b1 * m[i] + p.one_m_b1 * gj;
  const float vj = p.b2 * v[i] + p.one_m_b2 * gj * gj;
  m[i] = mj;
  v[i] = vj;
  w[i] = wj - p.step_size * mj / (sqrt(vj) / p.bc2_sqrt + p.eps);
}
