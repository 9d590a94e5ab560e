// Two rows' dot products for the matvec shaders: Σ_k W(r0, k)·x(k) and Σ_k W(r1, k)·x(k) over p.K by `lanes`
// threads (32: a warp; more split K further), which load each piece of x once for both rows. Q4_0 and Q8_0 go 4 lanes per block of 32,
// each lane one 32-bit word of quants (8 elements) against x as vec4s, 8 neighbouring blocks per step: the
// weights, the scales and x are all read in whole lines (as llama.cpp's mul_mat_vec does); the other types one
// element per lane through load_w (dequant.glsl), x coalesced. Not a reduction across lanes: the including
// shader sums the partials of the `lanes` threads. It declares x4 (vec4 view of x) and defines XNORM4(v, k) / XNORM1(v, k) (x
// elements k..k+3 (k a multiple of 4) / element k as the dot product takes them: times the norm weight, or as
// they are) and SQ(v) (what to add to ss for them: Σ v² for a fused RMSNorm, the 32 lanes seeing every
// element once; or 0.0).
// MV_DEEP (Q4_0 and Q8_0 variants *_deep): the words path with several steps' loads in flight (row_dot2).
// MV_BLOCKS (Q4_0 and Q8_0 variants *_blocks): a lane per block instead, reading the block's bytes as the 5 (Q4_0)
// or 9 (Q8_0) whole words that cover them, two rows' worth in flight per lane (40 or 72 bytes, not 8 or 12).

#include "quant_float.glsl"

// x elements i .. i+3 (any alignment).
vec4 x4_at(uint i) {
  if ((i & 3u) == 0u) return x4[i >> 2];
  return vec4(x4[i >> 2][i & 3u], x4[(i + 1u) >> 2][(i + 1u) & 3u], x4[(i + 2u) >> 2][(i + 2u) & 3u],
              x4[(i + 3u) >> 2][(i + 3u) & 3u]);
}
float x_at(uint i) { return x4[i >> 2][i & 3u]; }

// Q4_0 word q holds bytes j..j+3 of a block: elements j..j+3 (low nibbles) and j+16..j+19 (high); w = d·(q − 8).
float q4_0_dot(uint q, vec4 lo, vec4 hi) {
  const vec2 s = quant_nibbles(q, lo, hi, 8.0);
  return s.x + s.y;
}
// Q8_0 word q: 4 int8 quants, each read as its byte XOR 0x80 (an unsigned 0..255) minus 128.
float q8_0_dot(uint q, vec4 v) { return quant_bytes(q ^ 0x80808080u, 0xffu, 128.0, v); }

#if MV_BLOCKS
// The block at byte o (even) against its 32 x values xs (already normed): the words covering [o, o + size) are
// loaded whole; the scale is their first or second half-word, the quants start 2 bytes in (a word boundary when o
// is 2 mod 4, else straddling two words).
#if WTYPE == 2  // 18-byte blocks: 5 covering words, 4 quant words (low nibbles elements 4i.., high 16+4i..)
#define MV_BLOCK_WORDS 5u
#define MV_QUANT_WORDS 4u
#define MV_QDOT(q, i) q4_0_dot(q, xs[i], xs[i + 4u])
#else  // Q8_0, 34-byte blocks: 9 covering words, 8 quant words
#define MV_BLOCK_WORDS 9u
#define MV_QUANT_WORDS 8u
#define MV_QDOT(q, i) q8_0_dot(q, xs[i])
#endif
float block_dot(uint o, vec4 xs[8]) {
  const uint w = o >> 2;
  const bool al = (o & 2u) == 0u;
  uint v[MV_BLOCK_WORDS];
  for (uint i = 0u; i < MV_BLOCK_WORDS; ++i) v[i] = wb[w + i];
  float acc = 0.0;
  for (uint i = 0u; i < MV_QUANT_WORDS; ++i) acc += MV_QDOT(al ? (v[i] >> 16) | (v[i + 1u] << 16) : v[i + 1u], i);
  return unpackHalf2x16(al ? v[0] : v[0] >> 16).x * acc;
}
#endif

