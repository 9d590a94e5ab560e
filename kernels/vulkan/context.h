// The Vulkan context: instance, the chosen physical device, one compute queue, buffers under a memory budget,
// pipelines (with a pipeline cache) and batches of recorded dispatches submitted once and fenced with a timeout.
// Not the ops: kernels/vulkan/ops.h records the shaders; this file knows nothing about tensors or models.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace edgellm::vk {

// "VK_ERROR_OUT_OF_DEVICE_MEMORY" etc.
const char* result_name(VkResult r);
// Throws edgellm::Error "<what>: <VkResult name>" unless r is VK_SUCCESS.
void check(VkResult r, const char* what);

struct DeviceInfo {
  int index = 0;
  std::string name, type;       // type: discrete, integrated, virtual, cpu, other
  uint64_t device_local_bytes = 0;  // the largest device-local heap
  uint32_t api_version = 0;
  bool coop_matrix = false;  // tensor cores the prompt GEMM can use (Context::coop(), without EDGELLM_VULKAN_COOPMAT)
};
// Every physical device the loader reports; throws Error when there is no Vulkan loader/driver.
std::vector<DeviceInfo> list_devices();

class Context;

// A storage buffer. Device-local when the device has such memory; host-visible (and mapped) when asked, or
// when device-local memory is host-visible anyway (lavapipe, phones' unified memory). Move-only.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(); }
  void release();
  // Forgets the handles without freeing them (the device may still use them after a timeout).
  void abandon() { buf = VK_NULL_HANDLE, mem = VK_NULL_HANDLE, bytes = 0, mapped = nullptr, ctx = nullptr; }
  bool defined() const { return buf != VK_NULL_HANDLE; }

  VkBuffer buf = VK_NULL_HANDLE;
  VkDeviceMemory mem = VK_NULL_HANDLE;
  size_t bytes = 0;
  void* mapped = nullptr;  // non-null when host-visible
  Context* ctx = nullptr;
};

struct Pipeline {
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  uint32_t n_buffers = 0;
};

constexpr uint32_t kPushBytes = 128;  // every pipeline declares this push-constant range (the guaranteed minimum)

class Context {
 public:
  // index < 0 picks the first discrete GPU, else the first integrated one, else device 0.
  // Budget: EDGELLM_VULKAN_BUDGET (bytes, "2G") if set, else 90% of the largest device-local heap.
  explicit Context(int index = -1);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& info() const { return info_; }
  // Buffers: throws BudgetError naming the sizes when the budget would be exceeded, Error with
  // VK_ERROR_OUT_OF_DEVICE_MEMORY when the driver refuses.
  Buffer alloc(size_t bytes, bool host_visible = false);
  void set_budget(size_t bytes) { budget_ = bytes; }
  size_t budget() const { return budget_; }
  size_t used() const { return used_; }
  size_t peak() const { return peak_; }
  size_t max_buffer_bytes() const { return max_storage_range_; }  // maxStorageBufferRange
  void upload(Buffer& dst, const void* src, size_t bytes, size_t offset = 0);
  void download(const Buffer& src, void* dst, size_t bytes, size_t offset = 0) const;

  // The pipeline of an embedded shader (kernels/vulkan/spirv.h), created on first use.
  const Pipeline& pipeline(const std::string& name, uint32_t n_buffers);
  // The fence timeout: EDGELLM_VULKAN_TIMEOUT_MS, default 120000.
  uint64_t timeout_ns() const { return timeout_ns_; }
  void set_timeout_ns(uint64_t ns) { timeout_ns_ = ns; }

  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  VkCommandPool command_pool() const { return pool_; }
  uint32_t max_workgroups_x() const { return max_groups_[0]; }
  uint32_t max_workgroups_y() const { return max_groups_[1]; }
  uint32_t max_shared_bytes() const { return max_shared_bytes_; }  // maxComputeSharedMemorySize
  // Compute-stage subgroups: the size (0: none reported) and whether subgroupShuffleXor is supported.
  uint32_t subgroup_size() const { return subgroup_size_; }
  bool subgroup_shuffle() const { return subgroup_shuffle_; }
  // The tensor-core prompt GEMM (gemm_coop.comp): Hardware where VK_NV_cooperative_matrix has the 16x16x16
  // f16 → f32 shape (enabled at device creation), Emulated when EDGELLM_VULKAN_COOPMAT=emulate asks for its
  // plain-code twin (tests on lavapipe), else None.
  enum class Coop { None, Hardware, Emulated };
  Coop coop() const { return coop_; }
  // Timestamps (the GPU profile): ns per tick, and the valid bits of the compute queue's (0: none).
  float timestamp_period_ns() const { return timestamp_period_ns_; }
  uint32_t timestamp_bits() const { return timestamp_bits_; }
  // Submits a recorded command buffer and waits on a fence; throws Error on timeout (never hangs). After a
  // timeout the command buffer may still be pending: the caller must abandon it, not reset or free it.
  void submit_and_wait(VkCommandBuffer cb, const char* what) const;
  // True while a submission that timed out may still run: buffers released then are leaked, not freed.
  bool timed_out_work_pending() const;

 private:
  friend class Buffer;
  void free_bytes(size_t n) { used_ -= n; }
  uint32_t memory_type(uint32_t bits, VkMemoryPropertyFlags want) const;
  void staged_copy(const Buffer& src, size_t so, const Buffer& dst, size_t dof, size_t bytes) const;
  void save_pipeline_cache();

  VkInstance instance_ = VK_NULL_HANDLE;
  VkPhysicalDevice phys_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::string cache_path_;    // the pipeline cache on disk ("": none), written back when a pipeline was created
  bool cache_dirty_ = false;
  VkPhysicalDeviceMemoryProperties mem_props_{};
  uint32_t max_groups_[3] = {65535, 65535, 65535};
  uint32_t max_shared_bytes_ = 16384;  // the spec's minimum until the device says
  uint32_t subgroup_size_ = 0;
  bool subgroup_shuffle_ = false;
  Coop coop_ = Coop::None;
  float timestamp_period_ns_ = 0;
  uint32_t timestamp_bits_ = 0;
  bool device_local_is_host_ = false;
  size_t max_storage_range_ = 0;
  uint32_t max_storage_buffers_ = 0;  // maxPerStageDescriptorStorageBuffers
  DeviceInfo info_;
  size_t budget_ = 0, used_ = 0, peak_ = 0;
  uint64_t timeout_ns_ = 0;
  std::map<std::string, Pipeline> pipelines_;
  mutable Buffer staging_;
  mutable VkFence fence_ = VK_NULL_HANDLE;  // submit_and_wait's, reused
  mutable VkFence stuck_fence_ = VK_NULL_HANDLE;  // the fence of the last submission that timed out, until it ends
};

// The process-wide context of device `index` (created on first use; -1 = the default choice).
Context& context(int index = -1);

}  // namespace edgellm::vk
