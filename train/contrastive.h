// The contrastive head of an embedder, as forward/backward pairs: mean pooling of hidden states over a
// span of positions, L2 normalisation, and InfoNCE over in-batch negatives. Float and double (for tests).
// Not the encoder (LlamaGrad's block stack computes the hidden states) and not a training loop (rag/embedder_train.h).
#pragma once

#include <cstdint>

namespace edgellm {

// out[b] = (1/(end_b − begin_b)) Σ_{t ∈ [begin_b, end_b)} x[b, t]; x (B, T, C), out (B, C), 0 <= begin_b < end_b <= T.
template <class F>
void mean_pool_forward(F* out, const F* x, const int32_t* begin, const int32_t* end, int64_t B, int64_t T, int64_t C);
// dx[b, t] += dout[b] / (end_b − begin_b) for t in the span (accumulates; positions outside get nothing).
template <class F>
void mean_pool_backward(F* dx, const F* dout, const int32_t* begin, const int32_t* end, int64_t B, int64_t T, int64_t C);

// y[b] = x[b] / ‖x[b]‖; norm (B) saved for the backward. x, y (B, C). A zero row is an Error (no direction).
template <class F>
void l2_normalize_forward(F* y, F* norm, const F* x, int64_t B, int64_t C);
// dx[b] += (dy[b] − y[b]·(y[b]·dy[b])) / ‖x[b]‖   (the Jacobian of x/‖x‖ is (I − y yᵀ)/‖x‖, symmetric).
template <class F>
void l2_normalize_backward(F* dx, const F* dy, const F* y, const F* norm, int64_t B, int64_t C);

// InfoNCE with in-batch negatives: queries q (Q, C), documents d (N, C) with N >= Q, the positive of query i
// is document i and every other document is a negative. s_ij = q_i·d_j / τ,
//   loss = (1/Q) Σ_i [ log Σ_j exp s_ij − s_ii ].
// Returns the loss and saves p_ij = softmax_j s_ij in prob (Q, N) for the backward.
template <class F>
double info_nce_forward(F* prob, const F* q, const F* d, int64_t Q, int64_t N, int64_t C, F tau);
// With g_ij = scale·(p_ij − [i = j])/Q  (∂loss/∂s_ij, times scale):
//   dq_i += Σ_j g_ij d_j / τ,   dd_j += Σ_i g_ij q_i / τ   (accumulates).
template <class F>
void info_nce_backward(F* dq, F* dd, const F* prob, const F* q, const F* d, int64_t Q, int64_t N, int64_t C, F tau,
                       F scale);

}  // namespace edgellm
