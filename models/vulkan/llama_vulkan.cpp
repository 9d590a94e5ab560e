// The Llama forward on Vulkan, read top to bottom like models/llama.cpp: embed (CPU rows, uploaded) →
// N × block (models/block.h, its ops as Vulkan dispatches) recorded into one batch → norm → logits,
// downloaded. A decode step (one token) is recorded once and replayed, its ops fused (DecodeOps). Not the CPU
// path; no observers.
#include "models/vulkan/llama_vulkan.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
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
  DeviceWeight w[kNumLinearKinds];  // w[i].buf is empty where weight i lives in a group below
  DeviceWeight lora_a[kNumLinearKinds], lora_b[kNumLinearKinds];
  float lora_scale[kNumLinearKinds] = {};
  // q|k|v and gate|up stored back to back when their types match, so one fused dispatch reads each group (the
  // prompt's GEMMs address each part by its offset): weight i is in group[slot[i] - 1] at byte off[i].
  vk::Buffer group[2];
  int slot[kNumLinearKinds] = {};
  uint32_t off[kNumLinearKinds] = {};
  const vk::Buffer& buf(int kind) const { return slot[kind] ? group[slot[kind] - 1] : w[kind].buf; }
};

// Uploads weights `kinds` of L into one buffer (group `g` of d) when they share a shader type and row length;
// otherwise each on its own. Returns whether they were grouped.
bool upload_group(vk::Context& c, const LlamaLayer& L, std::initializer_list<LinearKind> kinds, DevLayer& d, int g,
                  std::map<std::string, int>* conv) {
  const Tensor& first = L.weight(*kinds.begin());
  bool same = vk::weight_type_supported(first.dtype()) && !dtype_is_gint(first.dtype());
  size_t bytes = 0;
  for (LinearKind k : kinds) {
    const Tensor& t = L.weight(k);
    same = same && t.dtype() == first.dtype() && t.shape().ndim == 2 && t.is_contiguous() &&
           t.shape().cols() == first.shape().cols();
    bytes += t.nbytes();
  }
  if (!same) {
    for (LinearKind k : kinds) d.w[static_cast<int>(k)] = upload_weight(c, L.weight(k), conv);
    return false;
  }
  std::vector<uint8_t> host(bytes);
  size_t at = 0;
  for (LinearKind k : kinds) {
    const Tensor& t = L.weight(k);
    const int i = static_cast<int>(k);
    std::memcpy(host.data() + at, t.raw(), t.nbytes());
    d.w[i].type = t.dtype();
    d.w[i].N = static_cast<uint32_t>(t.shape().rows()), d.w[i].K = static_cast<uint32_t>(t.shape().cols());
    d.slot[i] = g + 1, d.off[i] = static_cast<uint32_t>(at);
    at += t.nbytes();
  }
  EDGE_CHECK(bytes < (size_t{1} << 32), "Vulkan: layer weights of {} bytes exceed 32-bit offsets", bytes);
  d.group[g] = c.alloc(bytes);
  c.upload(d.group[g], host.data(), bytes);
  return true;
}

