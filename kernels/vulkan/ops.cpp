// Vulkan ops: the Batch (command buffer, descriptor pools, one submit) and one recorder per shader.
// Not the shaders (kernels/vulkan/shaders/*.comp) and not the model (models/vulkan/llama_vulkan.cpp).
#include "kernels/vulkan/ops.h"

#include <algorithm>
#include <cstring>

#include "runtime/error.h"

namespace edgellm::vk {
namespace {
constexpr uint32_t kSetsPerPool = 512, kMaxBindings = 8;
uint32_t groups(uint64_t n, uint32_t per) { return static_cast<uint32_t>((n + per - 1) / per); }
}  // namespace

Batch::Batch(Context& c) : c_(c) {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = c_.command_pool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(c_.device(), &ai, &cb_), "vkAllocateCommandBuffers");
}

Batch::~Batch() {
  if (open_) vkEndCommandBuffer(cb_);
  vkFreeCommandBuffers(c_.device(), c_.command_pool(), 1, &cb_);
  for (VkDescriptorPool p : pools_) vkDestroyDescriptorPool(c_.device(), p, nullptr);
}

void Batch::begin() {
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(cb_, &bi), "vkBeginCommandBuffer");
  open_ = true;
}

VkDescriptorSet Batch::new_set(const Pipeline& p) {
  if (left_in_pool_ == 0) {
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * kMaxBindings};
    VkDescriptorPoolCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    ci.maxSets = kSetsPerPool;
    ci.poolSizeCount = 1;
    ci.pPoolSizes = &size;
    VkDescriptorPool pool;
    check(vkCreateDescriptorPool(c_.device(), &ci, nullptr, &pool), "vkCreateDescriptorPool");
    pools_.push_back(pool);
    left_in_pool_ = kSetsPerPool;
  }
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = pools_.back();
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &p.set_layout;
  VkDescriptorSet set;
  check(vkAllocateDescriptorSets(c_.device(), &ai, &set), "vkAllocateDescriptorSets");
  --left_in_pool_;
  return set;
}

void Batch::dispatch(const char* name, std::initializer_list<const Buffer*> bufs, const void* push,
                     size_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
  EDGE_CHECK(push_bytes <= kPushBytes && bufs.size() <= kMaxBindings, "Vulkan: shader '{}': too many arguments",
             name);
  if (gx == 0 || gy == 0 || gz == 0) return;
  if (gx > c_.max_workgroups_x() || gy > c_.max_workgroups_y())
    fail("Vulkan: shader '{}' needs {}x{} workgroups, the device allows {}x{} (VK_ERROR_FEATURE_NOT_PRESENT)", name,
         gx, gy, c_.max_workgroups_x(), c_.max_workgroups_y());
  const Pipeline& p = c_.pipeline(name, static_cast<uint32_t>(bufs.size()));
  if (!open_) begin();
  VkDescriptorSet set = new_set(p);
  VkDescriptorBufferInfo infos[kMaxBindings];
  VkWriteDescriptorSet writes[kMaxBindings];
  uint32_t i = 0;
  for (const Buffer* b : bufs) {
    EDGE_CHECK(b && b->defined(), "Vulkan: shader '{}': binding {} has no buffer", name, i);
    infos[i] = {b->buf, 0, VK_WHOLE_SIZE};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, nullptr, set, i, 0, 1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                 nullptr, &infos[i], nullptr};
    ++i;
  }
  vkUpdateDescriptorSets(c_.device(), i, writes, 0, nullptr);
  vkCmdBindPipeline(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
  vkCmdBindDescriptorSets(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
  uint8_t pc[kPushBytes] = {};
  std::memcpy(pc, push, push_bytes);
  vkCmdPushConstants(cb_, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes, pc);
  vkCmdDispatch(cb_, gx, gy, gz);
  // Every dispatch may read what the previous ones wrote: a full compute→compute memory barrier.
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_SHADER_WRITE_BIT,
                     VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
  vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0,
                       nullptr, 0, nullptr);
  ++n_;
}

