// Thread layout of the flash attention shaders (attention_flash*.comp). Not a shader by itself.
// 128 threads in clusters of CL consecutive subgroup lanes; a cluster owns one row (a query row, or a key in the
// dk/dv pass) and each of its lanes DV vec4s of the head's dims (lane l: vec4s l + CL·j), held in registers.
// A dot product over the head is a lane's partial dot plus a butterfly over the cluster (csum): no shared scratch,
// no barrier, every lane ends with the same bits. HDM: the largest head, 64 (CL 4) or 128 (-DHDM=128, CL 8).
// Needs subgroups of >= CL lanes with shuffles (kernels/vulkan/ops.cpp checks; else the tiled or per-row shaders).
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_EXT_control_flow_attributes : require
#ifndef HDM
#define HDM 64
#endif
#if HDM == 64
#define CL 4u
#else
#define CL 8u
#endif
#define NT 128u               // threads per workgroup
#define NCL (NT / CL)         // clusters per workgroup
#define HV uint(HDM / 4)      // vec4s of a head row (shared tiles: row c at c·HV, unpadded: a warp reads one row)
#define DV (HV / CL)          // vec4s per lane: 4
#define MASKED -3.0e38        // a masked score; real scores are never below -1e38

// The cluster and lane of this thread, from its subgroup position (clusters never straddle subgroups).
uint flash_cluster() { return (gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID) / CL; }
uint flash_lane() { return gl_SubgroupInvocationID % CL; }

// Σ over the cluster's lanes, the same value in each (a + b is commutative, so the butterfly's orders agree).
float csum(float x) {
  x += subgroupShuffleXor(x, 1u);
  x += subgroupShuffleXor(x, 2u);
#if HDM == 128
  x += subgroupShuffleXor(x, 4u);
#endif
  return x;
}

// This lane's dims of a row of src at base (vec4s lane + CL·j), zero past HD or where !valid.
#define FLASH_ROW(dst, src, base, valid)                          \
  [[unroll]] for (uint j_ = 0u; j_ < DV; ++j_) {                  \
    dst[j_] = vec4(0.0);                                          \
    [[unroll]] for (uint e_ = 0u; e_ < 4u; ++e_) {                \
      const uint d_ = 4u * (lane + CL * j_) + e_;                 \
      if ((valid) && d_ < p.HD) dst[j_][e_] = src[(base) + d_];   \
    }                                                             \
  }
// dst (n rows of HDM in shared vec4s; n·HDM a multiple of NT, a constant) = rows 0 .. n−1 of src (row r at
// rowaddr(r)), zero past HD and at rows >= nv. Consecutive threads load consecutive dims; every load of the tile
// issued before the first store (an unrolled loop of constant trip: one memory latency per tile, not n·HDM/NT).
#define FLASH_TILE(dst, n, src, rowaddr, nv)                               \
  {                                                                        \
    float x_[(n) * HDM / NT];                                              \
    [[unroll]] for (uint i_ = 0u; i_ < (n) * HDM / NT; ++i_) {             \
      const uint e_ = gl_LocalInvocationIndex + NT * i_, r_ = e_ / HDM;    \
      x_[i_] = r_ < (nv) && e_ % HDM < p.HD ? src[rowaddr(r_) + e_ % HDM] : 0.0; \
    }                                                                      \
    [[unroll]] for (uint i_ = 0u; i_ < (n) * HDM / NT; ++i_) {             \
      const uint e_ = gl_LocalInvocationIndex + NT * i_;                   \
      dst[e_ / 4u][e_ % 4u] = x_[i_];                                      \
    }                                                                      \
  }
