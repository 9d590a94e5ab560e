// Memory-bandwidth probe (STREAM triad): a = b + s·c over n vec4s. Not used by models; tools/bench-vulkan.sh.
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) writeonly buffer ABuf { vec4 a[]; };
layout(std430, binding = 1) readonly buffer BBuf { vec4 b[]; };
layout(std430, binding = 2) readonly buffer CBuf { vec4 c[]; };
layout(push_constant) uniform P { uint n; float s; } p;
void main() {
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += gl_NumWorkGroups.x * 256u) a[i] = b[i] + p.s * c[i];
}
