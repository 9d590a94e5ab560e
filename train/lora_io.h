// LoRA adapters on disk: PEFT's directory (adapter_config.json + adapter_model.safetensors) and
// llama.cpp's LoRA GGUF, loading onto a model (applied unmerged), merging into the base, and writing
// a Llama model as GGUF. Not a trainer: adapters are trained by train/llama_grad.h.
#pragma once

#include <string>
#include <vector>

#include "models/llama.h"
#include "models/tokenizer.h"
#include "runtime/safetensors.h"
#include "train/llama_grad.h"

namespace edgellm {

// Whether the model's Q/K rows are in llama.cpp's per-head permuted order (llama/mistral GGUFs and
// built-in models: RoPE on adjacent pairs) rather than Hugging Face's (rotate-half).
bool qk_rows_gguf_order(const LlamaConfig& c);
// Rows of a (heads·HD, cols) f32 matrix between HF order and GGUF order, per head:
// GGUF row 2j ← HF row j, GGUF row 2j+1 ← HF row HD/2 + j.
void qk_rows_hf_to_gguf(float* dst, const float* src, int64_t heads, int64_t HD, int64_t cols);
void qk_rows_gguf_to_hf(float* dst, const float* src, int64_t heads, int64_t HD, int64_t cols);

// PEFT's directory: adapter_config.json (r, lora_alpha, lora_dropout, target_modules, bias "none",
// task_type CAUSAL_LM, peft_type LORA, base_model_name_or_path) and adapter_model.safetensors with
// keys base_model.model.model.layers.N.{self_attn,mlp}.X.lora_{A,B}.weight in HF row order.
void save_peft_adapter(const LlamaModel& m, const LoraConfig& c, const std::string& base_model, const std::string& dir);
// llama.cpp's LoRA GGUF: general.type "adapter", adapter.type "lora", adapter.lora.alpha,
// blk.N.<tensor>.weight.lora_a (r, in) and .lora_b (out, r), lora_b of q/k in GGUF row order.
void save_lora_gguf(const LlamaModel& m, float alpha, const std::string& path);

// Attaches an adapter (a PEFT directory or a LoRA .gguf) to `m`'s layers, replacing any there.
// Throws FormatError naming the file and tensor for shapes that disagree with the model, unknown
// tensor names, DoRA or per-module rank/alpha patterns. Returns the adapter's settings.
LoraConfig load_lora(LlamaModel& m, const std::string& path);
// load_lora's PEFT half on files already read: `config_json` is adapter_config.json's text (`config_path`
// names it in errors), `f` the parsed adapter_model.safetensors. The fuzz target's entry point.
LoraConfig load_peft_adapter(LlamaModel& m, const std::string& config_json, const std::string& config_path,
                             const SafetensorsFile& f);

// W ← W + scale·B·A for every adapter, then drops the adapters. Weights that were f32/f16/bf16
// keep their type (rounded back); quantized ones become f32 (no quantizer here).
void merge_lora(LlamaModel& m);

// Parameter gradients of a full-FT LlamaGrad with Q/K rows in HF order (for `edgellm grad`).
std::vector<std::pair<std::string, Tensor>> hf_ordered_grads(LlamaGrad& g);

}  // namespace edgellm
