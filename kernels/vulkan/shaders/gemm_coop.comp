// A prompt's linear layers on tensor cores: C (M, N) = alpha · A · Wᵀ + beta · C for A (M, K) f32 with rows lda apart
// and a weight W (N, K) in its GGUF/GINT layout, through GL_NV_cooperative_matrix's 16x16x16 f16 products summed in
// f32. Each k-slice of BK is staged in shared memory as f16: A's quads converted (clamped to f16's range, so an outlier
// saturates instead of making inf), W's quads fetched and decoded by dequant_quad.glsl (the raw words of the next slice
// in flight while this one is multiplied, as gemm_tiled.comp does). A workgroup of SM x SN subgroups of 32 owns a BM x
// BN tile, each subgroup (BM/SM) x (BN/SN) as FM x FN fragments. The accumulators leave through a per-subgroup 16x16
// f32 staging tile, so ragged edges, alpha/beta and split-K partials are written element by element with the same
// bindings, push constants and split-K semantics as gemm_tiled.comp (kernels/vulkan/gemm.cpp records both). f16
// operands cost precision (about 1e-3 relative per product, as llama.cpp's coopmat path): the tests bound it. Needs
// VK_NV_cooperative_matrix with that shape, shaderFloat16, the Vulkan memory model and subgroups of 32
// (Context::coop()); Debian 12's glslc has GL_NV_cooperative_matrix but not the KHR one.
// COOP_EMU: the same tile with the four fragment operations done by plain code (lavapipe, which CI runs, has no
// cooperative matrices): a fragment of A or B is its offset in shared memory (the slice stays put until its products
// are done), an accumulator 8 floats per lane (lane l: row l/2, columns (l%2)·8 ..), shared memory f32 holding
// f16-rounded values, "subgroups" the invocations tid/32. It checks everything but the hardware's fragment ops:
// staging, offsets, edges, epilogue, split-K.
// Not the input gradient (dy·W: gemm_tiled.comp) and not f32 weights.
#version 450
#if !COOP_EMU
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#endif
#extension GL_EXT_control_flow_attributes : enable
#extension GL_GOOGLE_include_directive : require

// Defines: WTYPE, BM, BN, BK (a multiple of 16), SM, SN (subgroups along m and n).
#define NT (SM * SN * 32)
#define FM (BM / SM / 16)
#define FN (BN / SN / 16)
// Shared rows of BK halves plus 8: 16-byte aligned (the fragment loads need it) and staggered across banks.
#define LDS (BK + 8)
#if FM * SM * 16 != BM || FN * SN * 16 != BN || BK % 16 != 0 || (BM * BK / 4) % NT != 0 || (BN * BK / 4) % NT != 0
#error "tile shape: whole 16x16 fragments per subgroup, whole quads per thread"
#endif
layout(local_size_x = NT) in;
layout(std430, binding = 0) readonly buffer ABuf { float a[]; };
layout(std430, binding = 0) readonly buffer ABuf4 { vec4 a4[]; };
layout(std430, binding = 1) readonly buffer BBuf { uint wb[]; };
layout(std430, binding = 2) buffer CBuf { float c[]; };
layout(std430, binding = 3) writeonly buffer PBuf { float part[]; };  // (z, M, N) split-K partials
layout(push_constant) uniform P {
  uint M, N, K;
  uint a_off, lda;  // A(m, k) = a[a_off + m*lda + k]
  uint b_off, ldb;  // W row n at b_off + n*ldb (dequant.glsl's units)
  uint c_off, ldc;  // C(m, n) = c[c_off + m*ldc + n]
  float alpha, beta;  // beta == 0 never reads C
  uint k_slice;       // k per workgroup z: a multiple of BK
  uint vec_ok;        // bit 0: a_off and lda multiples of 4 (vec4 loads of A)
  uint gint_bits, gint_group, b_trans;  // dequant.glsl's (b_trans 1: W is (N, K))
} p;
#include "dequant.glsl"
#include "dequant_quad.glsl"

