// AWQ for linear layers (Lin et al. 2023): per-input-channel scales s = mean|x|^α searched over α, an
// optional per-(row, group) clipping search, then group-wise quantization of W·diag(s) on a grid.
// Not the folding into a model (quant/awq_fold.h divides what produces each input by s, per family).
//
// Math: y = x Wᵀ = (x / s)(W diag s)ᵀ. The stored weight is Q(W diag s); the layer's input must be x / s,
// which quant/awq_fold.h obtains by dividing its producer (a norm, v's or up's rows) by s. One s is shared
// by all linears that read the same input; the search minimises their summed output error.
#pragma once

#include <cstdint>
#include <vector>

#include "quant/grid.h"

namespace edgellm::quant {

struct AwqOptions {
  int n_grid = 20;          // α = i / n_grid, i = 0 .. n_grid−1
  bool clip = true;         // search a range shrink per (row, group)
  int clip_steps = 10;      // shrink r = 1 − i / 20, i < clip_steps (AWQ: max_shrink 0.5, 20-point grid)
  int64_t max_tokens = 512; // calibration rows used by the searches (evenly strided subsample)
};

struct AwqLinear {
  const float* W; // (N, K)
  int64_t N;
};

// Scales (K) for linears sharing the input X (n, K): argmin over α of Σ ‖X Wᵀ − (X/s) Q(W diag s)ᵀ‖².
// x_absmean (K): mean |x| per channel (from calibration; may differ from X's if X is a subsample).
std::vector<float> awq_search_scales(const std::vector<AwqLinear>& lins, int64_t K, const float* x_absmean,
                                     const float* X, int64_t n, const QuantSpec& spec, const AwqOptions& opt = {},
                                     float* best_alpha = nullptr);

// Q(W diag s) (values and packed rows in the grid's storage) with the clipping search when opt.clip.
// X (n, K) the *unscaled* inputs; scales (K) from awq_search_scales (or all ones).
QuantizedMatrix awq_quantize(const float* W, int64_t N, int64_t K, const float* scales, const float* X, int64_t n,
                             const QuantSpec& spec, const AwqOptions& opt = {});

// Ŵ (N, K) = Q(W diag s) diag(s)⁻¹, the effective weight seen by the unscaled input.
std::vector<float> awq_effective_weight(const QuantizedMatrix& q, const float* scales);

}  // namespace edgellm::quant
