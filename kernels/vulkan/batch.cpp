// The Batch: one command buffer of recorded dispatches and copies, barriers only where a hazard needs one,
// descriptor pools, one fenced submit, and reusable recordings replayed without re-recording.
// Not the op recorders (kernels/vulkan/ops.cpp) and not the shaders.
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "kernels/vulkan/gpu_profile.h"
#include "kernels/vulkan/ops.h"
#include "runtime/error.h"

namespace edgellm::vk {
namespace {
constexpr uint32_t kSetsPerPool = 512, kMaxBindings = 8;
}  // namespace

BatchStats& batch_stats(const Context& c) {
  static std::map<const Context*, BatchStats> stats;  // one per context; contexts live for the process
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  return stats[&c];
}

Batch::Batch(Context& c, bool reusable) : c_(c), reusable_(reusable) {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = c_.command_pool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(c_.device(), &ai, &cb_), "vkAllocateCommandBuffers");
}

Batch::~Batch() {
  if (open_) vkEndCommandBuffer(cb_);
  if (stamps_) vkDestroyQueryPool(c_.device(), stamps_, nullptr);
  vkFreeCommandBuffers(c_.device(), c_.command_pool(), 1, &cb_);
  for (VkDescriptorPool p : pools_) vkDestroyDescriptorPool(c_.device(), p, nullptr);
}

void Batch::begin() {
  if (kept_) reset();
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = reusable_ ? 0 : VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(cb_, &bi), "vkBeginCommandBuffer");
  open_ = true;
  touched_.clear(), written_.clear();
  stamp_begin();
}

// Timestamps cost a write per dispatch, so only while profiling. A recording of more than kStamps dispatches and
// copies stops stamping there: the rest go unprofiled, never misattributed.
void Batch::stamp_begin() {
  constexpr uint32_t kStamps = 16384;
  stamp_names_.clear();
  stamping_ = gpu_profiling() && c_.timestamp_bits() > 0;
  if (!stamping_) return;
  if (!stamps_) {
    VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = stamp_cap_ = kStamps;
    check(vkCreateQueryPool(c_.device(), &qi, nullptr, &stamps_), "vkCreateQueryPool (the GPU profile)");
  }
  vkCmdResetQueryPool(cb_, stamps_, 0, stamp_cap_);
  vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, stamps_, 0);
}

void Batch::stamp(const char* name) {
  if (!stamping_ || stamp_names_.size() + 1 >= stamp_cap_) return;
  stamp_names_.emplace_back(name);
  vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, stamps_, static_cast<uint32_t>(stamp_names_.size()));
}

