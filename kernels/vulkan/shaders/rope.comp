// RoPE on (T, NH, HD) rows at element offset/stride, in place allowed; pairing 0 interleaved (2i, 2i+1),
// 1 NeoX (i, i+HD/2). backward != 0: dx += Rᵀ·dy (the transpose rotation, accumulated). One thread per pair.
// D < HD (partial rotary, Phi-3): the first D dims of each head rotate as a head of D, the rest are untouched.
// Not the angle tables: cos/sin (T, D/2) come from the CPU (models/llama.h rope_tables). seqs sequences of T rows
// follow each other, each from the tables' first position (row r takes angles of position r mod T).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) buffer YBuf { float y[]; };
layout(std430, binding = 1) readonly buffer XBuf { float x[]; };
layout(std430, binding = 2) readonly buffer CBuf { float cs[]; };
layout(std430, binding = 3) readonly buffer SBuf { float sn[]; };
layout(push_constant) uniform P { uint T, NH, HD, pairing, backward, y_off, y_st, x_off, x_st, D, seqs; } p;
void main() {
  const uint half_ = p.D / 2u;
  const uint g = gl_GlobalInvocationID.x;
  if (g >= p.seqs * p.T * p.NH * half_) return;
  const uint i = g % half_, h = (g / half_) % p.NH, t = g / (half_ * p.NH), tp = t % p.T;
  const uint a = p.pairing == 0u ? 2u * i : i, b = p.pairing == 0u ? 2u * i + 1u : i + half_;
  const float c = cs[tp * half_ + i], s = sn[tp * half_ + i];
  const uint xo = p.x_off + t * p.x_st + h * p.HD, yo = p.y_off + t * p.y_st + h * p.HD;
  const float xa = x[xo + a], xb = x[xo + b];
  if (p.backward == 0u) {
    y[yo + a] = xa * c - xb * s;
    y[yo + b] = xa * s + xb * c;
  } else {
    y[yo + a] += xa * c + xb * s;
    y[yo + b] += -xa * s + xb * c;
  }
}
