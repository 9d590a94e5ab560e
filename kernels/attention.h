// Threaded drivers of causal grouped-query attention: check the dims, split the work, give each worker scratch.
// Not the math: that is kernels/ref/attention.h (scalar) and kernels/simd/attention.h (tiled, SIMD).
// Layout: AttentionDims in kernels/kernel_table.h.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace edgellm {

// Dims for contiguous q (T, NH, HD), k and v (S = pos0 + T, KVH, HD), o (T, NH, HD), scale 1/sqrt(HD).
AttentionDims attention_dims(int64_t T, int64_t NH, int64_t KVH, int64_t HD, int64_t pos0 = 0);

// Floats of scratch one worker uses: 2·kAttnKeys·HD + 2·kAttnRows·kAttnKeys + kAttnRows·HD + 3·kAttnRows.
// A function of the tile sizes and HD only, never of T or S: forward and backward memory is O(tile × HD)
// per thread, and nothing of size T × S is ever allocated.
int64_t attention_work_floats(int64_t HD);
// Floats of scratch one call uses with `threads` workers (threads <= 0: num_threads()).
int64_t attention_scratch_floats(int64_t HD, int threads = 0);

// Throws Error naming `who` and the field when the dims are inconsistent (NH % KVH, strides narrower than
// a row, S < pos0 + T, ...).
void attention_check(const AttentionDims& d, const char* who);

// Use from a model, per layer:
//   prefill / decode with a KV cache laid out (capacity, KVH, HD) per layer: write the T new k, v rows at
//   rows pos0 .. pos0 + T − 1, then pass k = the layer's cache base, S = pos0 + T, k_stride = KVH·HD;
//   training: attention_dims(T, NH, KVH, HD), or strides (NH + 2·KVH)·HD for views into a fused QKV buffer.
// A head-major cache (KVH, capacity, HD) is not supported: rows must be tokens.

// o (T, NH, HD) and L (T, NH) from q, k, v (L may be null for inference). Splits (kv head, query tile) pairs over the threads; a query
// tile holds kAttnRows / (NH / KVH) tokens so that one tile is kAttnRows (token, head) rows.
// scratch: attention_scratch_floats(d.HD) floats, or null to use a buffer per thread that the driver keeps.
void attention_forward(float* o, float* L, const float* q, const float* k, const float* v, const AttentionDims& d,
                       float* scratch = nullptr, const KernelTable& kt = kernels());

// dq, dk, dv += the gradients of Σ dO ∘ o. Splits kv heads over the threads, so dk/dv rows never race (a
// kv head's group of query heads is handled by one worker, which also owns their dq columns).
// dk and dv are written for keys 0 .. pos0 + T − 1 (cached keys included: the caller decides whether
// they are trainable). scratch as for forward.
void attention_backward(float* dq, float* dk, float* dv, const float* dO, const float* q, const float* k,
                        const float* v, const float* o, const float* L, const AttentionDims& d,
                        float* scratch = nullptr, const KernelTable& kt = kernels());

}  // namespace edgellm
