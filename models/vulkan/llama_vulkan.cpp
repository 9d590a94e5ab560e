// The Llama forward on Vulkan, read top to bottom like models/llama.cpp: embed (CPU rows, uploaded) →
// N × block (models/block.h, its ops as Vulkan dispatches) recorded into one batch → norm → logits,
// downloaded. Not the CPU path; no observers.
#include "models/vulkan/llama_vulkan.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <vector>

#include "kernels/attention.h"
#include "kernels/linear.h"
#include "kernels/vulkan/ops.h"
#include "models/block.h"
#include "models/vulkan/block_vulkan.h"
#include "models/vulkan/device_weight.h"
#include "runtime/error.h"

namespace edgellm {
namespace {

struct DevLayer {
  DeviceNorms norms;
  vk::Buffer bias[kNumLinearKinds];  // where the layer has one (q/k/v: qwen2; o and the MLP's: GPT-2)
  DeviceWeight w[kNumLinearKinds];
  DeviceWeight lora_a[kNumLinearKinds], lora_b[kNumLinearKinds];
  float lora_scale[kNumLinearKinds] = {};
};

class VulkanLlama final : public LlamaBackend {
 public:
  VulkanLlama(const LlamaModel& m, int device) : c_(vk::context(device)) {
    const LlamaConfig& cf = m.config;
    std::map<std::string, int> conv;  // dtype -> tensors converted to f32
    for (const LlamaLayer& L : m.weights.layers) {
      DevLayer d;
      d.norms = upload_norms(c_, cf, L);
      for (int i = 0; i < kNumLinearKinds; ++i) {
        const LinearKind kind = static_cast<LinearKind>(i);
        if (!L.weight(kind).defined()) continue;  // no gate in a plain GELU MLP (GPT-2)
        d.w[i] = upload_weight(c_, L.weight(kind), &conv);
        if (L.bias(kind).defined()) d.bias[i] = upload_f32(c_, L.bias(kind));
        if (L.lora[i].defined()) {
          d.lora_a[i] = upload_weight(c_, L.lora[i].A, &conv);
          d.lora_b[i] = upload_weight(c_, L.lora[i].B, &conv);
          d.lora_scale[i] = L.lora[i].scale;
        }
      }
      layers_.push_back(std::move(d));
    }
    out_norm_ = upload_f32(c_, m.weights.out_norm);
    if (cf.block.norm == NormKind::LayerNorm) out_norm_b_ = upload_f32(c_, m.weights.out_norm_b);
    output_ = upload_weight(c_, m.weights.output, &conv);
    for (const auto& [type, n] : conv)
      fmt::print(stderr, "note: Vulkan has no {} matmul shader: {} weights of {} uploaded as f32\n", type, n, m.source);
  }

  std::string name() const override { return "Vulkan device '" + c_.info().name + "'"; }

  void forward(const LlamaModel& m, KvCache& cache, const int32_t* ids, int64_t Tn, float* logits,
               bool all_logits) override;

 private:
  struct BlockOps;
  void ensure(const LlamaModel& m, const KvCache& cache, uint32_t T);
  // y (T, N) = x (T, K)·Wᵀ [+ bias] [+ LoRA]
  void lin(vk::Batch& b, vk::View y, vk::View x, const DevLayer& d, int kind, const vk::Buffer* bias, uint32_t T);

