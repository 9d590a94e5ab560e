// The staged matvec (MV_WIDE: matvec_<t>_wide, matvec_fused[_norm]_<t>_wide) for Q4_0, Q8_0, Q4_K and Q6_K: a
// workgroup of 128 threads takes 4 row pairs (32 threads each) over K in chunks of 2048. Per chunk, each pair's
// threads copy its two rows' bytes into shared memory as 16-byte loads of the contiguous span (512 bytes per
// warp-wide load, whatever the block size or the row's alignment), and all threads copy the chunk of x (normed)
// into a padded shared array; the next chunk's loads are issued before this chunk is decoded. Each thread then
// decodes one 64-element unit of both rows from shared memory (a Q4_0/Q8_0 block pair, a quarter of a K-quant
// super-block) against x read once for both, quants turned to floats by placing them in a float's mantissa (no
// int-to-float conversions), and the pair's sums end in a butterfly of subgroup shuffles.
// Not the other weight types (matvec_dot.glsl) and not a GEMM: x is re-staged per workgroup, weights read once.
// Needs subgroup shuffles and 29 KiB of shared memory (kernels/vulkan/decode.cpp checks; else the `words` path).
// The including shader declares p (K), wb (uint[]) and wb4 (uvec4[], the same binding), x4, XNORM4/SQ, NORM.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_control_flow_attributes : require
#include "quant_float.glsl"
#ifndef NORM
#define NORM 0
#endif

#define MW_T 128u                     // threads per workgroup
#define MW_TP 32u                     // threads per row pair: one 64-element unit each per chunk
#define MW_PAIRS (MW_T / MW_TP)       // row pairs per workgroup
#define MW_KC (64u * MW_TP)           // elements of a row per chunk
#if WTYPE == 2
#define MW_QK 32u   // elements and bytes per block
#define MW_BB 18u
#elif WTYPE == 8
#define MW_QK 32u
#define MW_BB 34u
#elif WTYPE == 12
#define MW_QK 256u
#define MW_BB 144u
#elif WTYPE == 14
#define MW_QK 256u
#define MW_BB 210u
#else
#error MV_WIDE: Q4_0, Q8_0, Q4_K or Q6_K only
#endif
#define MW_RB (MW_KC / MW_QK * MW_BB)          // bytes of a row per chunk (a multiple of 16)
#define MW_RV (MW_RB / 16u + 1u)               // uvec4 slots per staged row: one more for a start off 16 bytes
#define MW_LPR ((MW_RV + MW_TP - 1u) / MW_TP)  // loads per thread per row and chunk
#define MW_XV (MW_KC / 4u / MW_T)              // vec4s of x per thread and chunk

// Staged rows (slot 2·pair + r at uvec4 slot·MW_RV; one spare uvec4 so a funnelled read past the last row stays
// inside), x as vec4s with 4 floats of padding per 64 (element k at vec4 (k >> 2) + (k >> 6): the 64-element
// units of a warp's lanes start in distinct banks), and the subgroup partials of the reduction.
shared uvec4 mw_w[2u * MW_PAIRS * MW_RV + 1u];
shared vec4 mw_x[MW_KC / 4u + MW_KC / 64u];
shared vec4 mw_red[MW_T];

// This thread's index in subgroup order (consecutive within a subgroup, whatever the driver's layout), so the 32
// threads of a pair are whole subgroups or aligned clusters of one.
uint mw_tid() { return gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID; }

uvec4 mw_load(uint i) {
  if (i < uint(wb4.length())) return wb4[i];
  uvec4 v = uvec4(0u);  // the buffer's last partial 16 bytes (never, for Context's 16-byte rounded buffers)
  for (uint e = 0u; e < 4u; ++e)
    if (4u * i + e < uint(wb.length())) v[e] = wb[4u * i + e];
  return v;
}

