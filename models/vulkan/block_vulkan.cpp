// The family steps of the block on Vulkan (block_vulkan.h): each picks its shader from the layer's options, as
// CpuBlockOps does on the CPU. Not the block's sequence (models/block.h) and not the weights' upload (device_weight.h).
#include "models/vulkan/block_vulkan.h"

#include <vector>

#include "kernels/attention.h"
#include "models/vulkan/device_weight.h"
#include "runtime/error.h"

namespace edgellm {

DeviceNorms upload_norms(vk::Context& c, const LlamaConfig& cf, const LlamaLayer& L) {
  DeviceNorms n;
  const Tensor* w[6] = {&L.attn_norm, &L.ffn_norm, &L.attn_post_norm, &L.ffn_post_norm, &L.q_norm, &L.k_norm};
  for (int i = 0; i < 6; ++i)
    if (w[i]->defined()) n.w[i] = upload_f32(c, *w[i]);
  if (cf.block.norm == NormKind::LayerNorm) {
    EDGE_CHECK(L.attn_norm_b.defined() && L.ffn_norm_b.defined(), "Vulkan: {} LayerNorm without its biases", cf.arch);
    n.b[0] = upload_f32(c, L.attn_norm_b);
    n.b[1] = upload_f32(c, L.ffn_norm_b);
  }
  return n;
}

void block_norm(vk::Batch& b, const LlamaConfig& cf, const DeviceNorms& n, vk::View y, const vk::Buffer* rstd,
                vk::View x, BlockNorm which, uint32_t rows) {
  const int i = static_cast<int>(which);
  EDGE_CHECK(i < 4, "block_norm: norm {} is a per-head norm (block_head_norm)", i);
  EDGE_CHECK(n.w[i].defined(), "Vulkan: {} has no weight for norm {}", cf.arch, i);
  const uint32_t C = static_cast<uint32_t>(cf.dim);
  if (cf.block.norm != NormKind::LayerNorm) return vk::rmsnorm_forward(b, y, rstd, x, n.w[i], rows, C, cf.rms_eps);
  // GPT-2 has no post-norms; a LayerNorm family with them would need their biases here.
  EDGE_CHECK(i < 2, "Vulkan: LayerNorm post-norms are not implemented ({})", cf.arch);
  vk::layernorm_forward(b, y, rstd, x, n.w[i], n.b[i], rows, C, cf.rms_eps);
}

void block_head_norm(vk::Batch& b, const LlamaConfig& cf, const vk::Buffer& w, vk::View y, const vk::Buffer* rstd,
                     vk::View x, uint32_t heads, uint32_t rows) {
  EDGE_CHECK(w.defined(), "Vulkan: {} has no QK-norm weight", cf.arch);
  vk::rmsnorm_forward(b, y, rstd, x, w, rows * heads, static_cast<uint32_t>(cf.head_dim), cf.rms_eps);
}

void block_head_norm_backward(vk::Batch& b, const LlamaConfig& cf, const vk::Buffer& w, const vk::Buffer& dw,
                              vk::View dx, vk::View dy, vk::View x, vk::View rstd, uint32_t heads, uint32_t rows) {
  EDGE_CHECK(dx.off == 0 && dy.off == 0 && x.off == 0 && rstd.off == 0,
             "block_head_norm_backward: the RMSNorm backward shaders take whole buffers");
  vk::rmsnorm_backward(b, *dx.b, dw, *dy.b, *x.b, w, *rstd.b, rows * heads, static_cast<uint32_t>(cf.head_dim));
}

void DeviceRope::upload(vk::Batch& b, const LlamaConfig& cf, int64_t pos0, uint32_t T) {
  const size_t n = static_cast<size_t>(T) * static_cast<size_t>(cf.rope_dims() / 2);
  const bool local = cf.rope_theta_local > 0;
  if (T > cap) {
    vk::Context& c = b.ctx();
    cos = c.alloc(n * 4), sin = c.alloc(n * 4);
    if (local) cos_local = c.alloc(n * 4), sin_local = c.alloc(n * 4);
    cap = T;
  }
  std::vector<float> cs(n), sn(n);
  rope_tables(cf, pos0, T, cs.data(), sn.data());
  b.upload(cos, cs.data(), n * 4);
  b.upload(sin, sn.data(), n * 4);
  if (!local) return;
  rope_tables(cf, pos0, T, cs.data(), sn.data(), true);
  b.upload(cos_local, cs.data(), n * 4);
  b.upload(sin_local, sn.data(), n * 4);
}

void block_rope(vk::Batch& b, const LlamaConfig& cf, const DeviceRope& r, int64_t l, vk::View y, vk::View x,
                int64_t heads, uint32_t T, uint32_t B, bool backward) {
  if (!cf.layer_ropes(l)) return;  // learned positions (GPT-2) or a NoPE layer (SmolLM3)
  const bool local = cf.layer_local_rope(l);
  const uint32_t HD = static_cast<uint32_t>(cf.head_dim), st = static_cast<uint32_t>(heads) * HD;
  // B sequences of T rows, each starting at the tables' first position
  vk::rope(b, y, st, x, st, local ? r.cos_local : r.cos, local ? r.sin_local : r.sin, T, static_cast<uint32_t>(heads), HD,
           cf.rope_pairing, backward, static_cast<uint32_t>(cf.rope_dims()), B);
}

AttentionDims block_attention_dims(const LlamaConfig& cf, int64_t l, int64_t T, int64_t pos0) {
  AttentionDims d = attention_dims(T, cf.n_heads, cf.n_kv_heads, cf.head_dim, pos0);
  // A window no wider than the keys changes nothing: left off, so walks with a backward keep theirs.
  if (cf.layer_slides(l) && pos0 + T > cf.block.sliding_window) d.window = cf.block.sliding_window;
  d.softcap = cf.block.attn_softcap;
  if (cf.block.query_scale > 0) d.scale = cf.block.query_scale;
  return d;
}

void block_glu(vk::Batch& b, const LlamaConfig& cf, vk::View h, vk::View gate, vk::View up, uint32_t n) {
  EDGE_CHECK(cf.block.mlp != MlpKind::Gelu, "block_glu: {}'s MLP has no gate", cf.arch);
  if (cf.block.mlp == MlpKind::GeluTanhGlu) return vk::geglu_forward(b, h, gate, up, n);
  vk::elementwise(b, vk::Ew::Swiglu, h, gate, up, n);
}

}  // namespace edgellm