size_t Batch::stage(size_t bytes) {
  const size_t need = stage_used_ + (bytes + 255) / 256 * 256;
  if (need > stage_.bytes) {
    // Growing would orphan staged data recorded earlier in this batch: flush it first.
    if (open_ && stage_used_ > 0) submit();
    stage_.release();
    stage_ = c_.alloc(std::max(need - stage_used_, size_t{1} << 20), true);
    stage_used_ = 0;
  }
  const size_t off = stage_used_;
  stage_used_ += (bytes + 255) / 256 * 256;
  return off;
}

void Batch::transfer_barrier() {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr,
                     VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT,
                     VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                         VK_ACCESS_HOST_READ_BIT};
  const VkPipelineStageFlags st = VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
  vkCmdPipelineBarrier(cb_, st, st | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

void Batch::upload(const Buffer& dst, const void* src, size_t bytes, size_t offset) {
  EDGE_CHECK(offset + bytes <= dst.bytes, "Vulkan upload: {} bytes at {} overrun a buffer of {}", bytes, offset,
             dst.bytes);
  if (dst.mapped && !open_) {  // nothing recorded yet, so nothing on the device reads dst before this
    std::memcpy(static_cast<char*>(dst.mapped) + offset, src, bytes);
    return;
  }
  const size_t so = stage(bytes);
  std::memcpy(static_cast<char*>(stage_.mapped) + so, src, bytes);
  if (!open_) begin();
  VkBufferCopy region{so, offset, bytes};
  vkCmdCopyBuffer(cb_, stage_.buf, dst.buf, 1, &region);
  transfer_barrier();
}

void Batch::download(const Buffer& src, void* dst, size_t bytes, size_t offset) {
  EDGE_CHECK(offset + bytes <= src.bytes, "Vulkan download: {} bytes at {} overrun a buffer of {}", bytes, offset,
             src.bytes);
  if (src.mapped) {  // read after the fence, straight from the mapping
    readbacks_.push_back({static_cast<const char*>(src.mapped) + offset, dst, bytes});
    return;
  }
  const size_t so = stage(bytes);
  if (!open_) begin();
  VkBufferCopy region{offset, so, bytes};
  vkCmdCopyBuffer(cb_, src.buf, stage_.buf, 1, &region);
  transfer_barrier();
  readbacks_.push_back({static_cast<const char*>(stage_.mapped) + so, dst, bytes});
}

void Batch::submit() {
  if (!open_) {
    for (const Readback& r : readbacks_) std::memcpy(r.to, r.from, r.bytes);
    readbacks_.clear();
    return;
  }
  check(vkEndCommandBuffer(cb_), "vkEndCommandBuffer");
  open_ = false;
  const int n = n_;
  n_ = 0;
  auto reset = [&] {
    vkResetCommandBuffer(cb_, 0);
    stage_used_ = 0;
    for (VkDescriptorPool p : pools_) vkDestroyDescriptorPool(c_.device(), p, nullptr);
    pools_.clear();
    left_in_pool_ = 0;
  };
  try {
    c_.submit_and_wait(cb_, n == 1 ? "a batch of 1 dispatch" : "a batch of dispatches");
  } catch (...) {
    // The work may still be running (a timeout): its command buffer, descriptor pools and staging buffer are
    // abandoned (leaked, never reset or freed while pending) and the batch starts over with fresh ones.
    readbacks_.clear();
    pools_.clear();
    left_in_pool_ = 0;
    stage_used_ = 0;
    stage_.abandon();
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = c_.command_pool();
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(c_.device(), &ai, &cb_), "vkAllocateCommandBuffers");
    throw;
  }
  for (const Readback& r : readbacks_) std::memcpy(r.to, r.from, r.bytes);
  readbacks_.clear();
  reset();
}

// ---- ops -----------------------------------------------------------------------------------------------
bool weight_type_supported(DType t) {
  if (dtype_is_gint(t)) return true;
  switch (t) {
    case DType::F32: case DType::F16: case DType::Q4_0: case DType::Q8_0: case DType::Q4_K: case DType::Q6_K:
      return true;
    default: return false;
  }
}

