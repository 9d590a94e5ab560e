// GPTQ's O(K³) factorizations: lower Cholesky factor and lower-triangular inverse, blocked so that the bulk
// runs in the f32 GEMM (kernels/gemm.h). Not a general LAPACK: row-major, lower only, no pivoting.
//
// Precision: as the reference GPTQ (PyTorch, float32 Cholesky), matrices are stored in f32 and the trailing
// updates / panel products accumulate in f32; only the small diagonal blocks (kFactorBlock wide) are
// factorized and inverted in double. The *_f64 functions are the previous all-double (hand-written dot8)
// versions, kept as the scalar reference for tests and for GptqOptions::f64_factor.
#pragma once

#include <cstdint>
#include <vector>

namespace edgellm::quant {

// Diagonal-block width of the blocked factorizations (the GEMMs' inner dimension).
inline constexpr int64_t kFactorBlock = 256;

// In place: A (K, K; row stride K) symmetric positive definite -> its lower Cholesky factor L in the lower
// triangle (the strict upper triangle is left as garbage). Throws Error
// "gptq: <what> is not positive definite (pivot j = d)" on a non-positive pivot.
void cholesky_lower_f32(float* A, int64_t K, const char* what);

// M (K, K) = L⁻¹ for L (K, K) lower triangular with positive diagonal (its strict upper triangle is not
// read); M's strict upper triangle is set to zero.
void lower_inverse_f32(const float* L, float* M, int64_t K);

// Double reference versions (same contracts, A/L/M in double).
void cholesky_lower_f64(std::vector<double>& A, int64_t K, const char* what);
std::vector<double> lower_inverse_f64(const std::vector<double>& L, int64_t K);

}  // namespace edgellm::quant
