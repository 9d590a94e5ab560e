// Weight element loaders by WTYPE (a DType id: 0 f32, 1 f16, 2 q4_0, 6 q5_0, 7 q5_1, 8 q8_0, 10 q2_k, 11 q3_k,
// 12 q4_k, 14 q6_k, 1000 gint),
// reading the raw GGUF bytes from the uint buffer `wb`. Not a quantizer; one element at a time, no caching.
// The including shader declares `wb` (uint words), and w_row(n) (byte or element offset of row n).

uint byte_at(uint o) { return (wb[o >> 2] >> ((o & 3u) * 8u)) & 0xffu; }
// 16-bit fields of these formats always sit at even byte offsets, so they never straddle a word.
uint u16_at(uint o) { return (wb[o >> 2] >> ((o & 2u) * 8u)) & 0xffffu; }
float f16_at(uint o) { return unpackHalf2x16(u16_at(o)).x; }
int i8_at(uint o) { return int(byte_at(o) << 24) >> 24; }
// The 32-bit word of the block bytes starting at byte b (b even: the blocks' payloads are 2-byte aligned).
uint word_at(uint b) {
  const uint w = b >> 2;
  return (b & 3u) == 0u ? wb[w] : (wb[w] >> 16) | (wb[w + 1u] << 16);
}

// Element k of the weight row whose data begins at r (f32/f16: element offset; quantized: byte offset).
float load_w(uint r, uint k) {
#if WTYPE == 0
  return uintBitsToFloat(wb[r + k]);
#elif WTYPE == 1
  return f16_at(2u * (r + k));
#elif WTYPE == 2
  // Q4_0: 18-byte blocks of 32: f16 d, 16 bytes; element j low nibble of byte j (j < 16), high of byte j-16.
  const uint o = r + (k >> 5) * 18u, j = k & 31u;
  const uint q = (byte_at(o + 2u + (j & 15u)) >> (j < 16u ? 0u : 4u)) & 15u;
  return f16_at(o) * (float(q) - 8.0);
#elif WTYPE == 6 || WTYPE == 7
  // Q5_0: 22-byte blocks of 32: f16 d, 4 bytes qh (bit j: element j's fifth bit), 16 bytes of nibbles as Q4_0;
  // w = d·(q − 16). Q5_1: 24 bytes, f16 d and f16 m first; w = d·q + m.
  const uint bs = WTYPE == 6 ? 22u : 24u, qh_at = WTYPE == 6 ? 2u : 4u;
  const uint o = r + (k >> 5) * bs, j = k & 31u;
  const uint q = ((byte_at(o + qh_at + 4u + (j & 15u)) >> (j < 16u ? 0u : 4u)) & 15u) |
                 (((byte_at(o + qh_at + (j >> 3)) >> (j & 7u)) & 1u) << 4);
#if WTYPE == 6
  return f16_at(o) * (float(q) - 16.0);
#else
  return f16_at(o) * float(q) + f16_at(o + 2u);
#endif
#elif WTYPE == 10
  // Q2_K: 84-byte super-blocks of 256: scales[16] (low nibble scale, high nibble min, per 16), qs[64] (2 bits),
  // f16 d, f16 dmin; w = d·sc·q − dmin·m.
  const uint o = r + (k >> 8) * 84u, e = k & 255u;
  const uint q = (byte_at(o + 16u + (e >> 7) * 32u + (e & 31u)) >> (2u * ((e & 127u) >> 5))) & 3u;
  const uint s = byte_at(o + (e >> 4));
  return f16_at(o + 80u) * float(s & 15u) * float(q) - f16_at(o + 82u) * float(s >> 4);
#elif WTYPE == 11
  // Q3_K: 110-byte super-blocks of 256: hmask[32], qs[64] (2 low bits), scales[12] (16 6-bit codes biased by 32),
  // f16 d; w = d·(sc − 32)·(q − (high bit ? 0 : 4)).
  const uint o = r + (k >> 8) * 110u, e = k & 255u, j = e >> 4;
  const uint lo = (byte_at(o + 32u + (e >> 7) * 32u + (e & 31u)) >> (2u * ((e & 127u) >> 5))) & 3u;
  const uint hi = (byte_at(o + (e & 31u)) >> (e >> 5)) & 1u;
  const uint sl = j < 8u ? byte_at(o + 96u + j) & 15u : byte_at(o + 96u + j - 8u) >> 4;
  const uint sc = sl | (((byte_at(o + 104u + (j & 3u)) >> (2u * (j >> 2))) & 3u) << 4);
  return f16_at(o + 108u) * float(int(sc) - 32) * float(int(lo) - (hi != 0u ? 0 : 4));
#elif WTYPE == 8
  // Q8_0: 34-byte blocks of 32: f16 d, 32 int8.
  const uint o = r + (k >> 5) * 34u;
  return f16_at(o) * float(i8_at(o + 2u + (k & 31u)));
#elif WTYPE == 12
  // Q4_K: 144-byte super-blocks of 256: f16 d, f16 dmin, 12 bytes of 6-bit (scale, min) x 8, 128 bytes of nibbles.
  const uint o = r + (k >> 8) * 144u, e = k & 255u, j = e >> 5, l = e & 31u;
  const uint s = o + 4u;
  uint sc, m;
  if (j < 4u) {
    sc = byte_at(s + j) & 63u;
    m = byte_at(s + j + 4u) & 63u;
  } else {
    sc = (byte_at(s + j + 4u) & 15u) | ((byte_at(s + j - 4u) >> 6) << 4);
    m = (byte_at(s + j + 4u) >> 4) | ((byte_at(s + j) >> 6) << 4);
  }
  const uint q = (byte_at(o + 16u + 32u * (j >> 1) + l) >> (4u * (j & 1u))) & 15u;
  return f16_at(o) * float(sc) * float(q) - f16_at(o + 2u) * float(m);
#elif WTYPE == 14
  // Q6_K: 210-byte super-blocks of 256: ql[128], qh[64], int8 scales[16], f16 d.
  const uint o = r + (k >> 8) * 210u, e = k & 255u;
  const uint h = e >> 7, rr = e & 127u, l = rr & 31u, quarter = rr >> 5;
  const uint lo = (byte_at(o + 64u * h + 32u * (quarter & 1u) + l) >> (4u * (quarter >> 1))) & 15u;
  const uint hi = (byte_at(o + 128u + 32u * h + l) >> (2u * quarter)) & 3u;
  return f16_at(o + 208u) * float(i8_at(o + 192u + (e >> 4))) * float(int(lo | (hi << 4)) - 32);
#elif WTYPE == 1000
  // GINT: [codes K*bits/8][scales K/G f16][zeros K/G f16]; w = scale * (q - zero).
  const uint bits = p.gint_bits, G = p.gint_group;
  const uint bit = k * bits;
  const uint lo = byte_at(r + (bit >> 3));
  const uint hi = ((bit & 7u) + bits > 8u) ? byte_at(r + (bit >> 3) + 1u) : 0u;
  const uint q = ((lo | (hi << 8)) >> (bit & 7u)) & ((1u << bits) - 1u);
  const uint RK = p.b_trans == 0u ? p.K : p.N;  // the row length of W
  const uint sb = r + (RK * bits) / 8u, g = k / G;
  return f16_at(sb + 2u * g) * (float(q) - f16_at(sb + 2u * (RK / G) + 2u * g));
#else
#error unknown WTYPE
#endif
}
