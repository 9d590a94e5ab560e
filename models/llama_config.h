// Hyperparameters of a decoder of any family in models/arch.h (Llama 1/2/3, Mistral, Qwen2/3, Gemma 2/3, Phi-3, SmolLM3, GPT-2),
// whichever file they came from. Not a loader: models/load_*.cpp fill it and validate it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "models/arch.h"

namespace edgellm {

enum class RopeScalingKind { None, Linear, Llama3 };

struct LlamaConfig {
  std::string arch = "llama";  // a family of models/arch.h, by edgellm's name (known_archs()[i].name)
  std::string name;
  int64_t vocab = 0;       // V
  int64_t dim = 0;         // C
  int64_t ffn_dim = 0;     // hidden size of the SwiGLU MLP
  int64_t n_layers = 0;
  int64_t n_heads = 0;     // NH
  int64_t n_kv_heads = 0;  // KVH
  int64_t head_dim = 0;    // HD
  int64_t max_ctx = 2048;
  float rms_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopePairing rope_pairing = RopePairing::NeoX;
  RopeScalingKind rope_scaling = RopeScalingKind::None;
  float rope_factor = 1.0f;             // linear and llama3
  float rope_low_freq_factor = 1.0f;    // llama3
  float rope_high_freq_factor = 4.0f;   // llama3
  int64_t rope_orig_ctx = 8192;         // llama3: original_max_position_embeddings
  std::vector<float> rope_freq_factors;  // GGUF rope_freqs.weight: inv_freq[i] /= factor[i] (HD/2)
  bool qkv_bias = false;
  bool tied_embeddings = false;
  BlockOptions block;  // the family's options beyond the Llama block (models/arch.h); loaders refuse unimplemented ones
  // Per-layer choices (empty = the same for every layer): 1 where layer l uses the sliding window (Gemma 2/3
  // layer_types), 0 where layer l has no RoPE (SmolLM3 no_rope_layers).
  std::vector<uint8_t> sliding_layers;
  std::vector<uint8_t> rope_layers;
  float rope_theta_local = 0;  // Gemma 3: the RoPE base of sliding layers (unscaled); 0 = rope_theta
  int32_t bos_id = 1, eos_id = 2;

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
  // Dims of a head that RoPE rotates: head_dim × partial_rotary, even (Phi-3 rotates the first 3/4).
  int64_t rope_dims() const;
  bool layer_slides(int64_t l) const;  // sliding-window attention on layer l
  bool layer_ropes(int64_t l) const;   // RoPE on layer l
  bool layer_local_rope(int64_t l) const { return rope_theta_local > 0 && layer_slides(l); }
  // Throws Error naming `source` and the field if the numbers are inconsistent.
  void validate(const std::string& source) const;
  // inv_freq[i] = θ^(−2i/D), D = rope_dims(), with linear or Llama 3 scaling applied; (D/2). local: the base
  // of sliding layers (rope_theta_local), unscaled, as Gemma 3 computes it.
  std::vector<float> rope_inv_freq(bool local = false) const;
};

}  // namespace edgellm
