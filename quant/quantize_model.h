// Quantizes a loaded model's linear layers per block (q k v o gate up down; no gate in GPT-2's MLP) with RTN,
// GPTQ or AWQ, calibrating block by block through the one block walk (models/block.h), for every family of
// models/arch.h (the quantized block's outputs feed the next block, as GPTQ does). save_quantized_gguf writes it.
//
// Calibration keeps one block's activations: the hidden states of all calibration tokens (n, C) and the
// inputs of the block's linears (n, C) ×3 and (n, F); GPTQ adds one Hessian (K, K) at a time. Inside a block
// the order is q/k/v, then o, then gate/up, then down, each stage seeing the already quantized earlier ones.
// Results replace the weight by their packed rows: a GGUF block type (Q4_0/Q4_1/Q8_0) or the group-int
// dtype of (bits, group), which linear_forward runs through matmul_gint (kernels/linear.h).
// AWQ first folds its scales exactly into what produces each linear's input (norm weights and biases, v's and
// up's rows; quantize_model.cpp lists each source per family) and leaves unscaled what cannot be folded exactly.
#pragma once

#include <functional>
#include <string>

#include "models/runner.h"
#include "quant/awq.h"
#include "quant/gptq.h"

namespace edgellm::quant {

enum class QuantMethod { Rtn, Gptq, Awq };
QuantMethod parse_quant_method(const std::string& s);  // rtn | gptq | awq, else Error

struct ModelQuantOptions {
  QuantMethod method = QuantMethod::Gptq;
  QuantSpec spec;
  GptqOptions gptq;
  AwqOptions awq;
  int64_t seq_len = 128;     // calibration sequence length (each starts with BOS)
  int64_t max_tokens = 1024; // calibration tokens in all
};

// A few paragraphs of English prose for when no calibration file is given.
const std::string& builtin_calibration_text();

// Summary of one block, for a progress line.
struct BlockReport {
  int64_t layer = 0, n_layers = 0;
  double seconds = 0;
  double rel_err[7] = {};  // per linear (q k v o gate up down): ‖X(W−Ŵ)ᵀ‖²/‖XWᵀ‖² on its calibration inputs
  bool kept[7] = {};       // left unquantized: its input width is not a multiple of the group
};

// Quantizes m in place. A linear whose input width is not a multiple of the group keeps its weight (as
// llama-quantize keeps such rows at a float type) and is flagged in BlockReport::kept.
void quantize_model(Model& m, const std::string& calib_text, const ModelQuantOptions& opt,
                    const std::function<void(const BlockReport&)>& progress = {});

// Writes a model quantized by quantize_model as GGUF, with edgellm.quant.* keys naming method and type. A GGUF
// block type (q4_0 ...) is written for every matrix; for group-int, as GPTQ/AWQ checkpoints do, the embedding
// and output matrices are f16, each quantized linear keeps its packed type and a linear left unquantized its own.
void save_quantized_gguf(const Model& m, const std::string& path, const ModelQuantOptions& opt,
                         const std::string& type_name);

}  // namespace edgellm::quant