class VulkanLlama final : public LlamaBackend {
 public:
  VulkanLlama(const LlamaModel& m, int device) : c_(vk::context(device)) {
    const LlamaConfig& cf = m.config;
    std::map<std::string, int> conv;  // dtype -> tensors converted to f32
    for (const LlamaLayer& L : m.weights.layers) {
      DevLayer d;
      d.norms = upload_norms(c_, cf, L);
      if (L.weight(LinearKind::Q).defined()) upload_group(c_, L, {LinearKind::Q, LinearKind::K, LinearKind::V}, d, 0, &conv);
      if (L.weight(LinearKind::Gate).defined()) upload_group(c_, L, {LinearKind::Gate, LinearKind::Up}, d, 1, &conv);
      for (int i = 0; i < kNumLinearKinds; ++i) {
        const LinearKind kind = static_cast<LinearKind>(i);
        if (!L.weight(kind).defined()) continue;  // no gate in a plain GELU MLP (GPT-2)
        if (!d.buf(i).defined()) d.w[i] = upload_weight(c_, L.weight(kind), &conv);
        if (L.bias(kind).defined()) d.bias[i] = upload_f32(c_, L.bias(kind)), fused_decode_ = false;
        if (L.lora[i].defined()) {
          fused_decode_ = false;
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
    // The fused decode step implements the plain Llama block without biases or adapters (DecodeOps);
    // EDGELLM_VULKAN_FUSED=0 forces the per-op recording every token (for tests and benchmarks).
    const char* env = std::getenv("EDGELLM_VULKAN_FUSED");
    fused_decode_ = fused_decode_ && !cf.qkv_bias && options_beyond_llama(cf.block, "model_type").empty() &&
                    cf.head_dim % 4 == 0 && cf.head_dim <= 256 && !(env && std::string(env) == "0");
  }

  std::string name() const override { return "Vulkan device '" + c_.info().name + "'"; }

  void forward(const LlamaModel& m, KvCache& cache, const int32_t* ids, int64_t Tn, float* logits,
               bool all_logits) override;

 private:
  struct BlockOps;
  struct DecodeOps;
  void ensure(const LlamaModel& m, const KvCache& cache, uint32_t T);
  void record_decode(const LlamaModel& m);
  // y (T, N) = x (T, K)·Wᵀ [+ bias] [+ LoRA]
  void lin(vk::Batch& b, vk::View y, vk::View x, const DevLayer& d, int kind, const vk::Buffer* bias, uint32_t T);

  vk::Context& c_;
  vk::Batch batch_{c_};  // reused by every forward (its staging buffer and command buffer stay allocated)
  std::vector<DevLayer> layers_;
  vk::Buffer out_norm_, out_norm_b_;
  DeviceWeight output_;
  // Device KV cache (n_layers, capacity, KVH, HD) each, for the host KvCache it mirrors; the decode step's
  // attention scratch (vk::attention_decode's work: zeroed here, its tickets back at zero after every dispatch).
  vk::Buffer kc_, vc_, attn_work_;
  const KvCache* owner_ = nullptr;
  int64_t cap_ = 0;
  // Activations for up to tmax_ tokens: x, xn (T, C); q, att (T, NH·HD); gate, up (T, F); tmp (T, C);
  // lora_u (T, r_max); ones (T); logits (T, V); the RoPE tables of the forward's positions.
  uint32_t tmax_ = 0;
  vk::Buffer x_, xn_, q_, att_, gate_, up_, tmp_, lora_u_, ones_, logits_;
  DeviceRope rope_;
  // The decode step, recorded once and replayed: host-visible step_ = [pos (uint), 3 unused, cos (HD/2),
  // sin (HD/2), the token's embedding (C)] written before each replay, logits_host_ (V) read after. The step's
  // head is copied into device-local dstep_ (4 + HD) first, so the shaders never read host memory across PCIe.
  bool fused_decode_ = true;
  vk::Batch decode_{c_, true};
  vk::Buffer step_, dstep_, logits_host_;
};

void VulkanLlama::ensure(const LlamaModel& m, const KvCache& cache, uint32_t T) {
  const LlamaConfig& cf = m.config;
  if (owner_ != &cache || cap_ != cache.capacity) {
    if (cache.len != 0)
      fail("Vulkan: a KV cache that already holds {} positions from the CPU cannot continue on the device",
           cache.len);
    kc_.release(), vc_.release();
    const size_t bytes = static_cast<size_t>(cf.n_layers * cache.capacity * cf.kv_dim()) * 4;
    decode_.reset();  // its recording binds the old cache
    kc_ = c_.alloc(bytes), vc_ = c_.alloc(bytes);
    owner_ = &cache, cap_ = cache.capacity;
    const std::vector<uint8_t> zeros(vk::attention_decode_work_bytes(
        static_cast<uint32_t>(cf.n_heads), static_cast<uint32_t>(cf.head_dim), static_cast<uint32_t>(cap_)));
    attn_work_ = c_.alloc(zeros.size());
    c_.upload(attn_work_, zeros.data(), zeros.size());
  }
  if (!logits_host_.defined()) {  // allocated last: defined means all three are
    step_ = c_.alloc(static_cast<size_t>(4 + cf.head_dim + cf.dim) * 4, true);
    dstep_ = c_.alloc(static_cast<size_t>(4 + cf.head_dim) * 4);
    logits_host_ = c_.alloc(static_cast<size_t>(cf.vocab) * 4, true);
  }
  if (T <= tmax_) return;
  decode_.reset();  // its recording binds the old activations
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
  vk::linear(b, y, x, d.buf(kind), d.off[kind], w.type, T, w.N, w.K);
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

// The block's ops for one decode step, fused: each op either waits for the next one to fold into it or records.
// The waits are the pairs of steps block_forward walks: a norm waits for the matvecs reading its output
// (RMSNorm folds into their prologue), q, k, v (gate, up) wait for each other (one dispatch over the grouped
// weights), RoPE marks the waiting q and k matvecs (their epilogue rotates), glu takes gate and up (one matvec
// writes silu(gate)·up), and o (down) waits for its residual add (y = x + W·h in place). What cannot fold
// records on its own (flush). k and v rows land at the cache position in the step buffer, so nothing here
// depends on the position. Assumes, as block_forward does, that a norm's output feeds only linears.
struct VulkanLlama::DecodeOps {
  VulkanLlama& self;
  vk::Batch& b;
  const LlamaConfig& cf;
  const DevLayer& d;
  struct Lin {
    LinearKind kind;
    vk::View y;
    bool rope = false;
  };
  const vk::Buffer* norm_w = nullptr;  // a norm waiting to fold into the matvecs that read norm_y
  vk::View norm_x, norm_y;
  bool norm_used = false;
  Lin lin[3] = {};  // matvecs waiting to be grouped, all reading lin_x (normalized when lin_norm)
  int n_lin = 0;
  vk::View lin_x;
  bool lin_norm = false;
  bool res = false;  // o or down waiting for its residual add
  Lin res_lin = {};
  vk::View res_x;

  static bool same(vk::View a, vk::View c) { return a.b == c.b && a.off == c.off; }
  vk::FusedOut out(const Lin& l) const {
    const bool kv = l.kind == LinearKind::K || l.kind == LinearKind::V;
    return {l.y, d.w[static_cast<int>(l.kind)].N, kv ? static_cast<uint32_t>(cf.kv_dim()) : 0u, kv, l.rope};
  }
  vk::FusedMatvec matvec(LinearKind first, vk::View x, bool normed) const {
    const int i = static_cast<int>(first);
    vk::FusedMatvec f;
    f.x = x, f.norm = normed ? norm_w : nullptr, f.eps = cf.rms_eps;
    f.w = &d.buf(i), f.w_byte_off = d.off[i], f.K = d.w[i].K, f.wt = d.w[i].type;
    f.HD = static_cast<uint32_t>(cf.head_dim), f.step = &self.dstep_;
    return f;
  }
  vk::FusedPair rope_pair() const {
    return cf.rope_pairing == RopePairing::Interleaved ? vk::FusedPair::RopeInterleaved : vk::FusedPair::RopeNeox;
  }

  void norm(vk::View y, vk::View, vk::View x, BlockNorm which, int64_t) {
    flush();
    norm_w = &d.norms.w[static_cast<int>(which)];
    norm_x = x, norm_y = y, norm_used = false;
  }
  void linear(vk::View y, vk::View x, LinearKind kind, int64_t) {
    if (kind == LinearKind::O || kind == LinearKind::Down) {
      flush();
      res = true, res_lin = {kind, y}, res_x = x;
      return;
    }
    const bool normed = norm_w && same(x, norm_y);
    if (n_lin > 0 && (n_lin == 3 || !same(normed ? norm_x : x, lin_x) || normed != lin_norm)) flush_lins();
    if (n_lin == 0) lin_x = normed ? norm_x : x, lin_norm = normed;
    lin[n_lin++] = {kind, y};
  }
  void rope(vk::View p, int64_t) {
    for (int i = 0; i < n_lin; ++i)
      if (same(lin[i].y, p)) return void(lin[i].rope = true);
    fail("Vulkan decode: RoPE of a tensor no waiting matvec writes (the fused step folds RoPE into q and k)");
  }
  void attention(vk::View o, vk::View, vk::View q, vk::View k, vk::View v) {
    flush();
    const AttentionDims ad = attention_dims(1, cf.n_heads, cf.n_kv_heads, cf.head_dim, 0);
    const bool ok = vk::attention_decode(b, o, q, k, v, static_cast<uint32_t>(ad.NH), static_cast<uint32_t>(ad.KVH),
                                         static_cast<uint32_t>(ad.HD), static_cast<uint32_t>(ad.k_stride),
                                         static_cast<float>(ad.scale), self.dstep_, static_cast<uint32_t>(self.cap_),
                                         &self.attn_work_);
    EDGE_CHECK(ok, "Vulkan decode: attention_decode does not apply to head_dim {}", cf.head_dim);
  }
  void add(vk::View y, vk::View a, vk::View c, int64_t n) {
    if (res && same(c, res_lin.y) && same(y, a)) {  // y = a + W·x: the matvec adds into y in place
      vk::FusedMatvec f = matvec(res_lin.kind, res_x, false);
      f.out[0] = {y, d.w[static_cast<int>(res_lin.kind)].N};
      f.beta = 1;
      vk::matvec_fused(b, f);
      res = false;
      return;
    }
    flush();
    vk::elementwise(b, vk::Ew::Add, y, a, c, static_cast<uint32_t>(n));
  }
  void glu(vk::View h, vk::View gate, vk::View up, int64_t n) {
    const int g = static_cast<int>(LinearKind::Gate), u = static_cast<int>(LinearKind::Up);
    if (n_lin == 2 && lin[0].kind == LinearKind::Gate && lin[1].kind == LinearKind::Up && same(lin[0].y, gate) &&
        same(lin[1].y, up) && d.slot[g] != 0 && d.slot[g] == d.slot[u] && d.off[u] > d.off[g]) {
      vk::FusedMatvec f = matvec(LinearKind::Gate, lin_x, lin_norm);
      f.out[0] = {h, d.w[g].N};
      f.pair = vk::FusedPair::Swiglu;
      vk::matvec_fused(b, f);
      norm_used = norm_used || lin_norm;
      n_lin = 0;
      return;
    }
    flush();
    vk::elementwise(b, vk::Ew::Swiglu, h, gate, up, static_cast<uint32_t>(n));
  }

  // The waiting matvecs: one dispatch when they are one group in storage order, else one each (independent:
  // the batch records no barrier between them).
  void flush_lins() {
    if (n_lin == 0) return;
    bool grouped = n_lin > 1;
    for (int i = 1; i < n_lin; ++i) {
      const int a = static_cast<int>(lin[i - 1].kind), c = static_cast<int>(lin[i].kind);
      grouped = grouped && d.slot[a] != 0 && d.slot[a] == d.slot[c] && d.off[c] > d.off[a] &&
                d.w[a].type == d.w[c].type;
    }
    for (int i = 0; i < n_lin;) {
      const int n = grouped ? n_lin : 1;
      vk::FusedMatvec f = matvec(lin[i].kind, lin_x, lin_norm);
      f.n_out = n;
      bool rope = false;
      for (int j = 0; j < n; ++j) f.out[j] = out(lin[i + j]), rope = rope || lin[i + j].rope;
      if (rope) f.pair = rope_pair();
      vk::matvec_fused(b, f);
      i += n;
    }
    norm_used = norm_used || lin_norm;
    n_lin = 0;
  }
  // Records whatever still waits (a norm no matvec folded is recorded on its own).
  void flush() {
    flush_lins();
    if (res) {
      vk::FusedMatvec f = matvec(res_lin.kind, res_x, false);
      f.out[0] = {res_lin.y, d.w[static_cast<int>(res_lin.kind)].N};
      vk::matvec_fused(b, f);
      res = false;
    }
    if (norm_w && !norm_used)
      vk::rmsnorm_forward(b, norm_y, nullptr, norm_x, *norm_w, 1, static_cast<uint32_t>(cf.dim), cf.rms_eps);
    norm_w = nullptr;
  }
};

// One token: step_'s position and angles into dstep_ and its embedding into x, every layer's fused ops, the
// head (the final norm folded into the output matvec), the logits into logits_host_. Recorded once per KV cache
// and activation buffers.
void VulkanLlama::record_decode(const LlamaModel& m) {
  const LlamaConfig& cf = m.config;
  const uint32_t C = static_cast<uint32_t>(cf.dim), V = static_cast<uint32_t>(cf.vocab);
  const uint32_t kv_row = static_cast<uint32_t>(cf.kv_dim());
  vk::Batch& b = decode_;
  const size_t angles = static_cast<size_t>(4 + cf.head_dim) * 4;  // pos and cos, sin
  b.copy(step_, 0, dstep_, 0, angles);
  b.copy(step_, angles, x_, 0, static_cast<size_t>(C) * 4);
  for (uint32_t l = 0; l < cf.n_layers; ++l) {
    const uint32_t base = static_cast<uint32_t>(l * cap_ * kv_row);  // this layer's cache; rows at the step's pos
    DecodeOps ops{*this, b, cf, layers_[l]};
    const BlockBuffers<vk::View> a{{&x_, 0},    {&x_, 0},    {&x_, 0},   {&xn_, 0}, {},         {&q_, 0},
                                   {&kc_, base}, {&vc_, base}, {&att_, 0}, {},        {&xn_, 0},  {},
                                   {&gate_, 0}, {&up_, 0},   {&gate_, 0}, {&tmp_, 0}};
    block_forward(ops, cf, a, 1);
    ops.flush();
  }
  vk::FusedMatvec head;
  head.x = {&x_, 0}, head.norm = &out_norm_, head.eps = cf.rms_eps;
  head.w = &output_.buf, head.K = C, head.wt = output_.type;
  head.out[0] = {{&logits_, 0}, V};
  vk::matvec_fused(b, head);
  b.copy(logits_, 0, logits_host_, 0, static_cast<size_t>(V) * 4);
}

void VulkanLlama::forward(const LlamaModel& m, KvCache& cache, const int32_t* ids, int64_t Tn, float* logits,
                          bool all_logits) {
  const LlamaConfig& cf = m.config;
  const uint32_t T = static_cast<uint32_t>(Tn);
  const uint32_t C = static_cast<uint32_t>(cf.dim), V = static_cast<uint32_t>(cf.vocab);
  const uint32_t kv_row = static_cast<uint32_t>(cf.kv_dim());
  ensure(m, cache, T);
  const int64_t pos0 = cache.len;
  if (T == 1 && fused_decode_) {  // the recorded step: inputs into step_, replay, logits from logits_host_
    float* st = static_cast<float*>(step_.mapped);
    const uint32_t pos = static_cast<uint32_t>(pos0);
    std::memcpy(st, &pos, 4);
    const int64_t HD = cf.head_dim;
    rope_tables(cf, pos0, 1, st + 4, st + 4 + HD / 2);
    embed_tokens(m, ids, 1, pos0, st + 4 + HD);
    if (decode_.kept()) {
      decode_.replay();
    } else {
      record_decode(m);
      decode_.submit();
    }
    std::memcpy(logits, logits_host_.mapped, static_cast<size_t>(V) * 4);
    cache.len = pos0 + 1;
    return;
  }

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