  vk::Context& c_;
  vk::Batch batch_{c_};  // reused by every forward (its staging buffer and command buffer stay allocated)
  std::vector<DevLayer> layers_;
  vk::Buffer out_norm_, out_norm_b_;
  DeviceWeight output_;
  // Device KV cache (n_layers, capacity, KVH, HD) each, for the host KvCache it mirrors.
  vk::Buffer kc_, vc_;
  const KvCache* owner_ = nullptr;
  int64_t cap_ = 0;
  // Activations for up to tmax_ tokens: x, xn (T, C); q, att (T, NH·HD); gate, up (T, F); tmp (T, C);
  // lora_u (T, r_max); ones (T); logits (T, V); the RoPE tables of the forward's positions.
  uint32_t tmax_ = 0;
  vk::Buffer x_, xn_, q_, att_, gate_, up_, tmp_, lora_u_, ones_, logits_;
  DeviceRope rope_;
};

void VulkanLlama::ensure(const LlamaModel& m, const KvCache& cache, uint32_t T) {
  const LlamaConfig& cf = m.config;
  if (owner_ != &cache || cap_ != cache.capacity) {
    if (cache.len != 0)
      fail("Vulkan: a KV cache that already holds {} positions from the CPU cannot continue on the device",
           cache.len);
    kc_.release(), vc_.release();
    const size_t bytes = static_cast<size_t>(cf.n_layers * cache.capacity * cf.kv_dim()) * 4;
    kc_ = c_.alloc(bytes), vc_ = c_.alloc(bytes);
    owner_ = &cache, cap_ = cache.capacity;
  }
  if (T <= tmax_) return;
  tmax_ = T;
  auto f = [&](int64_t n) { return c_.alloc(static_cast<size_t>(n) * 4); };
  int64_t r_max = 1;
  for (const DevLayer& d : layers_)
    for (const DeviceWeight& a : d.lora_a) r_max = std::max<int64_t>(r_max, a.N);
  x_ = f(T * cf.dim), xn_ = f(T * cf.dim), tmp_ = f(T * cf.dim);
  q_ = f(T * cf.q_dim()), att_ = f(T * cf.q_dim());
  gate_ = f(T * cf.ffn_dim), up_ = f(T * cf.ffn_dim);
  lora_u_ = f(T * r_max);
  logits_ = f(T * cf.vocab);
  ones_ = f(T);
  const std::vector<float> ones(T, 1.0f);
  c_.upload(ones_, ones.data(), T * 4);
}

// The block's ops (models/block.h) as dispatches into one batch: T tokens at pos0, keys from the device cache.
struct VulkanLlama::BlockOps {
  VulkanLlama& self;
  vk::Batch& b;
  const LlamaConfig& cf;
  const DevLayer& d;
  uint32_t T, pos0, base;  // base: this layer's first cache element
  int64_t layer;           // its window, RoPE base, RoPE or not (block_vulkan.h)
  static constexpr bool kFamilyOps = true;

