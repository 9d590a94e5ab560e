// Embedding rows on the device: forward y (T, C) = table[ids[t]]; backward dtable[ids[t]] += dy[t], one invocation
// per column walking the tokens in order (repeated ids add without atomics). Not quantized tables (f32 only).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer YBuf { float y[]; };           // forward: y (T, C); backward: dtable (V, C)
layout(std430, binding = 1) readonly buffer XBuf { float x[]; };  // forward: table (V, C); backward: dy (T, C)
layout(std430, binding = 2) readonly buffer IBuf { int ids[]; };  // (T)
layout(push_constant) uniform P { uint T, C, backward; } p;
void main() {
  const uint i = gl_GlobalInvocationID.x + gl_NumWorkGroups.x * 256u * gl_GlobalInvocationID.y;
  if (p.backward == 0u) {
    if (i >= p.T * p.C) return;
    const uint t = i / p.C, c = i % p.C;
    y[i] = x[uint(ids[t]) * p.C + c];
  } else {
    if (i >= p.C) return;
    for (uint t = 0u; t < p.T; ++t) y[uint(ids[t]) * p.C + i] += x[t * p.C + i];
  }
}