namespace {
struct GemmPush {
  uint32_t M, N, K, a_off, a_sm, a_sk, b_off, b_sk, b_sn, c_off, c_sm;
  float alpha, beta;
  uint32_t gint_bits, gint_group, b_trans;
};
const char* wname(DType t) {
  if (dtype_is_gint(t)) return "gint";
  switch (t) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::Q4_0: return "q4_0";
    case DType::Q8_0: return "q8_0";
    case DType::Q4_K: return "q4_k";
    case DType::Q6_K: return "q6_k";
    default: fail("Vulkan: no matmul shader for weight type {}", dtype_name(t));
  }
}
}  // namespace

void gemm_f32(Batch& b, View C, uint32_t c_sm, View A, uint32_t a_sm, uint32_t a_sk, View B, uint32_t b_sk,
              uint32_t b_sn, uint32_t M, uint32_t N, uint32_t K, float alpha, float beta) {
  GemmPush p{M, N, K, A.off, a_sm, a_sk, B.off, b_sk, b_sn, C.off, c_sm, alpha, beta, 0, 0, 0};
  b.dispatch("gemm_f32", {A.b, B.b, C.b}, &p, sizeof p, groups(N, 64), groups(M, 64));
}

namespace {
// Row pitch of a weight with rows of K elements, and the offset, in the shader's units: f32/f16 elements,
// the block formats bytes.
void row_units(DType wt, uint32_t K, uint32_t w_byte_off, int gint_bits, int gint_group, uint32_t& row, uint32_t& off) {
  if (wt == DType::F32) row = K, off = w_byte_off / 4;
  else if (wt == DType::F16) row = K, off = w_byte_off / 2;
  else if (dtype_is_gint(wt)) row = static_cast<uint32_t>(K * gint_bits / 8 + 4 * (K / gint_group)), off = w_byte_off;
  else row = static_cast<uint32_t>(dtype_row_bytes(wt, K)), off = w_byte_off;
}
}  // namespace

void linear_backward_x(Batch& b, View dx, View dy, const Buffer& w, uint32_t w_byte_off, DType wt, uint32_t M,
                       uint32_t N, uint32_t K, float beta, int gint_bits, int gint_group) {
  uint32_t row, off;
  row_units(wt, K, w_byte_off, gint_bits, gint_group, row, off);
  if (wt == DType::F32) {  // the generic f32 GEMM: B(n, k) = W[n*K + k]
    gemm_f32(b, dx, K, dy, N, 1, {&w, off}, K, 1, M, K, N, 1.0f, beta);
    return;
  }
  // GEMM dims: M x K outputs, reduction over N; B(n, k) = W row n, column k.
  GemmPush p{M, K, N, dy.off, N, 1, off, 1, row, dx.off, K, 1.0f, beta,
             static_cast<uint32_t>(gint_bits), static_cast<uint32_t>(gint_group), 1};
  const std::string name = std::string("gemm_") + wname(wt);
  b.dispatch(name.c_str(), {dy.b, &w, dx.b}, &p, sizeof p, groups(K, 64), groups(M, 64));
}

void linear_with(bool use_gemm, Batch& b, View y, View x, const Buffer& w, uint32_t w_byte_off, DType wt,
                 uint32_t M, uint32_t N, uint32_t K, float beta, int gint_bits, int gint_group) {
  uint32_t row, off;
  row_units(wt, K, w_byte_off, gint_bits, gint_group, row, off);
  GemmPush p{M, N, K, x.off, K, 1, off, 1, row, y.off, N, 1.0f, beta,
             static_cast<uint32_t>(gint_bits), static_cast<uint32_t>(gint_group), 0};
  const std::string name = std::string(use_gemm ? "gemm_" : "matvec_") + wname(wt);
  if (use_gemm) {
    b.dispatch(name.c_str(), {x.b, &w, y.b}, &p, sizeof p, groups(N, 64), groups(M, 64));
  } else {
    const uint32_t rows = groups(N, 8);  // 8 rows of W per workgroup
    const uint32_t gx = std::min<uint32_t>(rows, 65535), gz = groups(rows, 65535);
    b.dispatch(name.c_str(), {x.b, &w, y.b}, &p, sizeof p, gx, M, gz);
  }
}

