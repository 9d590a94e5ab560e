// Tile geometry and tile loads of the tiled attention shaders (attention_tiled*.comp). Not a shader by itself.
// HDM: the largest head the tiles hold, 64 (default) or 128 (-DHDM=128: the *_hd128 variants of
// cmake/vulkan_shaders.cmake, with smaller tiles to stay under 32 KiB of shared memory).
#ifndef HDM
#define HDM 64
#endif
#define RS4 uint(HDM / 4 + 1)  // row pitch (vec4) of head-row tiles: 8 consecutive rows in 8 different bank groups
#define ND uint(HDM / 32)      // vec4s of output dims per thread: ci + 8j, j < ND
#define LW uint(HDM / 4)       // tile loads: threads per row, a vec4 of dims 4·lc .. 4·lc+3 each (lc = tid % LW)
#define LR uint(64 / (HDM / 4))  // rows loaded at once (lr = tid / LW)
// dst = row `base ..` of src, dims past HD (and the whole row where !valid) zero; one vec4 store into shared memory.
#define ATT_LOAD4(dst, src, base, valid)                                      \
  {                                                                           \
    vec4 x_ = vec4(0.0);                                                      \
    if (valid) {                                                              \
      const uint b_ = (base) + 4u * lc;                                       \
      for (uint e_ = 0u; e_ < 4u; ++e_)                                       \
        if (4u * lc + e_ < p.HD) x_[e_] = src[b_ + e_];                       \
    }                                                                         \
    dst = x_;                                                                 \
  }
