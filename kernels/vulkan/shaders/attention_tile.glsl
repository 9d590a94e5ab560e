// Tile loads of the tiled attention shaders (attention_tiled*.comp): 16 threads per head row, each a vec4 of dims
// 4·lc .. 4·lc+3 (lc = tid & 15), one vec4 store into shared memory. Not a shader by itself; needs p.HD and lc.
// dst = row `base ..` of src, dims past HD (and the whole row where !valid) zero.
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