void linear(Batch& b, View y, View x, const Buffer& w, uint32_t w_byte_off, DType wt, uint32_t M, uint32_t N,
            uint32_t K, float beta, int gint_bits, int gint_group) {
  linear_with(M > 2, b, y, x, w, w_byte_off, wt, M, N, K, beta, gint_bits, gint_group);
}

void rmsnorm_forward(Batch& b, View y, const Buffer* rstd, View x, const Buffer& w, uint32_t rows, uint32_t C,
                     float eps) {
  struct {
    uint32_t rows, C, y_off, x_off, has_rstd;
    float eps;
  } p{rows, C, y.off, x.off, rstd ? 1u : 0u, eps};
  b.dispatch("rmsnorm", {y.b, rstd ? rstd : y.b, x.b, &w}, &p, sizeof p, rows);
}

void rmsnorm_backward(Batch& b, const Buffer& dx, const Buffer& dw, const Buffer& dy, const Buffer& x,
                      const Buffer& w, const Buffer& rstd, uint32_t rows, uint32_t C) {
  const uint32_t p[2] = {rows, C};
  b.dispatch("rmsnorm_backward", {&dx, &dy, &x, &w, &rstd}, p, sizeof p, rows);
  b.dispatch("rmsnorm_backward_w", {&dw, &dy, &x, &rstd}, p, sizeof p, groups(C, 256));
}

void rope(Batch& b, View y, uint32_t y_st, View x, uint32_t x_st, const Buffer& cos, const Buffer& sin, uint32_t T,
          uint32_t NH, uint32_t HD, RopePairing pairing, bool backward, uint32_t rot_dims) {
  const uint32_t D = rot_dims ? rot_dims : HD;
  EDGE_CHECK(D <= HD && D % 2 == 0, "Vulkan rope: {} rotated dims of a head of {}", D, HD);
  const uint32_t p[10] = {T, NH, HD, pairing == RopePairing::Interleaved ? 0u : 1u, backward ? 1u : 0u,
                          y.off, y_st, x.off, x_st, D};
  b.dispatch("rope", {y.b, x.b, &cos, &sin}, p, sizeof p, groups(uint64_t{T} * NH * (D / 2), 256));
}

void layernorm_forward(Batch& b, View y, const Buffer* rstd, View x, const Buffer& w, const Buffer& bias, uint32_t rows,
                       uint32_t C, float eps) {
  struct {
    uint32_t rows, C, y_off, x_off, has_rstd;
    float eps;
  } p{rows, C, y.off, x.off, rstd ? 1u : 0u, eps};
  b.dispatch("layernorm", {y.b, rstd ? rstd : y.b, x.b, &w, &bias}, &p, sizeof p, rows);
}

void softmax_forward(Batch& b, const Buffer& y, const Buffer& x, uint32_t rows, uint32_t C) {
  const uint32_t p[2] = {rows, C};
  b.dispatch("softmax", {&y, &x}, p, sizeof p, rows);
}

namespace {
// A 1-D grid of n threads (256 per group) laid out 2-D when it exceeds the x limit.
void grid_1d(uint64_t n, uint32_t& gx, uint32_t& gy) {
  const uint64_t g = (n + 255) / 256;
  gx = static_cast<uint32_t>(std::min<uint64_t>(g, 32768));
  gy = static_cast<uint32_t>((g + gx - 1) / gx);
}
}  // namespace

