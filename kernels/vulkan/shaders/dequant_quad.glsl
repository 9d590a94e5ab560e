// Four consecutive weight elements k .. k+3 of a row (k a multiple of 4) for the tiled GEMM's dequantizing loads
// (gemm_tiled.comp with WTYPE), in two steps: fetch_w4 issues the loads and keeps the raw words (a uvec4) while
// the tile before is multiplied; decode_w4 does the arithmetic when the quad is stored to shared memory.
// Same formats and formulas as load_w (dequant.glsl, included first); GINT takes load_w element by element.
// Not a quantizer and not the matvec's loads (matvec_dot.glsl).

uvec4 bytes4(uint w) { return uvec4(w, w >> 8, w >> 16, w >> 24) & 0xffu; }

uvec4 fetch_w4(uint r, uint k) {
#if WTYPE == 0
  return uvec4(wb[r + k], wb[r + k + 1u], wb[r + k + 2u], wb[r + k + 3u]);
#elif WTYPE == 1
  return uvec4(word_at(2u * (r + k)), word_at(2u * (r + k) + 4u), 0u, 0u);
#elif WTYPE == 2
  // Q4_0: bytes j .. j+3 of the nibbles (j = k mod 16), low nibbles for k mod 32 < 16, else high; f16 d.
  const uint o = r + (k >> 5) * 18u, j = k & 31u;
  return uvec4(word_at(o + 2u + (j & 15u)), u16_at(o), j < 16u ? 0u : 4u, 0u);
#elif WTYPE == 6 || WTYPE == 7
  // Q5_0 / Q5_1: the nibbles as Q4_0, qh shifted so that bits 0..3 are the quad's fifth bits; d (and m).
  const uint bs = WTYPE == 6 ? 22u : 24u, qh_at = WTYPE == 6 ? 2u : 4u;
  const uint o = r + (k >> 5) * bs, j = k & 31u;
  return uvec4(word_at(o + qh_at + 4u + (j & 15u)), word_at(o + qh_at) >> j, WTYPE == 6 ? u16_at(o) : word_at(o),
               j < 16u ? 0u : 4u);
#elif WTYPE == 8
  // Q8_0: 4 int8 quants and d.
  const uint o = r + (k >> 5) * 34u;
  return uvec4(word_at(o + 2u + (k & 31u)), u16_at(o), 0u, 0u);
#elif WTYPE == 10
  // Q2_K: the 2-bit quants' bytes with their shift, the (scale, min) byte of the 16, d | dmin << 16.
  const uint o = r + (k >> 8) * 84u, e = k & 255u;
  return uvec4(word_at(o + 16u + (e >> 7) * 32u + (e & 31u)), byte_at(o + (e >> 4)), word_at(o + 80u),
               2u * ((e & 127u) >> 5));
#elif WTYPE == 11
  // Q3_K: the low-bit bytes, the hmask bytes, the two scale bytes and j (the 16's index), d | shifts << 16.
  const uint o = r + (k >> 8) * 110u, e = k & 255u, j = e >> 4;
  return uvec4(word_at(o + 32u + (e >> 7) * 32u + (e & 31u)), word_at(o + (e & 31u)),
               byte_at(o + 96u + (j & 7u)) | (byte_at(o + 104u + (j & 3u)) << 8) | (j << 16),
               u16_at(o + 108u) | ((2u * ((e & 127u) >> 5)) << 16) | ((e >> 5) << 24));
#elif WTYPE == 12
  // Q4_K: the nibbles' bytes, d | dmin << 16, the three scale bytes that (scale, min) of the 32 are built from, j.
  const uint o = r + (k >> 8) * 144u, e = k & 255u, j = e >> 5, l = e & 31u, s = o + 4u;
  return uvec4(word_at(o + 16u + 32u * (j >> 1) + l), word_at(o),
               byte_at(s + j) | (byte_at(s + j + 4u) << 8) | ((j < 4u ? 0u : byte_at(s + j - 4u)) << 16), j);
#elif WTYPE == 14
  // Q6_K: the ql bytes, the qh bytes, d | the int8 scale << 16, and the quarter (which nibble and 2-bit pair).
  const uint o = r + (k >> 8) * 210u, e = k & 255u;
  const uint h = e >> 7, rr = e & 127u, l = rr & 31u, quarter = rr >> 5;
  return uvec4(word_at(o + 64u * h + 32u * (quarter & 1u) + l), word_at(o + 128u + 32u * h + l),
               u16_at(o + 208u) | (byte_at(o + 192u + (e >> 4)) << 16), quarter);
#else
  return floatBitsToUint(vec4(load_w(r, k), load_w(r, k + 1u), load_w(r, k + 2u), load_w(r, k + 3u)));
#endif
}

vec4 decode_w4(uvec4 q) {
#if WTYPE == 0
  return uintBitsToFloat(q);
#elif WTYPE == 1
  return vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
#elif WTYPE == 2
  return unpackHalf2x16(q.y).x * (vec4((bytes4(q.x) >> q.z) & 15u) - 8.0);
#elif WTYPE == 6 || WTYPE == 7
  const uvec4 v = ((bytes4(q.x) >> q.w) & 15u) | (((uvec4(q.y) >> uvec4(0u, 1u, 2u, 3u)) & 1u) << 4);
#if WTYPE == 6
  return unpackHalf2x16(q.z).x * (vec4(v) - 16.0);
#else
  const vec2 dm = unpackHalf2x16(q.z);
  return dm.x * vec4(v) + dm.y;
#endif
#elif WTYPE == 8
  return unpackHalf2x16(q.y).x * vec4(ivec4(uvec4(q.x << 24, q.x << 16, q.x << 8, q.x)) >> 24);
#elif WTYPE == 10
  const vec2 dm = unpackHalf2x16(q.z);
  return dm.x * float(q.y & 15u) * vec4((bytes4(q.x) >> q.w) & 3u) - dm.y * float(q.y >> 4);
#elif WTYPE == 11
  const uint j = q.z >> 16;
  const uint sl = ((q.z & 0xffu) >> (4u * (j >> 3))) & 15u;
  const uint sc = sl | (((((q.z >> 8) & 0xffu) >> (2u * (j >> 2))) & 3u) << 4);
  const uvec4 lo = (bytes4(q.x) >> ((q.w >> 16) & 0xffu)) & 3u, hi = (bytes4(q.y) >> (q.w >> 24)) & 1u;
  return unpackHalf2x16(q.w & 0xffffu).x * float(int(sc) - 32) * vec4(ivec4(lo) - ivec4(4u * (1u - hi)));
#elif WTYPE == 12
  const uint j = q.w, a = q.z & 0xffu, b = (q.z >> 8) & 0xffu, c = q.z >> 16;
  const uint sc = j < 4u ? a & 63u : (b & 15u) | ((c >> 6) << 4);
  const uint m = j < 4u ? b & 63u : (b >> 4) | ((a >> 6) << 4);
  const vec2 dm = unpackHalf2x16(q.y);
  return dm.x * float(sc) * vec4((bytes4(q.x) >> (4u * (j & 1u))) & 15u) - dm.y * float(m);
#elif WTYPE == 14
  const uvec4 lo = (bytes4(q.x) >> (4u * (q.w >> 1))) & 15u, hi = (bytes4(q.y) >> (2u * q.w)) & 3u;
  return unpackHalf2x16(q.z & 0xffffu).x * float(int(q.z << 8) >> 24) * (vec4(lo | (hi << 4)) - 32.0);
#else
  return uintBitsToFloat(q);
#endif
}
