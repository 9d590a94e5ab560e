// Quants to floats without int-to-float conversions (a quarter-rate instruction on NVIDIA), shared by the matvecs
// by words (matvec_dot.glsl) and staged (matvec_wide.glsl). Not a dequantizer: no scales, only the codes' values.
#ifndef QUANT_FLOAT_GLSL
#define QUANT_FLOAT_GLSL

// Quants to floats without a conversion instruction: a field of bits [s, s + n) with s + n <= 23, OR-ed into the
// bits of 2^(23 − s), reads as 2^(23 − s) + field; subtracting that power (and the format's offset) is exact.
// Exponent bits: 2^23 0x4b000000, 2^19 0x49000000, 2^15 0x47000000, 2^11 0x45000000, 2^7 0x43000000.
// Σ over the 8 nibbles of word q minus off: low nibbles of bytes 0..3 against lo, high nibbles against hi.
vec2 quant_nibbles(uint q, vec4 lo, vec4 hi, float off) {
  const uint r = q >> 12;
  const vec4 a = uintBitsToFloat(uvec4(q & 0xfu, q & 0xf00u, q & 0xf0000u, r & 0xf000u) |
                                 uvec4(0x4b000000u, 0x47000000u, 0x43000000u, 0x45000000u)) -
                 (vec4(8388608.0, 32768.0, 128.0, 2048.0) + off);
  const vec4 b = uintBitsToFloat(uvec4(q & 0xf0u, q & 0xf000u, r & 0xf00u, r & 0xf0000u) |
                                 uvec4(0x49000000u, 0x45000000u, 0x47000000u, 0x43000000u)) -
                 (vec4(524288.0, 2048.0, 32768.0, 128.0) + off);
  return vec2(dot(a, lo), dot(b, hi));
}
// The 4 bytes of q (each masked to `mask`, at most 8 bits) minus off, against v.
float quant_bytes(uint q, uint mask, float off, vec4 v) {
  const uint r = q >> 16, m8 = mask << 8;
  const vec4 a = uintBitsToFloat(uvec4(q & mask, q & m8, r & mask, r & m8) |
                                 uvec4(0x4b000000u, 0x47000000u, 0x4b000000u, 0x47000000u)) -
                 (vec4(8388608.0, 32768.0, 8388608.0, 32768.0) + off);
  return dot(a, v);
}

#endif