void elementwise(Batch& b, Ew op, View y, View a, View bb, uint32_t n, float s) {
  struct {
    uint32_t n, op, y_off, a_off, b_off;
    float s;
  } p{n, static_cast<uint32_t>(op), y.off, a.off, bb.b ? bb.off : 0u, s};
  uint32_t gx, gy;
  grid_1d(n, gx, gy);
  b.dispatch("elementwise", {y.b, a.b, bb.b ? bb.b : a.b}, &p, sizeof p, gx, gy);
}

void fill(Batch& b, View y, uint32_t n, float value) { elementwise(b, Ew::Fill, y, y, {}, n, value); }

namespace {
void gelu_dispatch(Batch& b, View y, View a, View up, uint32_t n) {
  const uint32_t p[5] = {n, up.b ? 1u : 0u, y.off, a.off, up.b ? up.off : 0u};
  uint32_t gx, gy;
  grid_1d(n, gx, gy);
  b.dispatch("gelu", {y.b, a.b, up.b ? up.b : a.b}, p, sizeof p, gx, gy);
}
}  // namespace

void gelu_forward(Batch& b, View y, View x, uint32_t n) { gelu_dispatch(b, y, x, {}, n); }
void geglu_forward(Batch& b, View y, View gate, View up, uint32_t n) { gelu_dispatch(b, y, gate, up, n); }

void softcap_forward(Batch& b, View y, View x, uint32_t n, float cap) {
  EDGE_CHECK(cap > 0, "Vulkan softcap: the cap must be > 0, got {}", cap);
  struct {
    uint32_t n, y_off, x_off;
    float cap;
  } p{n, y.off, x.off, cap};
  uint32_t gx, gy;
  grid_1d(n, gx, gy);
  b.dispatch("softcap", {y.b, x.b}, &p, sizeof p, gx, gy);
}

void swiglu_backward(Batch& b, const Buffer& dgate, const Buffer& dup, const Buffer& dy, const Buffer& gate,
                     const Buffer& up, uint32_t n) {
  uint32_t gx, gy;
  grid_1d(n, gx, gy);
  b.dispatch("swiglu_backward", {&dgate, &dup, &dy, &gate, &up}, &n, sizeof n, gx, gy);
}

void attention_forward(Batch& b, View o, const Buffer* L, View q, View k, View v, const AttentionDims& d,
                       uint32_t batch) {
  EDGE_CHECK(d.HD <= 256 && d.KVH > 0 && d.NH % d.KVH == 0, "Vulkan attention: HD {} (max 256), NH {}, KVH {}",
             d.HD, d.NH, d.KVH);
  EDGE_CHECK(d.window >= 0 && d.softcap >= 0, "Vulkan attention: window {} and soft-cap {} must be >= 0", d.window,
             d.softcap);
  struct {
    uint32_t T, S, NH, KVH, HD, pos0, q_st, k_st, v_st, o_st, q_off, k_off, v_off, o_off;
    float scale;
    uint32_t has_L, window;
    float softcap;
  } p{static_cast<uint32_t>(d.T), static_cast<uint32_t>(d.S), static_cast<uint32_t>(d.NH),
      static_cast<uint32_t>(d.KVH), static_cast<uint32_t>(d.HD), static_cast<uint32_t>(d.pos0),
      static_cast<uint32_t>(d.q_stride), static_cast<uint32_t>(d.k_stride), static_cast<uint32_t>(d.v_stride),
      static_cast<uint32_t>(d.o_stride), q.off, k.off, v.off, o.off, static_cast<float>(d.scale), L ? 1u : 0u,
      static_cast<uint32_t>(d.window), static_cast<float>(d.softcap)};
  b.dispatch("attention", {o.b, L ? L : o.b, q.b, k.b, v.b}, &p, sizeof p, static_cast<uint32_t>(d.NH),
             static_cast<uint32_t>(d.T), batch);
}

