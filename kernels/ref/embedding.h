// Scalar reference of the embedding lookup and its scatter-add backward.
// Rows are C wide at pitch `stride`; ids are assumed valid (the driver, kernels/embedding.h, checks them).
#pragma once

#include <cstdint>

namespace edgellm::ref {

// out[t, :] = table[ids[t], :]
template <class T, class Tag = void>
void embedding_forward(T* out, const T* table, const int32_t* ids, int64_t rows, int64_t C, int64_t stride) {
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t i = 0; i < C; ++i) out[t * stride + i] = table[ids[t] * stride + i];
}

// dtable[ids[t], :] += dout[t, :], in token order (a repeated id accumulates every occurrence)
template <class T, class Tag = void>
void embedding_backward(T* dtable, const T* dout, const int32_t* ids, int64_t rows, int64_t C, int64_t stride) {
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t i = 0; i < C; ++i) dtable[ids[t] * stride + i] += dout[t * stride + i];
}

}  // namespace edgellm::ref
