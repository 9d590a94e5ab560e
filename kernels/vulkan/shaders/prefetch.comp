// Pulls a range of a weight buffer into the GPU's L2 for the decode step (EDGELLM_VULKAN_PREFETCH): recorded right
// behind the previous dispatch with no barrier between them (it reads only weights, which nothing in the step
// writes), it runs beside that dispatch, so the next matvec finds its weights in L2 instead of DRAM, and memory is
// read through the previous dispatch's ramp and tail. 16-byte loads, 4 per thread in flight; their words are XOR-ed
// into a value written only when `never` is non-zero (the host passes 0), so the loads cannot be dropped as dead
// code. Nothing is written. Not a copy and not a cache-control instruction (Vulkan has none).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer WBuf { uvec4 w4[]; };
layout(std430, binding = 1) writeonly buffer SBuf { uint sink[]; };  // never written (see above)
layout(push_constant) uniform P {
  uint first, count;  // the range in 16-byte units
  uint never;         // 0
} p;

void main() {
  const uint stride = gl_NumWorkGroups.x * 256u;
  uint acc = 0u;
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += 4u * stride) {
    uvec4 v = w4[p.first + i];
    if (i + stride < p.count) v ^= w4[p.first + i + stride];
    if (i + 2u * stride < p.count) v ^= w4[p.first + i + 2u * stride];
    if (i + 3u * stride < p.count) v ^= w4[p.first + i + 3u * stride];
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (p.never != 0u) sink[gl_GlobalInvocationID.x] = acc;
}
