// The decoder of every family in models/arch.h (Llama 1/2/3, Mistral, Qwen2/3, Gemma 2/3, Phi-3, SmolLM3, GPT-2) for inference:
// weights, KV cache, and a batched forward pass over T new tokens. Training lives in train/.
#pragma once

#include <any>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/llama_config.h"
#include "runtime/tensor.h"

namespace edgellm {

// A LoRA adapter on one linear layer: y += scale · (x·Aᵀ)·Bᵀ, A (r, in), B (out, r), scale = alpha / r.
struct LoraPair {
  Tensor A, B;
  float scale = 0;
  // The LinearKind whose LoRA-dropout mask this adapter's input shares (a fused PEFT module's linears: one
  // input, one mask, train/peft_modules.h); -1: its own.
  int dropout_as = -1;
  bool defined() const { return A.defined(); }
};

// The seven linear layers of a block, by PEFT's module names.
enum class LinearKind { Q, K, V, O, Gate, Up, Down };
constexpr int kNumLinearKinds = 7;
const char* peft_module_name(LinearKind k);  // q_proj k_proj v_proj o_proj gate_proj up_proj down_proj
LinearKind linear_kind_from_peft(const std::string& name);  // throws Error on an unknown name

// Weight names follow GGUF's (blk.N.attn_q.weight ...); shapes are row-major (out, in).
struct LlamaLayer {
  Tensor attn_norm;          // (C)
  Tensor wq, wk, wv, wo;     // (NH·HD, C), (KVH·HD, C), (KVH·HD, C), (C, NH·HD)
  Tensor bq, bk, bv;         // qwen2 only: (NH·HD), (KVH·HD), (KVH·HD)
  Tensor bo;                 // (C) GPT-2, Llama with attention_bias
  Tensor ffn_norm;           // (C)
  Tensor w_gate, w_up;       // (F, C); no gate for a plain GELU MLP (GPT-2)
  Tensor w_down;             // (C, F)
  Tensor b_gate, b_up, b_down;          // mlp_bias: (F), (F), (C)
  Tensor attn_norm_b, ffn_norm_b;       // LayerNorm biases (C)
  Tensor attn_post_norm, ffn_post_norm; // Gemma's norms after attention and after the MLP (C)
  Tensor q_norm, k_norm;                // QK-norm weights (HD), shared by the heads
  LoraPair lora[kNumLinearKinds];  // optional adapters, applied unmerged

  const Tensor& weight(LinearKind k) const;
  Tensor& weight(LinearKind k);
  const Tensor& bias(LinearKind k) const;  // undefined for layers without one
  Tensor& bias(LinearKind k);
  // Every tensor of the layer beside the seven linears (norms, biases), for counting and checks.
  std::vector<const Tensor*> small_tensors() const;
};

struct LlamaWeights {
  Tensor tok_embd;  // (V, C)
  std::vector<LlamaLayer> layers;
  Tensor pos_embd;  // (max_ctx, C) learned positions (GPT-2), else undefined
  Tensor out_norm;  // (C)
  Tensor out_norm_b;  // (C) LayerNorm bias
  Tensor output;    // (V, C); the same tensor as tok_embd when tied
};

struct LlamaModel;
struct KvCache;

// A device that runs the forward pass instead of the CPU (models/vulkan/llama_vulkan.h sets one on a model):
// it owns the weights and the KV cache on the device; `cache.len` stays the source of truth for positions.
struct LlamaBackend {
  virtual ~LlamaBackend() = default;
  virtual std::string name() const = 0;
  virtual void forward(const LlamaModel& m, KvCache& cache, const int32_t* ids, int64_t T, float* logits,
                       bool all_logits) = 0;
};

struct LlamaModel {
  LlamaConfig config;
  LlamaWeights weights;
  std::string source;            // the file or directory it came from
  std::vector<std::any> keep;    // keeps mapped files (and the like) alive
  std::shared_ptr<LlamaBackend> backend;  // null: the CPU kernels; else llama_forward runs on it
  // Checks every tensor's presence and shape against the config; throws FormatError naming source.
  void validate() const;
  int64_t n_params() const;
  size_t weight_bytes() const;
};

// Keys and values of every layer: (n_layers, capacity, KVH, HD) each, f32.
struct KvCache {
  KvCache(const LlamaConfig& c, int64_t capacity, MemoryArena* arena = nullptr);
  Tensor k, v;
  int64_t len = 0;
  int64_t capacity = 0;
  void clear() { len = 0; }
};

// Called with intermediate activations: "embed", "layer<i>_out", "final_norm_out"; (rows, cols).
using ActivationObserver = std::function<void(const std::string& name, const float* data, int64_t rows, int64_t cols)>;

// y (M, out) = x (M, in)·Wᵀ + b, plus the layer's LoRA adapter when it has one. exact: a quantized W is
// multiplied in f32 (kernels/linear.h QuantMath::Exact; training), else with 8-bit activations (inference).
void linear_with_lora(float* y, const float* x, const Tensor& W, const Tensor& bias, const LoraPair& lora, int64_t M,
                      bool exact = false);

// Evaluates tokens ids (T) after the cache's contents and appends their keys/values.
// logits: (T, V) when all_logits, else (1, V) for the last token. Throws Error if the cache is full.
void llama_forward(const LlamaModel& m, KvCache& cache, const int32_t* ids, int64_t T, float* logits,
                   bool all_logits, const ActivationObserver* observer = nullptr);

// x (T, C) ← the embedding of tokens ids (T) at positions pos0 .. pos0+T−1: token rows, × √C (Gemma), + learned
// positions (GPT-2). The one embedding of the forward, also what calibration (quant/) feeds the first block.
void embed_tokens(const LlamaModel& m, const int32_t* ids, int64_t T, int64_t pos0, float* x);

// cos, sin (T, D/2), D = c.rope_dims(), for absolute positions pos0 .. pos0+T−1; local: the sliding layers' base.
// Scaled RoPE: the frequencies of a call reaching pos0 + T (dynamic, longrope), cos and sin × the attention factor
// (yarn, longrope). Dynamic follows transformers for calls of growing length (a KV cache filled in order); keys
// already cached keep the rotation of the call that wrote them, as transformers' cache does.
void rope_tables(const LlamaConfig& c, int64_t pos0, int64_t T, float* cos, float* sin, bool local = false);

// x (T, C) = the embedding of ids at positions pos0 .. pos0+T−1: token rows, × √C (Gemma), + learned positions
// (GPT-2). The CPU forward's and the Vulkan forward's, so both embed alike. ids are not checked here.
void embed_tokens(const LlamaModel& m, const int32_t* ids, int64_t T, int64_t pos0, float* x);

}  // namespace edgellm