uint mw_word(uint w) { return mw_w[w >> 2][w & 3u]; }
// n consecutive 32-bit words of the staged bytes from byte b (even): whole words where b is a multiple of 4, else
// funnelled from two (a row whose start is 2 mod 4: K-odd Q4_0/Q8_0 rows, odd Q6_K super-blocks).
#define MW_WORDS(q, n, b)                                                                   \
  {                                                                                         \
    const uint w_ = (b) >> 2;                                                               \
    if (((b) & 2u) == 0u) {                                                                 \
      [[unroll]] for (uint i_ = 0u; i_ < (n); ++i_) q[i_] = mw_word(w_ + i_);               \
    } else {                                                                                \
      [[unroll]] for (uint i_ = 0u; i_ < (n); ++i_)                                         \
        q[i_] = (mw_word(w_ + i_) >> 16) | (mw_word(w_ + i_ + 1u) << 16);                   \
    }                                                                                       \
  }
// The same without a branch (lanes of one warp disagree on b's alignment: Q6_K's 210-byte super-blocks).
#define MW_WORDS_ANY(q, n, b)                                                               \
  {                                                                                         \
    const uint w_ = (b) >> 2;                                                               \
    const bool odd_ = ((b) & 2u) != 0u;                                                     \
    uint a_ = mw_word(w_);                                                                  \
    [[unroll]] for (uint i_ = 0u; i_ < (n); ++i_) {                                         \
      const uint c_ = mw_word(w_ + i_ + 1u);                                                \
      q[i_] = odd_ ? (a_ >> 16) | (c_ << 16) : a_;                                          \
      a_ = c_;                                                                              \
    }                                                                                       \
  }

uint mw_funnel(uint lo, uint hi) { return (lo >> 16) | (hi << 16); }

// x vec4 index in mw_x of chunk element e (a multiple of 4).
uint mw_xi(uint e) { return (e >> 2) + (e >> 6); }