  void norm(vk::View y, vk::View rstd, vk::View x, BlockNorm which, int64_t rows) {
    block_norm(b, cf, d.norms, y, rstd.b, x, which, static_cast<uint32_t>(rows));
  }
  void head_norm(vk::View y, vk::View rstd, vk::View x, BlockNorm which, int64_t heads, int64_t rows) {
    block_head_norm(b, cf, d.norms.w[static_cast<int>(which)], y, rstd.b, x, static_cast<uint32_t>(heads),
                    static_cast<uint32_t>(rows));
  }
  void linear(vk::View y, vk::View x, LinearKind kind, int64_t rows) {
    const vk::Buffer& bias = d.bias[static_cast<int>(kind)];
    self.lin(b, y, x, d, static_cast<int>(kind), bias.defined() ? &bias : nullptr, static_cast<uint32_t>(rows));
  }
  void rope(vk::View p, int64_t heads) { block_rope(b, cf, self.rope_, layer, p, p, heads, T, 1, false); }
  void attention(vk::View o, vk::View lse, vk::View q, vk::View, vk::View) {
    const AttentionDims ad = block_attention_dims(cf, layer, T, pos0);
    vk::attention_forward(b, o, lse.b, q, {&self.kc_, base}, {&self.vc_, base}, ad);
  }
  void add(vk::View y, vk::View a, vk::View c, int64_t n) {
    vk::elementwise(b, vk::Ew::Add, y, a, c, static_cast<uint32_t>(n));
  }
  void glu(vk::View h, vk::View gate, vk::View up, int64_t n) { block_glu(b, cf, h, gate, up, static_cast<uint32_t>(n)); }
  void act(vk::View h, vk::View up, int64_t n) { vk::gelu_forward(b, h, up, static_cast<uint32_t>(n)); }
};

void VulkanLlama::lin(vk::Batch& b, vk::View y, vk::View x, const DevLayer& d, int kind, const vk::Buffer* bias,
                      uint32_t T) {
  const DeviceWeight& w = d.w[kind];
  vk::linear(b, y, x, w.buf, 0, w.type, T, w.N, w.K);
  // bias: y += ones (T, 1) · bias (1, N)
  if (bias) vk::gemm_f32(b, y, w.N, {&ones_, 0}, 1, 1, {bias, 0}, w.N, 1, T, w.N, 1, 1.0f, 1.0f);
  if (d.lora_a[kind].buf.defined()) {
    const DeviceWeight &A = d.lora_a[kind], &B = d.lora_b[kind];
    vk::linear(b, {&lora_u_, 0}, x, A.buf, 0, A.type, T, A.N, A.K);  // u (T, r) = x·Aᵀ
    // y += scale · u·Bᵀ through the f32 GEMM's alpha/beta (B is f32 or converted on upload).
    if (B.type == DType::F32)
      vk::gemm_f32(b, y, w.N, {&lora_u_, 0}, A.N, 1, {&B.buf, 0}, 1, B.K, T, B.N, B.K, d.lora_scale[kind], 1.0f);
    else
      fail("Vulkan: LoRA B matrices must be f32, got {}", dtype_name(B.type));
  }
}

void VulkanLlama::forward(const LlamaModel& m, KvCache& cache, const int32_t* ids, int64_t Tn, float* logits,
                          bool all_logits) {
  const LlamaConfig& cf = m.config;
  const uint32_t T = static_cast<uint32_t>(Tn);
  const uint32_t C = static_cast<uint32_t>(cf.dim), V = static_cast<uint32_t>(cf.vocab);
  const uint32_t kv_row = static_cast<uint32_t>(cf.kv_dim());
  ensure(m, cache, T);
  const int64_t pos0 = cache.len;

  // Embedding rows (T, C) and RoPE tables (T, rope_dims/2) on the CPU, uploaded.
  std::vector<float> x(static_cast<size_t>(T) * C);
  embed_tokens(m, ids, T, pos0, x.data());
  vk::Batch& b = batch_;
  b.upload(x_, x.data(), x.size() * 4);
  if (cf.block.positions == PositionKind::Rope) rope_.upload(b, cf, pos0, T);

  for (uint32_t l = 0; l < cf.n_layers; ++l) {
    const uint32_t base = static_cast<uint32_t>(l * cap_ * kv_row);  // this layer's cache rows
    const uint32_t at = base + static_cast<uint32_t>(pos0) * kv_row;  // the new tokens' rows
    BlockOps ops{*this, b, cf, layers_[l], T, static_cast<uint32_t>(pos0), base, l};
    // In place on x (h is gate), keys and values straight into the cache, as the CPU forward does; the family
    // steps in place too (q, k before QK-norm are q, k; the outputs before post-norms are tmp).
    const BlockBuffers<vk::View> a{{&x_, 0},    {&x_, 0},    {&x_, 0},   {&xn_, 0}, {},         {&q_, 0},
                                   {&kc_, at},  {&vc_, at},  {&att_, 0}, {},        {&xn_, 0},  {},
                                   {&gate_, 0}, {&up_, 0},   {&gate_, 0}, {&tmp_, 0},
                                   {&q_, 0},    {&kc_, at},  {},         {},        {&tmp_, 0}, {},
                                   {&tmp_, 0},  {}};
    block_forward(ops, cf, a, T);
  }
  // ---- head: final norm, logits, soft-cap (Gemma 2) ----
  if (cf.block.norm == NormKind::LayerNorm)
    vk::layernorm_forward(b, {&xn_, 0}, nullptr, {&x_, 0}, out_norm_, out_norm_b_, T, C, cf.rms_eps);
  else
    vk::rmsnorm_forward(b, {&xn_, 0}, nullptr, {&x_, 0}, out_norm_, T, C, cf.rms_eps);
  const uint32_t rows = all_logits ? T : 1, first = all_logits ? 0 : T - 1;
  vk::linear(b, {&logits_, 0}, {&xn_, first * C}, output_.buf, 0, output_.type, rows, V, C);
  if (cf.block.final_softcap > 0)
    vk::softcap_forward(b, {&logits_, 0}, {&logits_, 0}, rows * V, static_cast<float>(cf.block.final_softcap));
  b.download(logits_, logits, static_cast<size_t>(rows) * V * 4);
  b.submit();  // the one submit of this forward: uploads, every layer's dispatches, the logits' download
  cache.len = pos0 + Tn;
}

}  // namespace

void use_vulkan(LlamaModel& m, int device) {
  // Every family option of models/arch.h is implemented here (BlockOps::kFamilyOps).
  m.backend = std::make_shared<VulkanLlama>(m, device);
}

}  // namespace edgellm
