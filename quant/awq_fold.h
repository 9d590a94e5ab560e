// AWQ's scales, folded exactly into what produces each linear's input, for every family of models/arch.h.
// Not the scale search (quant/awq.h) and not the quantization of the folded weights (quant/quantize_model.h).
#pragma once

#include <cstdint>

#include "models/block.h"
#include "quant/awq.h"

namespace edgellm::quant {

// From one float walk's taps `a` over n rows (xn1, att, xn2, h of models/block.h), searches the scales s of
// each linear input whose width is a multiple of spec's group and folds them into L: its linears become float
// W·diag(s) and what produces their input is divided by s, so the block computes the same function (up to f32
// rounding). Inputs that cannot be divided exactly are left unscaled (awq_fold.cpp lists each source).
void awq_fold_block(const LlamaConfig& c, LlamaLayer& L, const BlockActs& a, int64_t n, const QuantSpec& spec,
                    const AwqOptions& opt);

}  // namespace edgellm::quant
