// The family steps of the transformer block on Vulkan (models/arch.h's options), shared by the forward
// (llama_vulkan.cpp) and training (grad_vulkan.cpp): norms by their place (RMSNorm, or LayerNorm with its bias),
// QK-norm, RoPE of a layer (partial, none, local or global base), the attention of a layer (window, soft-cap,
// scale), the MLP's activation, and the embedding's device tables. Not the block's sequence (models/block.h).
#pragma once

#include <cstdint>

#include "kernels/vulkan/ops.h"
#include "models/block.h"

namespace edgellm {

// One layer's norm weights on the device, by BlockNorm (attn, ffn, attn_post, ffn_post (C); q, k (HD)), and the
// LayerNorm biases of attn and ffn (C). Gemma's 1 + w is already folded in by the loaders.
struct DeviceNorms {
  vk::Buffer w[6];
  vk::Buffer b[2];
};
DeviceNorms upload_norms(vk::Context& c, const LlamaConfig& cf, const LlamaLayer& L);

// y (rows, C) = the norm at place `which` of x: RMSNorm, or LayerNorm with its bias (GPT-2). rstd (rows) or null.
void block_norm(vk::Batch& b, const LlamaConfig& cf, const DeviceNorms& n, vk::View y, const vk::Buffer* rstd,
                vk::View x, BlockNorm which, uint32_t rows);
// QK-norm: each (row, head) of x (rows, heads, HD) is one RMSNorm row of HD into y, with w (HD) shared by the
// heads; rstd (rows·heads) or null. In place allowed. Its backward is RMSNorm's over those rows·heads rows:
// dx += ∂/∂x, dw (HD) += the sum over every (row, head); views at offset 0 (the training buffers are whole).
void block_head_norm(vk::Batch& b, const LlamaConfig& cf, const vk::Buffer& w, vk::View y, const vk::Buffer* rstd,
                     vk::View x, uint32_t heads, uint32_t rows);
void block_head_norm_backward(vk::Batch& b, const LlamaConfig& cf, const vk::Buffer& w, const vk::Buffer& dw,
                              vk::View dx, vk::View dy, vk::View x, vk::View rstd, uint32_t heads, uint32_t rows);

// The RoPE tables of one walk on the device: global and, with two bases (Gemma 3), local; (T, rope_dims/2) each,
// positions pos0 .. pos0 + T − 1 (models/llama.h rope_tables: linear or llama3 scaling included).
struct DeviceRope {
  vk::Buffer cos, sin, cos_local, sin_local;
  uint32_t cap = 0;  // positions the buffers hold
  void upload(vk::Batch& b, const LlamaConfig& cf, int64_t pos0, uint32_t T);
};

// RoPE of layer l on B sequences of T rows (heads, HD) each, y and x at row stride heads·HD; nothing on a layer
// without RoPE (NoPE, learned positions). backward: y += Rᵀ·x.
void block_rope(vk::Batch& b, const LlamaConfig& cf, const DeviceRope& r, int64_t l, vk::View y, vk::View x,
                int64_t heads, uint32_t T, uint32_t B, bool backward);

// The attention of layer l for T queries at pos0 over keys 0 .. pos0 + T − 1: its window (sliding layers), soft-cap
// and scale (query_pre_attn_scalar), as CpuBlockOps::attention sets them.
AttentionDims block_attention_dims(const LlamaConfig& cf, int64_t l, int64_t T, int64_t pos0);

// The gated MLP's h = silu(gate)·up, or tanh-GELU(gate)·up (GeGLU). (The plain MLP's gelu is vk::gelu_forward.)
void block_glu(vk::Batch& b, const LlamaConfig& cf, vk::View h, vk::View gate, vk::View up, uint32_t n);

}  // namespace edgellm
