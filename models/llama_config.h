// Hyperparameters of a decoder of any family in models/arch.h (Llama 1/2/3, Mistral, Qwen2/3, Gemma 2/3, Phi-3, SmolLM3, GPT-2),
// whichever file they came from. Not a loader: models/load_*.cpp fill it and validate it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "models/arch.h"

namespace edgellm {

// RoPE scaling as transformers' modeling_rope_utils.py computes it: linear (positions ÷ factor), llama3 (per-band
// divisors), dynamic (NTK-aware base growing with the sequence past max_position_embeddings), yarn (ramp between
// interpolated and extrapolated frequencies, cos/sin × an attention factor), longrope (per-pair divisors, long
// or short by the sequence's length, cos/sin × an attention factor).
enum class RopeScalingKind { None, Linear, Llama3, Dynamic, Yarn, LongRope };

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
  float rope_factor = 1.0f;             // linear, llama3, dynamic, yarn (longrope: only for the attention factor)
  float rope_low_freq_factor = 1.0f;    // llama3
  float rope_high_freq_factor = 4.0f;   // llama3
  int64_t rope_orig_ctx = 8192;         // llama3, yarn, longrope: original_max_position_embeddings
  float rope_attn_factor = 1.0f;        // yarn, longrope: cos and sin × this (transformers' attention_scaling)
  float rope_yarn_beta_fast = 32.0f;    // yarn: the ramp's bounds, in rotations over rope_orig_ctx
  float rope_yarn_beta_slow = 1.0f;
  bool rope_yarn_truncate = true;       // yarn: the ramp's bounds floored / ceiled to whole dims
  std::vector<float> rope_long_factors, rope_short_factors;  // longrope: inv_freq[i] /= factor[i] (D/2)
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
  // inv_freq[i] = θ^(−2i/D), D = rope_dims(), with the scaling applied; (D/2). local: the base of sliding
  // layers (rope_theta_local), unscaled, as Gemma 3 computes it. seq_len: the positions the call reaches
  // (pos0 + T), which dynamic and longrope depend on, as transformers' forward does.
  std::vector<float> rope_inv_freq(bool local = false, int64_t seq_len = 0) const;
  // What cos and sin are multiplied by (yarn, longrope; 1 otherwise and on local layers).
  float rope_attention_factor(bool local = false) const;
};

}  // namespace edgellm
