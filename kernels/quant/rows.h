// Lifts a one-weight-row dot (s[j*s_stride] = dot(w, x_j)) to the table's tile signature by looping
// over the nw weight rows. Templated on the row kernel, so each arch's instantiation stays its own symbol.
#pragma once

#include <cstdint>

namespace edgellm::quant {

using row_dot_fn = void(float* s, int64_t s_stride, const void* w, const void* x, int64_t x_stride, int64_t nx,
                        int64_t K);

template <row_dot_fn* F>
void dot_tile_by_rows(float* s, int64_t s_stride, const void* w, int64_t w_stride, int64_t nw, const void* x,
                      int64_t x_stride, int64_t nx, int64_t K) {
  for (int64_t c = 0; c < nw; ++c)
    F(s + c, s_stride, static_cast<const uint8_t*>(w) + c * w_stride, x, x_stride, nx, K);
}

}  // namespace edgellm::quant