// One 64-element unit of both rows (staged at bytes b0, b1 of mw_w), x read from mw_x once per quant word for both.
#if WTYPE == 2
// Q4_0 block pair (36 bytes: f16 d, 16 bytes of nibbles, twice; element j low nibble of byte j, 16 + j high);
// x at vec4 xi; two: the second block is inside K.
vec2 mw_unit2(uint b0, uint b1, uint xi, bool two) {
  uint q0[9], q1[9];
  MW_WORDS(q0, 9u, b0);
  MW_WORDS(q1, 9u, b1);
  vec2 a0 = vec2(0.0), a1 = vec2(0.0);
  [[unroll]] for (uint i = 0u; i < 4u; ++i) {
    const vec4 lo = mw_x[xi + i], hi = mw_x[xi + 4u + i];
    a0 += quant_nibbles(mw_funnel(q0[i], q0[i + 1u]), lo, hi, 8.0);
    a1 += quant_nibbles(mw_funnel(q1[i], q1[i + 1u]), lo, hi, 8.0);
  }
  vec2 s = vec2(unpackHalf2x16(q0[0]).x * (a0.x + a0.y), unpackHalf2x16(q1[0]).x * (a1.x + a1.y));
  if (two) {
    a0 = a1 = vec2(0.0);
    [[unroll]] for (uint i = 0u; i < 4u; ++i) {
      const vec4 lo = mw_x[xi + 8u + i], hi = mw_x[xi + 12u + i];
      a0 += quant_nibbles(q0[5u + i], lo, hi, 8.0);
      a1 += quant_nibbles(q1[5u + i], lo, hi, 8.0);
    }
    s += vec2(unpackHalf2x16(q0[4] >> 16).x * (a0.x + a0.y), unpackHalf2x16(q1[4] >> 16).x * (a1.x + a1.y));
  }
  return s;
}
#elif WTYPE == 8
// Q8_0 block pair (68 bytes: f16 d, 32 int8, twice); an int8 read as its byte XOR 0x80, minus 128.
vec2 mw_unit2(uint b0, uint b1, uint xi, bool two) {
  uint q0[17], q1[17];
  MW_WORDS(q0, 17u, b0);
  MW_WORDS(q1, 17u, b1);
  vec2 a = vec2(0.0);
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    const vec4 x = mw_x[xi + i];
    a += vec2(quant_bytes(mw_funnel(q0[i], q0[i + 1u]) ^ 0x80808080u, 0xffu, 128.0, x),
              quant_bytes(mw_funnel(q1[i], q1[i + 1u]) ^ 0x80808080u, 0xffu, 128.0, x));
  }
  vec2 s = vec2(unpackHalf2x16(q0[0]).x, unpackHalf2x16(q1[0]).x) * a;
  if (two) {
    a = vec2(0.0);
    [[unroll]] for (uint i = 0u; i < 8u; ++i) {
      const vec4 x = mw_x[xi + 8u + i];
      a += vec2(quant_bytes(q0[9u + i] ^ 0x80808080u, 0xffu, 128.0, x), quant_bytes(q1[9u + i] ^ 0x80808080u, 0xffu, 128.0, x));
    }
    s += vec2(unpackHalf2x16(q0[8] >> 16).x, unpackHalf2x16(q1[8] >> 16).x) * a;
  }
  return s;
}
#elif WTYPE == 12
// Byte i (0..11) of Q4_K's packed scales, held in words s0, s1, s2.
uint mw_sb(uint s0, uint s1, uint s2, uint i) { return ((i < 4u ? s0 : i < 8u ? s1 : s2) >> (8u * (i & 3u))) & 0xffu; }
// 6-bit (scale, min) of sub-block j (dequant.glsl's load_w packing).
vec2 mw_scale_min(uint s0, uint s1, uint s2, uint j) {
  if (j < 4u) return vec2(mw_sb(s0, s1, s2, j) & 63u, mw_sb(s0, s1, s2, j + 4u) & 63u);
  const uint hi = mw_sb(s0, s1, s2, j + 4u);
  return vec2((hi & 15u) | ((mw_sb(s0, s1, s2, j - 4u) >> 6) << 4), (hi >> 4) | ((mw_sb(s0, s1, s2, j) >> 6) << 4));
}
// One row's quarter t: d·(sc_a·Σ q·x + sc_b·Σ q·x) − dmin·(m_a·Σ x + m_b·Σ x) for sub-blocks 2t and 2t + 1.
float mw_q4_k_sum(uint h[4], uint t, vec2 a, vec2 xs) {
  const vec2 dm = unpackHalf2x16(h[0]);
  const vec2 sa = mw_scale_min(h[1], h[2], h[3], 2u * t), sb = mw_scale_min(h[1], h[2], h[3], 2u * t + 1u);
  return dm.x * (sa.x * a.x + sb.x * a.y) - dm.y * (sa.y * xs.x + sb.y * xs.y);
}
// Q4_K quarter t of the super-blocks at bytes b0, b1 (144 bytes: f16 d, f16 dmin, 12 bytes of scales, 128 of
// nibbles): sub-blocks 2t (low nibbles of qs[32t ..]) and 2t + 1 (high), w = d·sc·q − dmin·m.
vec2 mw_unit2(uint b0, uint b1, uint xi, uint t) {
  uint h0[4], h1[4], q0[8], q1[8];
  MW_WORDS(h0, 4u, b0);
  MW_WORDS(h1, 4u, b1);
  MW_WORDS(q0, 8u, b0 + 16u + 32u * t);
  MW_WORDS(q1, 8u, b1 + 16u + 32u * t);
  vec2 a0 = vec2(0.0), a1 = vec2(0.0);
  vec4 sa = vec4(0.0), sb = vec4(0.0);
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    const vec4 lo = mw_x[xi + i], hi = mw_x[xi + 8u + i];
    sa += lo, sb += hi;
    a0 += quant_nibbles(q0[i], lo, hi, 0.0);
    a1 += quant_nibbles(q1[i], lo, hi, 0.0);
  }
  const vec2 xs = vec2(dot(sa, vec4(1.0)), dot(sb, vec4(1.0)));
  return vec2(mw_q4_k_sum(h0, t, a0, xs), mw_q4_k_sum(h1, t, a1, xs));
}
#else
// Q6_K quarter v of the super-blocks at bytes b0, b1 (210 bytes: ql[128], qh[64], int8 scales[16], f16 d): half
// h = v/2, l in [l0, l0 + 16) with l0 = 16·(v & 1), all four 32-element quarters q: element 128h + 32q + l is
// (ql[64h + 32(q & 1) + l] >> 4(q >> 1)) & 15 | ((qh[32h + l] >> 2q) & 3) << 4, minus 32, times d·scales[e / 16].
// Per quarter q, Σ over 4 l of a word of ql (A: q = 0, 2; B: q = 1, 3) and of qh (H) against x.
vec4 mw_q6_k_sum(uint A, uint B, uint H, vec4 x0, vec4 x1, vec4 x2, vec4 x3) {
  return vec4(quant_bytes((A & 0x0f0f0f0fu) | ((H << 4) & 0x30303030u), 0x3fu, 32.0, x0),
              quant_bytes((B & 0x0f0f0f0fu) | ((H << 2) & 0x30303030u), 0x3fu, 32.0, x1),
              quant_bytes(((A >> 4) & 0x0f0f0f0fu) | (H & 0x30303030u), 0x3fu, 32.0, x2),
              quant_bytes(((B >> 4) & 0x0f0f0f0fu) | ((H >> 2) & 0x30303030u), 0x3fu, 32.0, x3));
}
// d · Σ_q scales[8h + 2q + (v & 1)] · a[q].
float mw_q6_k_scale(uint b, uint v, vec4 a) {
  const uint h = v >> 1, o8 = 8u * (v & 1u);
  uint S[2], dw[1];
  MW_WORDS_ANY(S, 2u, b + 192u + 8u * h);  // scales 8h .. 8h + 7
  MW_WORDS_ANY(dw, 1u, b + 208u);
  const vec4 sc = vec4(ivec4(uvec4(S[0] >> o8, S[0] >> (o8 + 16u), S[1] >> o8, S[1] >> (o8 + 16u)) << 24) >> 24);
  return unpackHalf2x16(dw[0]).x * dot(sc, a);
}
// e0: the super-block's first element in the chunk.
vec2 mw_unit2(uint b0, uint b1, uint e0, uint v) {
  const uint h = v >> 1, l0 = 16u * (v & 1u), e = e0 + 128u * h + l0;
  uint A0[4], B0[4], H0[4], A1[4], B1[4], H1[4];
  MW_WORDS_ANY(A0, 4u, b0 + 64u * h + l0);
  MW_WORDS_ANY(B0, 4u, b0 + 64u * h + 32u + l0);
  MW_WORDS_ANY(H0, 4u, b0 + 128u + 32u * h + l0);
  MW_WORDS_ANY(A1, 4u, b1 + 64u * h + l0);
  MW_WORDS_ANY(B1, 4u, b1 + 64u * h + 32u + l0);
  MW_WORDS_ANY(H1, 4u, b1 + 128u + 32u * h + l0);
  vec4 a0 = vec4(0.0), a1 = vec4(0.0);
  [[unroll]] for (uint i = 0u; i < 4u; ++i) {
    const vec4 x0 = mw_x[mw_xi(e + 4u * i)], x1 = mw_x[mw_xi(e + 32u + 4u * i)], x2 = mw_x[mw_xi(e + 64u + 4u * i)],
               x3 = mw_x[mw_xi(e + 96u + 4u * i)];
    a0 += mw_q6_k_sum(A0[i], B0[i], H0[i], x0, x1, x2, x3);
    a1 += mw_q6_k_sum(A1[i], B1[i], H1[i], x0, x1, x2, x3);
  }
  return vec2(mw_q6_k_scale(b0, v, a0), mw_q6_k_scale(b1, v, a1));
}
#endif