#if COOP_EMU
#define HALF float
#define TO_HALF(v) unpackHalf2x16(packHalf2x16(vec2(v, 0.0))).x
#else
#define HALF float16_t
#define TO_HALF(v) float16_t(v)
#endif
shared HALF As[BM * LDS];  // A(m0 + r, k0 + kk) at r·LDS + kk
shared HALF Bs[BN * LDS];  // W(n0 + r, k0 + kk) at r·LDS + kk: the K x N operand, column-major
shared float Cs[SM * SN * 256];  // a subgroup's 16x16 accumulator on its way out

#if COOP_EMU
uint emu_lane;
struct Acc { float v[8]; };
Acc emu_zero() {
  Acc z;
  [[unroll]] for (uint e = 0; e < 8; ++e) z.v[e] = 0.0;
  return z;
}
Acc emu_mma(uint fa, uint fb, Acc c) {
  const uint r = emu_lane / 2u, c0 = emu_lane % 2u * 8u;
  [[unroll]] for (uint e = 0; e < 8; ++e) {
    float s = 0.0;
    for (uint k = 0; k < 16u; ++k) s += As[fa + r * LDS + k] * Bs[fb + (c0 + e) * LDS + k];
    c.v[e] += s;
  }
  return c;
}
void emu_store(Acc c, uint off) {
  [[unroll]] for (uint e = 0; e < 8; ++e) Cs[off + emu_lane / 2u * 16u + emu_lane % 2u * 8u + e] = c.v[e];
}
#define FRAG uint
#define ACC Acc
#define ACC_ZERO emu_zero()
#define LOAD_A(f, off) f = (off)
#define LOAD_B(f, off) f = (off)
#define MMA(fa, fb, c) c = emu_mma(fa, fb, c)
#define STORE_ACC(c, off) emu_store(c, off)
#define SUBGROUP_SYNC() barrier()
#else
#define FRAG fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define ACC fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define ACC_ZERO ACC(0.0)
#define LOAD_A(f, off) coopMatLoadNV(f, As, off, LDS, false)
#define LOAD_B(f, off) coopMatLoadNV(f, Bs, off, LDS, true)
#define MMA(fa, fb, c) c = coopMatMulAddNV(fa, fb, c)
#define STORE_ACC(c, off) coopMatStoreNV(c, Cs, off, 16u, false)
#define SUBGROUP_SYNC() subgroupMemoryBarrierShared(); subgroupBarrier()
#endif

const uint QA = BM * BK / 4 / NT, QB = BN * BK / 4 / NT;  // quads each thread loads per slice
vec4 ra[QA];
uvec4 rb[QB];
bool rb_ok[QB];
uint m0, n0;

// Quad q of a slice: row q / (BK/4), k offset q % (BK/4) · 4 (both operands run along k).
void load_slice(uint k0, uint kend) {
  const uint tid = gl_LocalInvocationID.x;
  const bool va = (p.vec_ok & 1u) != 0u;
  [[unroll]] for (uint i = 0; i < QA; ++i) {
    const uint q = tid + i * NT, r = q / (BK / 4), k = k0 + q % (BK / 4) * 4;
    const uint base = p.a_off + (m0 + r) * p.lda + k;
    const bool row = m0 + r < p.M;
    if (va && row && k + 3u < kend) {
      ra[i] = a4[base / 4];
    } else {
      [[unroll]] for (uint j = 0; j < 4; ++j) ra[i][j] = row && k + j < kend ? a[base + j] : 0.0;
    }
  }
  [[unroll]] for (uint i = 0; i < QB; ++i) {
    // Whole quads along W's rows: the host asks K to be a multiple of 4.
    const uint q = tid + i * NT, r = q / (BK / 4), k = k0 + q % (BK / 4) * 4;
    rb_ok[i] = n0 + r < p.N && k < kend;
    if (rb_ok[i]) rb[i] = fetch_w4(p.b_off + (n0 + r) * p.ldb, k);
  }
}

