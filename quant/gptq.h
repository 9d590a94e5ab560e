// GPTQ for one linear layer (Frantar et al. 2022): quantizes W column by column on a grid (quant/grid.h),
// feeding each column's rounding error back into the not-yet-quantized columns through H⁻¹'s Cholesky factor.
// Not the calibration (quant/calibrate.h collects H) and not the file writer.
//
// Act-order: columns are processed by descending diag(H) but groups stay the *original* contiguous groups
// of K (static groups). A group's scale/zero are chosen when its first column (in processing order) is
// reached, from the current (error-updated) values of all its columns, none of which is quantized yet.
// So the result is a plain row-major grouped matrix: inference needs no g_idx and no permutation.
// (HF "desc_act" checkpoints instead group in permuted order and carry g_idx; not produced here, but read:
// models/hf_quant.h turns a g_idx into the weight's column order, Tensor::in_perm, which linear_forward honours.)
#pragma once

#include <cstdint>

#include "quant/grid.h"

namespace edgellm::quant {

struct GptqOptions {
  float percdamp = 0.01f; // damping: H += percdamp * mean(diag H) * I
  int block = 128;        // lazy-batch width
  bool act_order = false;
  // Factorize H in all-double (quant/gptq_factor.h's *_f64 references) instead of the blocked f32 path
  // with GEMM trailing updates. Slower; for tests and comparisons.
  bool f64_factor = false;
};

// H (K, K): 2 XᵀX / n from calibration inputs X (n, K), e.g. by hessian_accumulate.
// W (N, K) row-major. Dead inputs (H_kk = 0) are set to zero weight. Throws Error if H is not
// positive definite after damping.
QuantizedMatrix gptq_quantize(const float* W, int64_t N, int64_t K, const double* H, const QuantSpec& spec,
                              const GptqOptions& opt = {});

// H (K, K) += 2/n_total · xᵀx over the rows of x (rows, K); callers pass n_total upfront or rescale.
// Uses the f32 GEMM; H is double so that many batches accumulate without drift.
void hessian_accumulate(double* H, const float* x, int64_t rows, int64_t K, double weight);

// ‖X (W − Ŵ)ᵀ‖²_F / ‖X Wᵀ‖²_F: relative output error of a quantized layer on inputs X (n, K).
double relative_output_error(const float* W, const float* Wq, const float* X, int64_t N, int64_t K, int64_t n);

}  // namespace edgellm::quant
