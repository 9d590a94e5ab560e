// The end of a split-K GEMM (gemm_tiled.comp): C (M, N) = alpha · Σ_z part[z] + beta · C, the slices added in
// order z = 0, 1, ... (the same sum on every run). Not the GEMM itself.
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer PBuf { float part[]; };  // (S, M, N)
layout(std430, binding = 1) buffer CBuf { float c[]; };
layout(push_constant) uniform P {
  uint M, N, S;
  uint c_off, ldc;
  float alpha, beta;  // beta == 0 never reads C
} p;

void main() {
  const uint i = gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * 256u) + gl_GlobalInvocationID.x;
  const uint MN = p.M * p.N;
  if (i >= MN) return;
  float s = 0.0;
  for (uint z = 0; z < p.S; ++z) s += part[z * MN + i];
  const uint ci = p.c_off + i / p.N * p.ldc + i % p.N;
  c[ci] = p.alpha * s + (p.beta != 0.0 ? p.beta * c[ci] : 0.0);
}
