// Hugging Face config.json for the families of models/arch.h (llama, mistral, qwen2/3, gemma2/3, phi3, smollm3, gpt2): the
// hyperparameters a loader needs, with clear errors naming the file and the field.
// Not a general config parser: unknown fields are ignored, other model types refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/arch.h"

namespace edgellm {

// A config.json is read whole; real ones are a few KiB (multimodal ones ~100 KiB).
constexpr uint64_t kHfConfigMaxBytes = uint64_t{16} << 20;  // 16 MiB

// RoPE scaling. type "" = none; "linear" (factor); "llama3" (factor, low/high_freq_factor,
// original_max_position_embeddings); other types ("yarn", "dynamic") are kept by name for
// the model to refuse or handle.
// rope_scaling (transformers 4) or rope_parameters (5), as transformers' modeling_rope_utils.py reads it.
struct RopeScaling {
  std::string type;            // "" (none), linear, dynamic, yarn, longrope, llama3
  double factor = 1.0;
  bool factor_given = false;  // "factor" is in the config (yarn then scales by it, whatever the contexts' ratio)
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
  // llama3 and yarn: the field of rope_scaling; longrope: the config's top-level field (Phi-3) or rope_scaling's.
  // 0 = absent.
  int64_t original_max_position_embeddings = 0;
  double attention_factor = 0;     // yarn, longrope; 0 = absent (derived from the factor)
  double beta_fast = 32, beta_slow = 1;  // yarn
  double mscale = 0, mscale_all_dim = 0;  // yarn (DeepSeek style); 0 = absent
  bool truncate = true;            // yarn: floor/ceil the correction range
  std::vector<double> long_factor, short_factor;  // longrope: one per rotated pair
};

struct HFConfig {
  std::string path;         // the config.json read
  std::string model_type;   // a name known to models/arch.h ("llama", "mistral", "qwen2", ...)
  std::vector<std::string> architectures;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // defaults to num_attention_heads
  int64_t head_dim = 0;             // defaults to hidden_size / num_attention_heads
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;      // from rope_theta or (transformers 5) rope_parameters.rope_theta
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;      // llama/mistral: bias on q, k, v and o
  bool qkv_bias = false;            // bias on q, k, v (qwen2 always; llama when attention_bias)
  bool o_bias = false;              // bias on o_proj (llama when attention_bias)
  bool mlp_bias = false;
  std::vector<int64_t> bos_token_ids;  // bos_token_id (int, list or null)
  std::vector<int64_t> eos_token_ids;  // eos_token_id (int, list or null)
  std::string torch_dtype;          // "dtype" or "torch_dtype", "" if absent
  // The family's block options (models/arch.h) with what this config adds: hidden_act, sliding_window,
  // soft-capping, partial_rotary_factor, no_rope_layers, query_pre_attn_scalar, biases.
  BlockOptions block;
  std::vector<uint8_t> sliding_layers;  // per layer, 1 = sliding window (layer_types); empty = every layer alike
  std::vector<uint8_t> rope_layers;     // per layer, 0 = no RoPE (no_rope_layers); empty = RoPE everywhere
  double rope_local_theta = 0;          // Gemma 3's sliding layers' base; 0 = rope_theta
};

// Parses JSON text; `path` is used in errors. Throws FormatError(path, field, ...).
HFConfig parse_hf_config(const std::string& json_text, const std::string& path);
// Reads `path`, which is a config.json or a directory containing one.
HFConfig load_hf_config(const std::string& path);

}  // namespace edgellm
