// Elementwise ops over n floats at element offsets: op 0 y = a + b, 1 y = a * b, 2 y = s * a, 3 y += s * a,
// 4 swiglu y = silu(a) · b, 5 fill y = s (a unread: zeroes gradients without a host upload).
// Not broadcasting: all operands have n elements (swiglu_backward.comp is separate).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer YBuf { float y[]; };
layout(std430, binding = 1) buffer ABuf { float a[]; };
layout(std430, binding = 2) buffer BBuf { float b[]; };
layout(push_constant) uniform P { uint n, op, y_off, a_off, b_off; float s; } p;
void main() {
  const uint i = gl_GlobalInvocationID.x + gl_NumWorkGroups.x * 256u * gl_GlobalInvocationID.y;
  if (i >= p.n) return;
  const uint yi = p.y_off + i, ai = p.a_off + i, bi = p.b_off + i;
  if (p.op == 0u) y[yi] = a[ai] + b[bi];
  else if (p.op == 1u) y[yi] = a[ai] * b[bi];
  else if (p.op == 2u) y[yi] = p.s * a[ai];
  else if (p.op == 3u) y[yi] += p.s * a[ai];
  else if (p.op == 5u) y[yi] = p.s;
  else if (p.op == 4u) {
    const float g = a[ai];
    y[yi] = g / (1.0 + exp(-g)) * b[bi];
  }
}