// Σ_k W(r0, k)·x'(k) and Σ_k W(r1, k)·x'(k) (x' = XNORM4 of x row xo) for this thread's row pair, and Σ_k x(k)²
// (SQ) over the whole row: r0, r1 the rows' byte offsets in wb. Every thread of the workgroup calls it (barriers);
// a pair with !valid stages no rows but still stages x. Result in the pair's lane 0 (mw_tid() % MW_TP == 0).
vec3 mw_dot2(uint r0, uint r1, uint xo, bool valid) {
  const uint tid = mw_tid(), grp = tid / MW_TP, lane = tid % MW_TP;
  const uint rows[2] = uint[2](r0, r1);
  const uint nch = (p.K + MW_KC - 1u) / MW_KC;
  uvec4 wr[2][MW_LPR];
  vec4 xr[MW_XV];
  float ss = 0.0;
  vec2 s = vec2(0.0);
  // The loads of chunk c into registers: this pair's rows' bytes (the 16-byte aligned span covering them) and x.
#define MW_FETCH(c)                                                                            \
  {                                                                                            \
    const uint k0_ = (c) * MW_KC, kc_ = min(MW_KC, p.K - k0_);                                 \
    [[unroll]] for (uint r_ = 0u; r_ < 2u; ++r_) {                                             \
      const uint sb_ = rows[r_] + (c) * MW_RB;                                                 \
      const uint cnt_ = valid ? ((sb_ & 15u) + kc_ / MW_QK * MW_BB + 15u) >> 4 : 0u;           \
      [[unroll]] for (uint i_ = 0u; i_ < MW_LPR; ++i_) {                                       \
        const uint j_ = lane + MW_TP * i_;                                                     \
        if (j_ < cnt_) wr[r_][i_] = mw_load((sb_ >> 4) + j_);                                  \
      }                                                                                        \
    }                                                                                          \
    [[unroll]] for (uint i_ = 0u; i_ < MW_XV; ++i_) {                                          \
      const uint e_ = 4u * (tid + MW_T * i_);                                                  \
      xr[i_] = vec4(0.0);                                                                      \
      if (e_ < kc_) {                                                                          \
        const vec4 v_ = x4_at(xo + k0_ + e_);                                                  \
        ss += SQ(v_);                                                                          \
        xr[i_] = XNORM4(v_, k0_ + e_);                                                         \
      }                                                                                        \
    }                                                                                          \
  }
  MW_FETCH(0u);
  for (uint c = 0u; c < nch; ++c) {
    const uint kc = min(MW_KC, p.K - c * MW_KC);
    uint sh[2];
    barrier();  // the last chunk's decoding is done with the shared arrays
    [[unroll]] for (uint r = 0u; r < 2u; ++r) {
      const uint sb = rows[r] + c * MW_RB;
      sh[r] = sb & 15u;
      const uint cnt = valid ? (sh[r] + kc / MW_QK * MW_BB + 15u) >> 4 : 0u;
      [[unroll]] for (uint i = 0u; i < MW_LPR; ++i) {
        const uint j = lane + MW_TP * i;
        if (j < cnt) mw_w[(2u * grp + r) * MW_RV + j] = wr[r][i];
      }
    }
    [[unroll]] for (uint i = 0u; i < MW_XV; ++i) {
      const uint v = tid + MW_T * i;
      mw_x[v + (v >> 4)] = xr[i];
    }
    barrier();
    if (c + 1u < nch) MW_FETCH(c + 1u);  // in flight while this chunk is decoded
    const uint e0 = 64u * lane;          // this thread's unit: chunk elements e0 .. e0 + 63
    if (valid && e0 < kc) {
      const uint b0 = (2u * grp) * MW_RV * 16u + sh[0], b1 = (2u * grp + 1u) * MW_RV * 16u + sh[1];
#if WTYPE == 2 || WTYPE == 8
      s += mw_unit2(b0 + lane * (2u * MW_BB), b1 + lane * (2u * MW_BB), mw_xi(e0), e0 + 64u <= kc);
#elif WTYPE == 12
      s += mw_unit2(b0 + (lane >> 2) * MW_BB, b1 + (lane >> 2) * MW_BB, mw_xi(e0), lane & 3u);
#else
      s += mw_unit2(b0 + (lane >> 2) * MW_BB, b1 + (lane >> 2) * MW_BB, e0 - 64u * (lane & 3u), lane & 3u);
#endif
    }
  }
#undef MW_FETCH
  // The pair's sums: a butterfly within the subgroup over up to MW_TP lanes; where subgroups are narrower than a
  // pair, their partials meet in shared memory. Σx² (NORM): over the whole workgroup, the same way.
  const uint sg = gl_SubgroupSize, cw = min(sg, MW_TP);
  for (uint o = 1u; o < cw; o <<= 1) s += subgroupShuffleXor(s, o);
  if (NORM != 0)
    for (uint o = 1u; o < sg; o <<= 1) ss += subgroupShuffleXor(ss, o);
  if (cw < MW_TP || NORM != 0) {
    if (gl_SubgroupInvocationID == 0u) mw_red[gl_SubgroupID] = vec4(s, ss, 0.0);
    barrier();
    if (cw < MW_TP) {
      s = vec2(0.0);
      for (uint i = 0u; i < MW_TP / sg; ++i) s += mw_red[grp * (MW_TP / sg) + i].xy;
    }
    if (NORM != 0) {
      ss = 0.0;
      for (uint i = 0u; i < gl_NumSubgroups; ++i) ss += mw_red[i].z;
    }
  }
  return vec3(s, ss);
}
