// One row's dot product for the matvec shaders: Σ_k W(r, k)·XIN(xo, k) over p.K by the 32 lanes of a row.
// Q4_0 and Q8_0 go a block of 32 per lane (its scale read once, its quants as whole words, neighbouring lanes on
// neighbouring blocks: coalesced); the other types one element per lane through load_w (dequant.glsl).
// Not a reduction across lanes: the including shader sums the 32 partials. It defines XIN(xo, k), x element k
// as the dot product takes it, and SQ(xo, k): what to add to ss for element k (the 32 lanes see every element
// of x once, so Σ ss over the lanes is Σ x² for a fused RMSNorm at no extra pass; 0.0 when unused).

// The 32-bit word of the block bytes starting at byte b (b even: the blocks' payloads are 2-byte aligned).
uint word_at(uint b) {
  const uint w = b >> 2;
  return (b & 3u) == 0u ? wb[w] : (wb[w] >> 16) | (wb[w + 1u] << 16);
}

float row_dot(uint r, uint xo, uint lane, inout float ss) {
  float s = 0.0;
#if WTYPE == 2
  // Q4_0: 18 bytes per 32: f16 d, then byte j holds element j (low nibble) and j + 16 (high); w = d·(q − 8).
  for (uint b = lane; b < (p.K >> 5); b += 32u) {
    const uint o = r + b * 18u, k0 = b * 32u;
    float a = 0.0;
    for (uint i = 0u; i < 4u; ++i) {
      const uint q = word_at(o + 2u + 4u * i);
      for (uint j = 0u; j < 4u; ++j) {
        const uint e = k0 + 4u * i + j, qb = (q >> (8u * j)) & 0xffu;
        a = fma(float(qb & 15u) - 8.0, XIN(xo, e), a);
        a = fma(float(qb >> 4) - 8.0, XIN(xo, e + 16u), a);
        ss += SQ(xo, e) + SQ(xo, e + 16u);
      }
    }
    s = fma(f16_at(o), a, s);
  }
#elif WTYPE == 8
  // Q8_0: 34 bytes per 32: f16 d, 32 int8; w = d·q.
  for (uint b = lane; b < (p.K >> 5); b += 32u) {
    const uint o = r + b * 34u, k0 = b * 32u;
    float a = 0.0;
    for (uint i = 0u; i < 8u; ++i) {
      const uint q = word_at(o + 2u + 4u * i);
      for (uint j = 0u; j < 4u; ++j) {
        a = fma(float(int(q << (24u - 8u * j)) >> 24), XIN(xo, k0 + 4u * i + j), a);
        ss += SQ(xo, k0 + 4u * i + j);
      }
    }
    s = fma(f16_at(o), a, s);
  }
#else
  for (uint k = lane; k < p.K; k += 32u) {
    s = fma(load_w(r, k), XIN(xo, k), s);
    ss += SQ(xo, k);
  }
#endif
  return s;
}