#if !MV_BLOCKS && (WTYPE == 2 || WTYPE == 8)
// The words path's step for block b of both rows (bytes r0 + b·bs, r1 + b·bs), from the words already loaded: the
// lane's quant words (Q8_0: two each) and the scales' half-words.
#if WTYPE == 2
#define MV_BS 18u
#else
#define MV_BS 34u
#endif
void words_step(uint xo, uint b, uint sub, uint q0, uint q0b, uint q1, uint q1b, uint h0, uint h1, inout vec2 s,
                inout float ss) {
#if WTYPE == 2
  // Q4_0: 18 bytes per 32: f16 d, 16 bytes of nibbles; this lane's word is bytes 4·sub .. 4·sub+3.
  const uint k = b * 32u + 4u * sub;
  const vec4 lo = x4_at(xo + k), hi = x4_at(xo + k + 16u);
  ss += SQ(lo) + SQ(hi);
  const vec4 lon = XNORM4(lo, k), hin = XNORM4(hi, k + 16u);
  s.x = fma(unpackHalf2x16(h0).x, q4_0_dot(q0, lon, hin), s.x);
  s.y = fma(unpackHalf2x16(h1).x, q4_0_dot(q1, lon, hin), s.y);
#else
  // Q8_0: 34 bytes per 32: f16 d, 32 int8; this lane's are elements 8·sub .. 8·sub+7.
  const uint k = b * 32u + 8u * sub;
  const vec4 a = x4_at(xo + k), c = x4_at(xo + k + 4u);
  ss += SQ(a) + SQ(c);
  const vec4 an = XNORM4(a, k), cn = XNORM4(c, k + 4u);
  s.x = fma(unpackHalf2x16(h0).x, q8_0_dot(q0, an) + q8_0_dot(q0b, cn), s.x);
  s.y = fma(unpackHalf2x16(h1).x, q8_0_dot(q1, an) + q8_0_dot(q1b, cn), s.y);
#endif
}
// The lane's words of block b at byte o (one row): quant words q, qb (Q8_0's second) and the scale's half-word h.
void words_load(uint o, uint sub, out uint q, out uint qb, out uint h) {
  h = u16_at(o);
#if WTYPE == 2
  q = word_at(o + 2u + 4u * sub), qb = 0u;
#else
  q = word_at(o + 2u + 8u * sub), qb = word_at(o + 6u + 8u * sub);
#endif
}
#endif

vec2 row_dot2(uint r0, uint r1, uint xo, uint lane, uint lanes, inout float ss) {
  vec2 s = vec2(0.0);
#if MV_BLOCKS && (WTYPE == 2 || WTYPE == 8)
  const uint bs = WTYPE == 2 ? 18u : 34u;
  for (uint b = lane; b < (p.K >> 5); b += lanes) {
    const uint k = b * 32u;
    vec4 xs[8];
    for (uint i = 0u; i < 8u; ++i) {
      const vec4 v = x4_at(xo + k + 4u * i);
      ss += SQ(v);
      xs[i] = XNORM4(v, k + 4u * i);
    }
    s.x += block_dot(r0 + b * bs, xs);
    s.y += block_dot(r1 + b * bs, xs);
  }
#elif WTYPE == 2 || WTYPE == 8
  const uint sub = lane & 3u, step = lanes >> 2, nb = p.K >> 5;
  uint b = lane >> 2;
#if MV_DEEP > 1
  // MV_DEEP (the *_deep variants): MV_DEEP steps' words of both rows loaded before any is used, so a lane keeps
  // MV_DEEP times the bytes in flight (decode is bound by how much the GPU has in flight, not by the arithmetic).
  // Steps past the row's end load and add nothing, so the last group overlaps as the others do.
  for (; b < nb; b += MV_DEEP * step) {
    uint q0[MV_DEEP], q0b[MV_DEEP], q1[MV_DEEP], q1b[MV_DEEP], h0[MV_DEEP], h1[MV_DEEP];
    for (uint u = 0u; u < MV_DEEP; ++u) {
      q0[u] = q0b[u] = q1[u] = q1b[u] = h0[u] = h1[u] = 0u;
      if (b + u * step < nb) {
        words_load(r0 + (b + u * step) * MV_BS, sub, q0[u], q0b[u], h0[u]);
        words_load(r1 + (b + u * step) * MV_BS, sub, q1[u], q1b[u], h1[u]);
      }
    }
    for (uint u = 0u; u < MV_DEEP; ++u)
      if (b + u * step < nb) words_step(xo, b + u * step, sub, q0[u], q0b[u], q1[u], q1b[u], h0[u], h1[u], s, ss);
  }
#endif
  for (; b < nb; b += step) {
    uint q0, q0b, q1, q1b, h0, h1;
    words_load(r0 + b * MV_BS, sub, q0, q0b, h0);
    words_load(r1 + b * MV_BS, sub, q1, q1b, h1);
    words_step(xo, b, sub, q0, q0b, q1, q1b, h0, h1, s, ss);
  }
#else
  for (uint k = lane; k < p.K; k += lanes) {
    const float v = x_at(xo + k);
    ss += SQ(vec4(v, 0.0, 0.0, 0.0));
    const float vn = XNORM1(v, k);
    s.x = fma(load_w(r0, k), vn, s.x);
    s.y = fma(load_w(r1, k), vn, s.y);
  }
#endif
  return s;
}