void store_slice() {
  const uint tid = gl_LocalInvocationID.x;
  [[unroll]] for (uint i = 0; i < QA; ++i) {
    const uint q = tid + i * NT, at = q / (BK / 4) * LDS + q % (BK / 4) * 4;
    const vec4 v = clamp(ra[i], vec4(-65504.0), vec4(65504.0));
    [[unroll]] for (uint j = 0; j < 4; ++j) As[at + j] = TO_HALF(v[j]);
  }
  [[unroll]] for (uint i = 0; i < QB; ++i) {
    const uint q = tid + i * NT, at = q / (BK / 4) * LDS + q % (BK / 4) * 4;
    const vec4 v = rb_ok[i] ? clamp(decode_w4(rb[i]), vec4(-65504.0), vec4(65504.0)) : vec4(0.0);
    [[unroll]] for (uint j = 0; j < 4; ++j) Bs[at + j] = TO_HALF(v[j]);
  }
}

void main() {
#if COOP_EMU
  const uint sg = gl_LocalInvocationID.x / 32u, lane = gl_LocalInvocationID.x % 32u;
  emu_lane = lane;
#else
  const uint sg = gl_SubgroupID, lane = gl_SubgroupInvocationID;
#endif
  const uint sm = sg / SN, sn = sg % SN;  // this subgroup's rows sm·FM·16 .., columns sn·FN·16 .. of the tile
  m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  const uint kbeg = gl_WorkGroupID.z * p.k_slice, kend = min(p.K, kbeg + p.k_slice);
  ACC acc[FM][FN];
  [[unroll]] for (uint i = 0; i < FM; ++i)
    [[unroll]] for (uint j = 0; j < FN; ++j) acc[i][j] = ACC_ZERO;

  if (kbeg < kend) load_slice(kbeg, kend);
  for (uint k0 = kbeg; k0 < kend; k0 += BK) {
    barrier();  // every subgroup finished reading the last slice
    store_slice();
    barrier();
    if (k0 + BK < kend) load_slice(k0 + BK, kend);  // in flight while this slice is multiplied
    [[unroll]] for (uint kk = 0; kk < BK; kk += 16) {
      FRAG fa[FM];
      [[unroll]] for (uint i = 0; i < FM; ++i) LOAD_A(fa[i], (sm * FM + i) * 16u * LDS + kk);
      [[unroll]] for (uint j = 0; j < FN; ++j) {
        FRAG fb;
        LOAD_B(fb, (sn * FN + j) * 16u * LDS + kk);
        [[unroll]] for (uint i = 0; i < FM; ++i) MMA(fa[i], fb, acc[i][j]);
      }
    }
  }

  const bool split = gl_NumWorkGroups.z > 1u;
  [[unroll]] for (uint i = 0; i < FM; ++i)
    [[unroll]] for (uint j = 0; j < FN; ++j) {
      STORE_ACC(acc[i][j], sg * 256u);
      SUBGROUP_SYNC();
      for (uint e = lane; e < 256u; e += 32u) {
        const uint m = m0 + (sm * FM + i) * 16u + e / 16u, n = n0 + (sn * FN + j) * 16u + e % 16u;
        if (m >= p.M || n >= p.N) continue;
        const float v = Cs[sg * 256u + e];
        if (split) {
          part[(gl_WorkGroupID.z * p.M + m) * p.N + n] = v;
        } else {
          const uint ci = p.c_off + m * p.ldc + n;
          c[ci] = p.alpha * v + (p.beta != 0.0 ? p.beta * c[ci] : 0.0);
        }
      }
      SUBGROUP_SYNC();  // every lane read the staging tile before the next fragment overwrites it
    }
}