void attention_backward(Batch& b, const Buffer& dq, const Buffer& dk, const Buffer& dv, const Buffer& dO,
                        const Buffer& q, const Buffer& k, const Buffer& v, const Buffer& o, const Buffer& L,
                        const AttentionDims& d, uint32_t batch) {
  EDGE_CHECK(d.HD <= 256 && d.KVH > 0 && d.NH % d.KVH == 0, "Vulkan attention backward: HD {} (max 256), NH {}, KVH {}",
             d.HD, d.NH, d.KVH);
  EDGE_CHECK(d.window == 0 && d.softcap == 0, "Vulkan attention backward: a sliding window ({}) or soft-cap ({}) has no "
             "backward yet", d.window, d.softcap);
  struct {
    uint32_t T, S, NH, KVH, HD, pos0, q_st, k_st, v_st, o_st;
    float scale;
  } p{static_cast<uint32_t>(d.T), static_cast<uint32_t>(d.S), static_cast<uint32_t>(d.NH),
      static_cast<uint32_t>(d.KVH), static_cast<uint32_t>(d.HD), static_cast<uint32_t>(d.pos0),
      static_cast<uint32_t>(d.q_stride), static_cast<uint32_t>(d.k_stride), static_cast<uint32_t>(d.v_stride),
      static_cast<uint32_t>(d.o_stride), static_cast<float>(d.scale)};
  b.dispatch("attention_backward_dq", {&dq, &dO, &q, &k, &v, &o, &L}, &p, sizeof p, static_cast<uint32_t>(d.NH),
             static_cast<uint32_t>(d.T), batch);
  b.dispatch("attention_backward_dkv", {&dk, &dO, &q, &k, &v, &o, &L, &dv}, &p, sizeof p,
             static_cast<uint32_t>(d.KVH), static_cast<uint32_t>(d.pos0 + d.T), batch);
}

void embedding(Batch& b, const Buffer& y, const Buffer& table, const Buffer& ids, uint32_t T, uint32_t C) {
  const uint32_t p[3] = {T, C, 0};
  uint32_t gx, gy;
  grid_1d(uint64_t{T} * C, gx, gy);
  b.dispatch("embedding", {&y, &table, &ids}, p, sizeof p, gx, gy);
}

void embedding_backward(Batch& b, const Buffer& dtable, const Buffer& dy, const Buffer& ids, uint32_t T, uint32_t C) {
  const uint32_t p[3] = {T, C, 1};
  b.dispatch("embedding", {&dtable, &dy, &ids}, p, sizeof p, groups(C, 256));
}

void cross_entropy(Batch& b, const Buffer& z, const Buffer& targets, const Buffer& loss, uint32_t rows, uint32_t V,
                   float scale) {
  struct {
    uint32_t V;
    float scale;
  } p{V, scale};
  b.dispatch("cross_entropy", {&z, &targets, &loss}, &p, sizeof p, rows);
}

void adamw(Batch& b, const Buffer& w, const Buffer& m, const Buffer& v, const Buffer& g, uint32_t n,
           const AdamWCoef& c) {
  struct {
    uint32_t n;
    float grad_scale, decay, b1, b2, one_m_b1, one_m_b2, step_size, bc2_sqrt, eps;
  } p{n, c.grad_scale, c.decay, c.b1, c.b2, c.one_m_b1, c.one_m_b2, c.step_size, c.bc2_sqrt, c.eps};
  uint32_t gx, gy;
  grid_1d(n, gx, gy);
  b.dispatch("adamw", {&w, &m, &v, &g}, &p, sizeof p, gx, gy);
}

uint32_t sumsq_partials(uint32_t n) { return groups(n, 4096); }

void sumsq(Batch& b, const Buffer& out, uint32_t off, const Buffer& x, uint32_t n) {
  const uint32_t p[2] = {n, off};
  b.dispatch("sumsq", {&out, &x}, p, sizeof p, sumsq_partials(n));
}

void triad(Batch& b, const Buffer& a, const Buffer& bb, const Buffer& c, uint32_t n, float s) {
  struct {
    uint32_t n;
    float s;
  } p{n / 4, s};
  b.dispatch("triad", {&a, &bb, &c}, &p, sizeof p, std::min<uint32_t>(groups(n / 4, 256), 65535));
}

}  // namespace edgellm::vk
