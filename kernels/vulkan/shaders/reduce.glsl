// Workgroup sum / max over 256 threads through shared memory (portable: no subgroup features needed).
// Not for other workgroup sizes. Every thread of the workgroup must call these (they contain barriers).
shared float red_[256];
float wg_sum(float v) {
  const uint t = gl_LocalInvocationID.x;
  barrier();
  red_[t] = v;
  barrier();
  for (uint h = 128u; h > 0u; h >>= 1) {
    if (t < h) red_[t] += red_[t + h];
    barrier();
  }
  return red_[0];
}
float wg_max(float v) {
  const uint t = gl_LocalInvocationID.x;
  barrier();
  red_[t] = v;
  barrier();
  for (uint h = 128u; h > 0u; h >>= 1) {
    if (t < h) red_[t] = max(red_[t], red_[t + h]);
    barrier();
  }
  return red_[0];
}