void Batch::read_stamps() {
  if (stamp_names_.empty()) return;
  const uint32_t n = static_cast<uint32_t>(stamp_names_.size()) + 1;
  std::vector<uint64_t> t(n);
  check(vkGetQueryPoolResults(c_.device(), stamps_, 0, n, n * sizeof(uint64_t), t.data(), sizeof(uint64_t),
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
        "vkGetQueryPoolResults (the GPU profile)");
  const uint32_t bits = c_.timestamp_bits();
  const uint64_t mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  for (uint32_t i = 1; i < n; ++i)
    gpu_profile_add(stamp_names_[i - 1], static_cast<double>((t[i] - t[i - 1]) & mask) * c_.timestamp_period_ns());
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
  ++batch_stats(c_).descriptor_sets;
  return set;
}

namespace {
bool holds(const std::vector<VkBuffer>& v, VkBuffer b) { return std::find(v.begin(), v.end(), b) != v.end(); }
}  // namespace

void Batch::dispatch(const char* name, std::initializer_list<const Buffer*> bufs, const void* push,
                     size_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz, uint32_t writes) {
  EDGE_CHECK(push_bytes <= kPushBytes && bufs.size() <= kMaxBindings, "Vulkan: shader '{}': too many arguments",
             name);
  if (gx == 0 || gy == 0 || gz == 0) return;
  if (gx > c_.max_workgroups_x() || gy > c_.max_workgroups_y())
    fail("Vulkan: shader '{}' needs {}x{} workgroups, the device allows {}x{} (VK_ERROR_FEATURE_NOT_PRESENT)", name,
         gx, gy, c_.max_workgroups_x(), c_.max_workgroups_y());
  const Pipeline& p = c_.pipeline(name, static_cast<uint32_t>(bufs.size()));
  if (!open_) begin();
  // A hazard with what ran since the last barrier (read after write, write after write or read): one full
  // compute→compute barrier first. Buffers are compared whole (views of one buffer count as the same).
  bool hazard = false;
  uint32_t i = 0;
  for (const Buffer* b : bufs) {
    EDGE_CHECK(b && b->defined(), "Vulkan: shader '{}': binding {} has no buffer", name, i);
    hazard = hazard || holds(written_, b->buf) || (((writes >> i) & 1u) && holds(touched_, b->buf));
    ++i;
  }
  BatchStats& st = batch_stats(c_);
  if (hazard) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr, VK_ACCESS_SHADER_WRITE_BIT,
                       VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0,
                         nullptr, 0, nullptr);
    touched_.clear(), written_.clear();
    ++rec_barriers_, ++st.commands;
  }
  VkDescriptorSet set = new_set(p);
  VkDescriptorBufferInfo infos[kMaxBindings];
  VkWriteDescriptorSet ws[kMaxBindings];
  i = 0;
  for (const Buffer* b : bufs) {
    infos[i] = {b->buf, 0, VK_WHOLE_SIZE};
    ws[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, nullptr, set, i, 0, 1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
             nullptr, &infos[i], nullptr};
    touched_.push_back(b->buf);
    if ((writes >> i) & 1u) written_.push_back(b->buf);
    ++i;
  }
  vkUpdateDescriptorSets(c_.device(), i, ws, 0, nullptr);
  vkCmdBindPipeline(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
  vkCmdBindDescriptorSets(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
  uint8_t pc[kPushBytes] = {};
  std::memcpy(pc, push, push_bytes);
  vkCmdPushConstants(cb_, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes, pc);
  vkCmdDispatch(cb_, gx, gy, gz);
  stamp(name);
  st.commands += 4, ++rec_dispatches_;
  ++n_;
}

size_t Batch::stage(size_t bytes) {
  const size_t need = stage_used_ + (bytes + 255) / 256 * 256;
  if (need > stage_.bytes) {
    // Growing would orphan staged data recorded earlier in this batch: flush it first (a reusable batch
    // cannot be split, so it must not grow mid-recording).
    EDGE_CHECK(!(reusable_ && open_ && stage_used_ > 0), "Vulkan: a reusable batch outgrew its staging buffer");
    if (open_ && stage_used_ > 0) submit();
    stage_.release();
    stage_ = c_.alloc(std::max(need - stage_used_, size_t{1} << 20), true);
    stage_used_ = 0;
  }
  const size_t off = stage_used_;
  stage_used_ += (bytes + 255) / 256 * 256;
  return off;
}

// Orders copies with everything around them (both ways); it also ends the dispatch hazard window.
void Batch::transfer_barrier() {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER, nullptr,
                     VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT,
                     VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT |
                         VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT};
  const VkPipelineStageFlags st = VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
  vkCmdPipelineBarrier(cb_, st, st | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
  touched_.clear(), written_.clear();
  ++rec_barriers_, ++batch_stats(c_).commands;
}

void Batch::copy(const Buffer& src, size_t src_offset, const Buffer& dst, size_t dst_offset, size_t bytes) {
  EDGE_CHECK(src_offset + bytes <= src.bytes && dst_offset + bytes <= dst.bytes,
             "Vulkan copy: {} bytes from {} to {} overrun buffers of {} and {}", bytes, src_offset, dst_offset,
             src.bytes, dst.bytes);
  if (!open_) begin();
  if (!touched_.empty()) transfer_barrier();  // the dispatches before it may read dst or write src
  VkBufferCopy region{src_offset, dst_offset, bytes};
  vkCmdCopyBuffer(cb_, src.buf, dst.buf, 1, &region);
  ++rec_copies_, ++batch_stats(c_).commands;
  transfer_barrier();
  stamp("(copy)");
}

void Batch::upload(const Buffer& dst, const void* src, size_t bytes, size_t offset) {
  EDGE_CHECK(offset + bytes <= dst.bytes, "Vulkan upload: {} bytes at {} overrun a buffer of {}", bytes, offset,
             dst.bytes);
  if (dst.mapped && !open_ && !reusable_) {  // nothing recorded yet, so nothing on the device reads dst before this
    std::memcpy(static_cast<char*>(dst.mapped) + offset, src, bytes);
    return;
  }
  if (!open_) begin();
  const size_t so = stage(bytes);
  std::memcpy(static_cast<char*>(stage_.mapped) + so, src, bytes);
  copy(stage_, so, dst, offset, bytes);
}

void Batch::download(const Buffer& src, void* dst, size_t bytes, size_t offset) {
  EDGE_CHECK(offset + bytes <= src.bytes, "Vulkan download: {} bytes at {} overrun a buffer of {}", bytes, offset,
             src.bytes);
  if (src.mapped) {  // read after the fence, straight from the mapping
    readbacks_.push_back({static_cast<const char*>(src.mapped) + offset, dst, bytes});
    return;
  }
  if (!open_) begin();
  const size_t so = stage(bytes);
  copy(src, offset, stage_, so, bytes);
  readbacks_.push_back({static_cast<const char*>(stage_.mapped) + so, dst, bytes});
}

void Batch::reset() {
  if (open_) vkEndCommandBuffer(cb_), open_ = false;
  vkResetCommandBuffer(cb_, 0);
  stage_used_ = 0;
  for (VkDescriptorPool p : pools_) vkDestroyDescriptorPool(c_.device(), p, nullptr);
  pools_.clear();
  left_in_pool_ = 0;
  readbacks_.clear();
  stamp_names_.clear();
  n_ = 0;
  rec_dispatches_ = rec_barriers_ = rec_copies_ = 0;
  kept_ = false;
}

void Batch::run(const char* what) {
  try {
    BatchStats& st = batch_stats(c_);
    ++st.submits, st.dispatches += rec_dispatches_, st.barriers += rec_barriers_, st.copies += rec_copies_;
    c_.submit_and_wait(cb_, what);
  } catch (...) {
    // The work may still be running (a timeout): its command buffer, descriptor pools and staging buffer are
    // abandoned (leaked, never reset or freed while pending) and the batch starts over with fresh ones.
    readbacks_.clear();
    pools_.clear();
    left_in_pool_ = 0;
    stage_used_ = 0;
    stage_.abandon();
    n_ = 0;
    rec_dispatches_ = rec_barriers_ = rec_copies_ = 0;
    kept_ = false;
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = c_.command_pool();
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(c_.device(), &ai, &cb_), "vkAllocateCommandBuffers");
    throw;
  }
  for (const Readback& r : readbacks_) std::memcpy(r.to, r.from, r.bytes);
  read_stamps();
}

void Batch::submit() {
  if (!open_) {
    for (const Readback& r : readbacks_) std::memcpy(r.to, r.from, r.bytes);
    if (!reusable_) readbacks_.clear();
    return;
  }
  check(vkEndCommandBuffer(cb_), "vkEndCommandBuffer");
  open_ = false;
  run(n_ == 1 ? "a batch of 1 dispatch" : "a batch of dispatches");
  if (reusable_) {
    kept_ = true;
  } else {
    readbacks_.clear();
    reset();
  }
}

void Batch::replay() {
  EDGE_CHECK(kept_, "Vulkan: replay() of a batch with no kept recording");
  run("a replayed batch");
}

}  // namespace edgellm::vk
