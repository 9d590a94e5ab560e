// Driver of the fused cross-entropy with loss masking: target checks, the mean over unmasked rows
// (PyTorch's reduction="mean" with ignore_index), threads. Not the row math: kernels/ref|simd/cross_entropy.h.
#pragma once

#include <cstdint>

#include "kernels/kernel_table.h"

namespace edgellm {

inline constexpr int32_t kIgnoreIndex = -100;  // PyTorch's default ignore_index

// Rows whose target is not ignore_index. Throws Error if a target is outside [0, V).
int64_t cross_entropy_count(const int32_t* targets, int64_t T, int64_t V, int32_t ignore_index = kIgnoreIndex);

// logits (T, V), targets (T); writes loss (T) (0 on masked rows) and lse (T) (the row logsumexp, which
// backward needs). Returns Σ loss / n_unmasked: NaN when every row is masked, as PyTorch returns.
float cross_entropy_forward(float* loss, float* lse, const float* logits, const int32_t* targets, int64_t T,
                            int64_t V, int32_t ignore_index = kIgnoreIndex, const KernelTable& kt = kernels());

// dlogits (T, V) += (softmax(logits) − onehot(target)) · dloss / n_unmasked on unmasked rows: the gradient
// of dloss × the mean loss. Nothing is added when every row is masked. lse from forward.
void cross_entropy_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                            float dloss, int64_t T, int64_t V, int32_t ignore_index = kIgnoreIndex,
                            const KernelTable& kt = kernels());

}  // namespace edgellm
