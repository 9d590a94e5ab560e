// PEFT's names for a family's linear modules, and how a module maps onto edgellm's split linears: a fused module
// (Phi-3's qkv_proj / gate_up_proj, GPT-2's c_attn) is one LoRA pair whose A all its linears share and whose B
// rows are theirs in order. Not the adapters' math (models/block.cpp) nor their files (train/lora_io.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/llama.h"

namespace edgellm {

// One target module of a layer: PEFT's target name, its path under the layer, and the linears it covers in
// row order. GPT-2 names two modules c_proj (attn.c_proj and mlp.c_proj): a target names both, as in PEFT.
struct PeftModule {
  std::string name;               // "qkv_proj", "c_attn", "q_proj" ...
  std::string path;               // "self_attn.qkv_proj", "attn.c_attn" ...
  std::vector<LinearKind> kinds;  // Q, K, V for a fused qkv; one kind otherwise
};

// The family's modules, in a fixed order (attention, then MLP).
const std::vector<PeftModule>& peft_modules(const LlamaConfig& c);
// "base_model.model.model.layers.3.self_attn.qkv_proj" (GPT-2: "base_model.model.transformer.h.3.attn.c_attn").
std::string peft_module_prefix(const LlamaConfig& c, int64_t layer, const PeftModule& m);
// Throws Error naming the family's module names when `target` names none of them.
void check_peft_target(const LlamaConfig& c, const std::string& target);
// What LoRA targets when none are named: attention's query and value (q_proj, v_proj), or the fused module
// holding them (qkv_proj for Phi-3, c_attn for GPT-2).
std::vector<std::string> default_peft_targets(const LlamaConfig& c);
// The module that covers `kind`.
const PeftModule& peft_module_of(const LlamaConfig& c, LinearKind kind);
// Rows of the module's B (its linears' outputs, concatenated) that `kind` owns: [begin, end).
std::pair<int64_t, int64_t> peft_rows_of(const LlamaConfig& c, const PeftModule& m, LinearKind kind);

}  // namespace edgellm
