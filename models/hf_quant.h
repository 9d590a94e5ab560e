// Hugging Face GPTQ (AutoGPTQ / optimum / GPTQModel, formats v1 and v2) and AutoAWQ GEMM checkpoints read
// into edgellm's group-int weights, exactly. Not other layouts (AWQ GEMV, Marlin or exllama repacks, bnb).
//
// GPTQ, per linear `p` (out N, in K, G = group_size, b = bits):
//   p.qweight  i32 (K·b/32, N): column n, read as little-endian words top to bottom, is the LSB-first bit
//              stream of the codes of inputs k = 0..K-1 (b bits each; for b = 3 ten codes and a split one
//              per word, which is the same stream).
//   p.qzeros   i32 (K/G, N·b/32): row g is the bit stream of the zero points of outputs n = 0..N-1;
//              format v1 ("gptq") stores zero − 1 (AutoGPTQ's historical offset), v2 ("gptq_v2") the zero.
//   p.scales   f16 (K/G, N);   p.g_idx i32 (K): the group of input k (act-order checkpoints permute them).
//   w[n, k] = scales[g, n] · (q[k, n] − zero[g, n]), g = g_idx[k] (k / G when absent).
// AWQ GEMM (4 bits): p.qweight i32 (K, N/8) and p.qzeros i32 (K/G, N/8) packed along the outputs, nibble i of
//   word c holding output 8c + [0, 2, 4, 6, 1, 3, 5, 7][i]; p.scales f16 (K/G, N); w = s · (q − z), g = k / G.
// A g_idx whose groups are not contiguous becomes the weight's column order (Tensor::in_perm).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/tensor.h"

namespace edgellm {

class SafetensorsDir;

struct HfQuantConfig {
  enum class Method { None, Gptq, Awq };
  Method method = Method::None;
  int bits = 4;
  int group = 128;
  bool zero_minus_one = true;  // GPTQ v1 checkpoint format
  std::string path;            // the file the settings came from
};

// quantization_config of <dir>/config.json (or the older <dir>/quantize_config.json); Method::None when
// neither says the model is quantized. FormatError(file, field) for a method or setting edgellm cannot read.
HfQuantConfig hf_quant_config(const std::string& dir);

// The linear `prefix` (e.g. "model.layers.0.self_attn.q_proj") of out_features N and in_features K as a
// group-int tensor named `name`. FormatError(file, tensor) for a missing tensor or a wrong shape.
Tensor hf_quant_linear(const SafetensorsDir& st, const std::string& prefix, int64_t N, int64_t K,
                       const HfQuantConfig& qc, const std::string& name);

}  // namespace edgellm
