// The Vulkan context: instance and device selection, buffers under a budget, staging copies, pipelines, fences.
// Not the ops (kernels/vulkan/ops.cpp) and not a general Vulkan wrapper: compute on one queue only.
#include "kernels/vulkan/context.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>

#include "kernels/vulkan/spirv.h"
#include "runtime/error.h"

namespace edgellm::vk {
namespace {

// Where compiled pipelines persist between runs: EDGELLM_VULKAN_PIPELINE_CACHE (a file; "off" or empty: none),
// else $XDG_CACHE_HOME or ~/.cache /edgellm/vulkan-<vendor>-<device>-<cache uuid>.bin: one file per driver build,
// so another driver's blob is never offered (drivers check the header too, and ignore data they cannot use).
std::string pipeline_cache_path(const VkPhysicalDeviceProperties& pr) {
  if (const char* e = std::getenv("EDGELLM_VULKAN_PIPELINE_CACHE"))
    return std::string(e) == "off" ? std::string() : std::string(e);
  std::string dir;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) dir = x;
  else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.cache";
  else return {};
  std::string uuid;
  for (uint8_t b : pr.pipelineCacheUUID) uuid += fmt::format("{:02x}", b);
  return fmt::format("{}/edgellm/vulkan-{:04x}-{:04x}-{}.bin", dir, pr.vendorID, pr.deviceID, uuid);
}

// The file's bytes when its header is this device's (VkPipelineCacheHeaderVersionOne), else nothing.
std::vector<char> read_pipeline_cache(const std::string& path, const VkPhysicalDeviceProperties& pr) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint32_t h[4];
  if (data.size() < 16 + VK_UUID_SIZE) return {};
  std::memcpy(h, data.data(), sizeof h);
  if (h[1] != VK_PIPELINE_CACHE_HEADER_VERSION_ONE || h[2] != pr.vendorID || h[3] != pr.deviceID ||
      std::memcmp(data.data() + 16, pr.pipelineCacheUUID, VK_UUID_SIZE) != 0)
    return {};
  return data;
}

}  // namespace

const char* result_name(VkResult r) {
  switch (r) {
#define EDGELLM_VK_NAME(x) \
  case x: return #x;
    EDGELLM_VK_NAME(VK_SUCCESS) EDGELLM_VK_NAME(VK_NOT_READY) EDGELLM_VK_NAME(VK_TIMEOUT)
    EDGELLM_VK_NAME(VK_INCOMPLETE) EDGELLM_VK_NAME(VK_ERROR_OUT_OF_HOST_MEMORY)
    EDGELLM_VK_NAME(VK_ERROR_OUT_OF_DEVICE_MEMORY) EDGELLM_VK_NAME(VK_ERROR_INITIALIZATION_FAILED)
    EDGELLM_VK_NAME(VK_ERROR_DEVICE_LOST) EDGELLM_VK_NAME(VK_ERROR_MEMORY_MAP_FAILED)
    EDGELLM_VK_NAME(VK_ERROR_LAYER_NOT_PRESENT) EDGELLM_VK_NAME(VK_ERROR_EXTENSION_NOT_PRESENT)
    EDGELLM_VK_NAME(VK_ERROR_FEATURE_NOT_PRESENT) EDGELLM_VK_NAME(VK_ERROR_INCOMPATIBLE_DRIVER)
    EDGELLM_VK_NAME(VK_ERROR_TOO_MANY_OBJECTS) EDGELLM_VK_NAME(VK_ERROR_FORMAT_NOT_SUPPORTED)
    EDGELLM_VK_NAME(VK_ERROR_FRAGMENTED_POOL) EDGELLM_VK_NAME(VK_ERROR_OUT_OF_POOL_MEMORY)
    EDGELLM_VK_NAME(VK_ERROR_INVALID_SHADER_NV) EDGELLM_VK_NAME(VK_ERROR_UNKNOWN)
#undef EDGELLM_VK_NAME
    default: return "VK_ERROR_(unlisted)";
  }
}

void check(VkResult r, const char* what) {
  if (r != VK_SUCCESS) fail("Vulkan: {}: {}", what, result_name(r));
}

namespace {

VkInstance make_instance() {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "edgellm";
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  VkInstance inst = VK_NULL_HANDLE;
  const VkResult r = vkCreateInstance(&ci, nullptr, &inst);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
    fail("Vulkan: no usable Vulkan driver (vkCreateInstance: {}); install one (e.g. mesa-vulkan-drivers) or "
         "point VK_ICD_FILENAMES at its ICD json",
         result_name(r));
  check(r, "vkCreateInstance");
  return inst;
}

// Tensor cores for the prompt GEMM (gemm_coop.comp) through VK_NV_cooperative_matrix: the extension with a
// 16x16x16 f16·f16 + f32 shape at subgroup scope for compute shaders, shaderFloat16 and the Vulkan memory model (the
// GLSL extension's loads and stores use it), and subgroups of 32 (the shader's layout). Fills `s` with the features
// and extensions to enable at device creation (only what the shader uses), or leaves s.ok false.
struct CoopSupport {
  bool ok = false;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  VkPhysicalDeviceShaderFloat16Int8FeaturesKHR f16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES_KHR};
  VkPhysicalDeviceVulkanMemoryModelFeaturesKHR vmm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES_KHR};
  std::vector<const char*> extensions;
};
void find_coop_support(VkInstance inst, VkPhysicalDevice phys, uint32_t subgroup_size, CoopSupport& s) {
  const char* const needed[] = {VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME,
                                VK_KHR_VULKAN_MEMORY_MODEL_EXTENSION_NAME};
  if (subgroup_size != 32) return;
  uint32_t n = 0;
  if (vkEnumerateDeviceExtensionProperties(phys, nullptr, &n, nullptr) != VK_SUCCESS) return;
  std::vector<VkExtensionProperties> ext(n);
  if (vkEnumerateDeviceExtensionProperties(phys, nullptr, &n, ext.data()) != VK_SUCCESS) return;
  for (const char* want : needed)
    if (std::none_of(ext.begin(), ext.end(),
                     [&](const VkExtensionProperties& e) { return !std::strcmp(e.extensionName, want); }))
      return;
  s.coop.pNext = &s.f16, s.f16.pNext = &s.vmm, s.vmm.pNext = nullptr;
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &s.coop;
  vkGetPhysicalDeviceFeatures2(phys, &f2);
  if (!s.coop.cooperativeMatrix || !s.f16.shaderFloat16 || !s.vmm.vulkanMemoryModel) return;
  VkPhysicalDeviceCooperativeMatrixPropertiesNV cp{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_NV};
  VkPhysicalDeviceProperties2 pr2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  pr2.pNext = &cp;
  vkGetPhysicalDeviceProperties2(phys, &pr2);
  if (!(cp.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT)) return;
  const auto shapes = reinterpret_cast<PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV>(
      vkGetInstanceProcAddr(inst, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV"));
  if (!shapes) return;
  uint32_t np = 0;
  if (shapes(phys, &np, nullptr) != VK_SUCCESS) return;
  std::vector<VkCooperativeMatrixPropertiesNV> props(np, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
  if (shapes(phys, &np, props.data()) != VK_SUCCESS) return;
  const bool shape = std::any_of(props.begin(), props.end(), [](const VkCooperativeMatrixPropertiesNV& c) {
    return c.MSize == 16 && c.NSize == 16 && c.KSize == 16 && c.AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
           c.BType == VK_COMPONENT_TYPE_FLOAT16_NV && c.CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
           c.DType == VK_COMPONENT_TYPE_FLOAT32_NV && c.scope == VK_SCOPE_SUBGROUP_NV;
  });
  if (!shape) return;
  s.coop = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  s.f16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES_KHR};
  s.vmm = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES_KHR};
  s.coop.cooperativeMatrix = s.f16.shaderFloat16 = s.vmm.vulkanMemoryModel = VK_TRUE;
  s.coop.pNext = &s.f16, s.f16.pNext = &s.vmm;
  s.extensions.assign(std::begin(needed), std::end(needed));
  s.ok = true;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance inst) {
  uint32_t n = 0;
  check(vkEnumeratePhysicalDevices(inst, &n, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> v(n);
  if (n) check(vkEnumeratePhysicalDevices(inst, &n, v.data()), "vkEnumeratePhysicalDevices");
  return v;
}

// Compute-stage subgroups (Vulkan 1.1 core): the size (0: none reported) and whether shuffles are supported.
struct Subgroups {
  uint32_t size = 0;
  bool shuffle = false;
};
Subgroups compute_subgroups(VkPhysicalDevice p) {
  VkPhysicalDeviceProperties pr;
  vkGetPhysicalDeviceProperties(p, &pr);
  Subgroups s;
  if (pr.apiVersion < VK_API_VERSION_1_1) return s;
  VkPhysicalDeviceSubgroupProperties sg{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 pr2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  pr2.pNext = &sg;
  vkGetPhysicalDeviceProperties2(p, &pr2);
  if (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT)
    s.size = sg.subgroupSize, s.shuffle = (sg.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) != 0;
  return s;
}

DeviceInfo describe(VkPhysicalDevice p, int index) {
  VkPhysicalDeviceProperties pr;
  vkGetPhysicalDeviceProperties(p, &pr);
  VkPhysicalDeviceMemoryProperties mp;
  vkGetPhysicalDeviceMemoryProperties(p, &mp);
  DeviceInfo d;
  d.index = index;
  d.name = pr.deviceName;
  d.api_version = pr.apiVersion;
  switch (pr.deviceType) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: d.type = "discrete"; break;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: d.type = "integrated"; break;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: d.type = "virtual"; break;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: d.type = "cpu"; break;
    default: d.type = "other";
  }
  for (uint32_t h = 0; h < mp.memoryHeapCount; ++h)
    if (mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      d.device_local_bytes = std::max<uint64_t>(d.device_local_bytes, mp.memoryHeaps[h].size);
  return d;
}

}  // namespace

std::vector<DeviceInfo> list_devices() {
  VkInstance inst = make_instance();
  std::vector<DeviceInfo> out;
  const auto devs = physical_devices(inst);
  for (size_t i = 0; i < devs.size(); ++i) {
    out.push_back(describe(devs[i], static_cast<int>(i)));
    CoopSupport coop;
    find_coop_support(inst, devs[i], compute_subgroups(devs[i]).size, coop);
    out.back().coop_matrix = coop.ok;
  }
  vkDestroyInstance(inst, nullptr);
  return out;
}

// ---- Buffer ------------------------------------------------------------------------------------------
Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    buf = o.buf, mem = o.mem, bytes = o.bytes, mapped = o.mapped, ctx = o.ctx;
    o.buf = VK_NULL_HANDLE, o.mem = VK_NULL_HANDLE, o.bytes = 0, o.mapped = nullptr, o.ctx = nullptr;
  }
  return *this;
}

void Buffer::release() {
  if (!ctx) return;
  // Work that timed out may still use it: freeing it under the device (a double free inside the driver at
  // exit, seen on lavapipe) is worse than leaking it.
  if (ctx->timed_out_work_pending()) {
    ctx->free_bytes(bytes);
    abandon();
    return;
  }
  if (mapped) vkUnmapMemory(ctx->device(), mem);
  if (buf) vkDestroyBuffer(ctx->device(), buf, nullptr);
  if (mem) vkFreeMemory(ctx->device(), mem, nullptr);
  ctx->free_bytes(bytes);
  buf = VK_NULL_HANDLE, mem = VK_NULL_HANDLE, bytes = 0, mapped = nullptr, ctx = nullptr;
}

// ---- Context -----------------------------------------------------------------------------------------
Context::Context(int index) {
  instance_ = make_instance();
  const auto devs = physical_devices(instance_);
  if (devs.empty()) {
    vkDestroyInstance(instance_, nullptr);
    fail("Vulkan: no Vulkan device found (the loader lists none)");
  }
  if (index >= static_cast<int>(devs.size())) {
    vkDestroyInstance(instance_, nullptr);
    fail("Vulkan: device {} requested but only {} exist (see `edgellm info`)", index, devs.size());
  }
  if (index < 0) {
    index = 0;
    int best = 9;
    for (size_t i = 0; i < devs.size(); ++i) {
      const std::string t = describe(devs[i], 0).type;
      const int rank = t == "discrete" ? 0 : t == "integrated" ? 1 : t == "virtual" ? 2 : 3;
      if (rank < best) best = rank, index = static_cast<int>(i);
    }
  }
  phys_ = devs[static_cast<size_t>(index)];
  info_ = describe(phys_, index);
  vkGetPhysicalDeviceMemoryProperties(phys_, &mem_props_);
  VkPhysicalDeviceProperties pr;
  vkGetPhysicalDeviceProperties(phys_, &pr);
  std::copy(pr.limits.maxComputeWorkGroupCount, pr.limits.maxComputeWorkGroupCount + 3, max_groups_);
  max_shared_bytes_ = pr.limits.maxComputeSharedMemorySize;
  const Subgroups sg = compute_subgroups(phys_);  // the flash attention's cluster sums, the wide matvecs
  subgroup_size_ = sg.size, subgroup_shuffle_ = sg.shuffle;
  if (pr.limits.maxPushConstantsSize < kPushBytes)
    fail("Vulkan: device '{}' has {} bytes of push constants, edgellm needs {} (VK_ERROR_FEATURE_NOT_PRESENT)",
         info_.name, pr.limits.maxPushConstantsSize, kPushBytes);

  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(phys_, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(phys_, &nq, qf.data());
  uint32_t family = UINT32_MAX;
  for (uint32_t i = 0; i < nq && family == UINT32_MAX; ++i)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = i;
  if (family == UINT32_MAX) fail("Vulkan: device '{}' has no compute queue (VK_ERROR_FEATURE_NOT_PRESENT)", info_.name);
  timestamp_bits_ = qf[family].timestampValidBits;
  timestamp_period_ns_ = pr.limits.timestampPeriod;

  const float prio = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &prio;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  // EDGELLM_VULKAN_COOPMAT: unset or "auto" finds the tensor cores (find_coop_support); "off" or "0" leaves them
  // unused; "emulate" runs the coop tiles' *_emu shaders (plain code in place of the fragment operations) on any
  // device, for the tests on lavapipe.
  const char* coop_env = std::getenv("EDGELLM_VULKAN_COOPMAT");
  const std::string coop_mode = coop_env ? coop_env : "auto";
  EDGE_CHECK(coop_mode.empty() || coop_mode == "auto" || coop_mode == "off" || coop_mode == "0" ||
                 coop_mode == "emulate",
             "EDGELLM_VULKAN_COOPMAT: one of auto, off, 0, emulate; got '{}'", coop_mode);
  CoopSupport coop;
  if (coop_mode == "auto" || coop_mode.empty()) find_coop_support(instance_, phys_, subgroup_size_, coop);
  if (coop.ok) {
    dci.pNext = &coop.coop;
    dci.enabledExtensionCount = static_cast<uint32_t>(coop.extensions.size());
    dci.ppEnabledExtensionNames = coop.extensions.data();
    coop_ = Coop::Hardware;
  } else if (coop_mode == "emulate") {
    coop_ = Coop::Emulated;
  }
  VkResult made = vkCreateDevice(phys_, &dci, nullptr, &device_);
  if (made != VK_SUCCESS && coop_ == Coop::Hardware) {  // a driver that lists the features but refuses them: go on
    dci.pNext = nullptr, dci.enabledExtensionCount = 0, dci.ppEnabledExtensionNames = nullptr;
    coop_ = Coop::None;
    made = vkCreateDevice(phys_, &dci, nullptr, &device_);
  }
  check(made, "vkCreateDevice");
  vkGetDeviceQueue(device_, family, 0, &queue_);
  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = family;
  check(vkCreateCommandPool(device_, &pci, nullptr, &pool_), "vkCreateCommandPool");
  cache_path_ = pipeline_cache_path(pr);
  const std::vector<char> cached = cache_path_.empty() ? std::vector<char>() : read_pipeline_cache(cache_path_, pr);
  VkPipelineCacheCreateInfo cci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  cci.initialDataSize = cached.size();
  cci.pInitialData = cached.empty() ? nullptr : cached.data();
  if (vkCreatePipelineCache(device_, &cci, nullptr, &cache_) != VK_SUCCESS) {  // a blob the driver refuses: start empty
    cci.initialDataSize = 0, cci.pInitialData = nullptr;
    check(vkCreatePipelineCache(device_, &cci, nullptr, &cache_), "vkCreatePipelineCache");
  }

  // Unified memory (lavapipe, most phones): device-local memory is mappable, so nothing needs staging.
  for (uint32_t i = 0; i < mem_props_.memoryTypeCount; ++i) {
    const auto f = mem_props_.memoryTypes[i].propertyFlags;
    if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
        (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) && info_.type != "discrete")
      device_local_is_host_ = true;
  }
  // Tests set EDGELLM_VULKAN_STAGING=1 to take the discrete-GPU path (staging copies) on lavapipe too.
  if (const char* f = std::getenv("EDGELLM_VULKAN_STAGING"); f && std::string(f) == "1") device_local_is_host_ = false;
  max_storage_range_ = pr.limits.maxStorageBufferRange;
  max_storage_buffers_ = pr.limits.maxPerStageDescriptorStorageBuffers;
  budget_ = static_cast<size_t>(static_cast<double>(info_.device_local_bytes) * 0.9);
  if (const char* b = std::getenv("EDGELLM_VULKAN_BUDGET"); b && *b) budget_ = parse_bytes(b);
  timeout_ns_ = 120000ull * 1000000ull;
  if (const char* t = std::getenv("EDGELLM_VULKAN_TIMEOUT_MS"); t && *t)
    timeout_ns_ = std::strtoull(t, nullptr, 10) * 1000000ull;
}

Context::~Context() {
  if (!device_) return;
  if (timed_out_work_pending()) return;  // waiting could hang and destroying could crash: leak it all at exit
  vkDeviceWaitIdle(device_);
  staging_.release();
  if (fence_) vkDestroyFence(device_, fence_, nullptr);
  for (auto& [name, p] : pipelines_) {
    vkDestroyPipeline(device_, p.pipeline, nullptr);
    vkDestroyPipelineLayout(device_, p.layout, nullptr);
    vkDestroyDescriptorSetLayout(device_, p.set_layout, nullptr);
  }
  save_pipeline_cache();
  vkDestroyPipelineCache(device_, cache_, nullptr);
  vkDestroyCommandPool(device_, pool_, nullptr);
  vkDestroyDevice(device_, nullptr);
  vkDestroyInstance(instance_, nullptr);
}

uint32_t Context::memory_type(uint32_t bits, VkMemoryPropertyFlags want) const {
  for (uint32_t i = 0; i < mem_props_.memoryTypeCount; ++i)
    if ((bits & (1u << i)) && (mem_props_.memoryTypes[i].propertyFlags & want) == want) return i;
  return UINT32_MAX;
}

Buffer Context::alloc(size_t bytes, bool host_visible) {
  bytes = std::max<size_t>((bytes + 15) / 16 * 16, 16);
  if (bytes > max_storage_range_)
    fail("Vulkan device '{}': a buffer of {} bytes exceeds its maxStorageBufferRange of {} bytes "
         "(VK_ERROR_FEATURE_NOT_PRESENT)", info_.name, bytes, max_storage_range_);
  if (used_ + bytes > budget_)
    throw BudgetError(fmt::format("Vulkan device '{}': allocating {} bytes would bring its use to {} bytes, over the "
                                  "budget of {} bytes (set EDGELLM_VULKAN_BUDGET)",
                                  info_.name, bytes, used_ + bytes, budget_));
  Buffer b;
  b.ctx = this;
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = bytes;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(device_, &bci, nullptr, &b.buf), "vkCreateBuffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device_, b.buf, &req);
  const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  uint32_t type = UINT32_MAX;
  bool mapped = host_visible || device_local_is_host_;
  if (device_local_is_host_) type = memory_type(req.memoryTypeBits, host | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  // Host-visible buffers are the staging of uploads and of read-backs (a token's logits, the loss): on a discrete
  // GPU the first HOST_VISIBLE|HOST_COHERENT type is usually write-combined, where the CPU's reads are uncached (a
  // 32,000-logit read-back is 128 KB of them per token); a HOST_CACHED type keeps reads at memory speed, writes too.
  if (type == UINT32_MAX && host_visible) type = memory_type(req.memoryTypeBits, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
  if (type == UINT32_MAX && host_visible) type = memory_type(req.memoryTypeBits, host);
  if (type == UINT32_MAX && !host_visible) {
    mapped = false;
    type = memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  }
  if (type == UINT32_MAX) {
    vkDestroyBuffer(device_, b.buf, nullptr);
    b.buf = VK_NULL_HANDLE, b.ctx = nullptr;
    fail("Vulkan device '{}': no memory type for a {} buffer (VK_ERROR_FEATURE_NOT_PRESENT)", info_.name,
         host_visible ? "host-visible" : "device-local");
  }
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = type;
  const VkResult r = vkAllocateMemory(device_, &ai, nullptr, &b.mem);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(device_, b.buf, nullptr);
    b.buf = VK_NULL_HANDLE, b.ctx = nullptr;
    fail("Vulkan device '{}': allocating {} bytes failed ({} bytes in use): {}", info_.name, bytes, used_,
         result_name(r));
  }
  b.bytes = bytes;
  used_ += bytes;
  peak_ = std::max(peak_, used_);
  check(vkBindBufferMemory(device_, b.buf, b.mem, 0), "vkBindBufferMemory");
  if (mapped) check(vkMapMemory(device_, b.mem, 0, VK_WHOLE_SIZE, 0, &b.mapped), "vkMapMemory");
  return b;
}

bool Context::timed_out_work_pending() const {
  if (stuck_fence_ && vkGetFenceStatus(device_, stuck_fence_) == VK_SUCCESS) stuck_fence_ = VK_NULL_HANDLE;
  return stuck_fence_ != VK_NULL_HANDLE;
}

void Context::submit_and_wait(VkCommandBuffer cb, const char* what) const {
  if (!fence_) {  // one fence, reset after each wait (a decode step submits once per token)
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(vkCreateFence(device_, &fci, nullptr, &fence_), "vkCreateFence");
  }
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  VkResult r = vkQueueSubmit(queue_, 1, &si, fence_);
  if (r == VK_SUCCESS) r = vkWaitForFences(device_, 1, &fence_, VK_TRUE, timeout_ns_);
  // A fence of a submission still running must not be destroyed or reset: on timeout it is kept aside (and
  // leaked) to tell when that work ends. The queue runs in order, so a later submission done means it is too.
  if (r == VK_TIMEOUT) stuck_fence_ = fence_, fence_ = VK_NULL_HANDLE;
  else vkResetFences(device_, 1, &fence_);
  if (r == VK_SUCCESS) stuck_fence_ = VK_NULL_HANDLE;
  if (r == VK_TIMEOUT)
    fail("Vulkan device '{}': {} did not finish within {} ms (VK_TIMEOUT; EDGELLM_VULKAN_TIMEOUT_MS sets the limit)",
         info_.name, what, timeout_ns_ / 1000000);
  if (r != VK_SUCCESS) fail("Vulkan device '{}': {}: {}", info_.name, what, result_name(r));
}

void Context::staged_copy(const Buffer& src, size_t so, const Buffer& dst, size_t dof, size_t bytes) const {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb;
  check(vkAllocateCommandBuffers(device_, &ai, &cb), "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  vkBeginCommandBuffer(cb, &bi);
  VkBufferCopy region{so, dof, bytes};
  vkCmdCopyBuffer(cb, src.buf, dst.buf, 1, &region);
  vkEndCommandBuffer(cb);
  submit_and_wait(cb, "a staging copy");  // on a timeout cb stays pending: leaked, not freed
  vkFreeCommandBuffers(device_, pool_, 1, &cb);
}

void Context::upload(Buffer& dst, const void* src, size_t bytes, size_t offset) {
  EDGE_CHECK(offset + bytes <= dst.bytes, "Vulkan upload: {} bytes at {} overrun a buffer of {}", bytes, offset,
             dst.bytes);
  if (dst.mapped) {
    std::memcpy(static_cast<char*>(dst.mapped) + offset, src, bytes);
    return;
  }
  constexpr size_t kStage = size_t{64} << 20;
  if (!staging_.defined()) staging_ = const_cast<Context*>(this)->alloc(kStage, true);
  for (size_t done = 0; done < bytes; done += kStage) {
    const size_t n = std::min(kStage, bytes - done);
    std::memcpy(staging_.mapped, static_cast<const char*>(src) + done, n);
    staged_copy(staging_, 0, dst, offset + done, n);
  }
}

void Context::download(const Buffer& src, void* dst, size_t bytes, size_t offset) const {
  EDGE_CHECK(offset + bytes <= src.bytes, "Vulkan download: {} bytes at {} overrun a buffer of {}", bytes, offset,
             src.bytes);
  if (src.mapped) {
    std::memcpy(dst, static_cast<const char*>(src.mapped) + offset, bytes);
    return;
  }
  constexpr size_t kStage = size_t{64} << 20;
  if (!staging_.defined()) staging_ = const_cast<Context*>(this)->alloc(kStage, true);
  for (size_t done = 0; done < bytes; done += kStage) {
    const size_t n = std::min(kStage, bytes - done);
    staged_copy(src, offset + done, staging_, 0, n);
    std::memcpy(static_cast<char*>(dst) + done, staging_.mapped, n);
  }
}

const Pipeline& Context::pipeline(const std::string& name, uint32_t n_buffers) {
  auto it = pipelines_.find(name);
  if (it != pipelines_.end()) return it->second;
  const SpirvModule spv = find_spirv(name.c_str());
  if (!spv.words) fail("Vulkan: no embedded shader named '{}'", name);
  if (n_buffers > max_storage_buffers_)
    fail("Vulkan device '{}': shader '{}' binds {} storage buffers, the driver allows {} per stage "
         "(maxPerStageDescriptorStorageBuffers; VK_ERROR_FEATURE_NOT_PRESENT)", info_.name, name, n_buffers,
         max_storage_buffers_);
  Pipeline p;
  p.n_buffers = n_buffers;
  std::vector<VkDescriptorSetLayoutBinding> binds(n_buffers);
  for (uint32_t i = 0; i < n_buffers; ++i)
    binds[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo dl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dl.bindingCount = n_buffers;
  dl.pBindings = binds.data();
  check(vkCreateDescriptorSetLayout(device_, &dl, nullptr, &p.set_layout), "vkCreateDescriptorSetLayout");
  VkPushConstantRange pc{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &p.set_layout;
  pl.pushConstantRangeCount = 1;
  pl.pPushConstantRanges = &pc;
  check(vkCreatePipelineLayout(device_, &pl, nullptr, &p.layout), "vkCreatePipelineLayout");
  VkShaderModuleCreateInfo sm{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  sm.codeSize = spv.n * 4;
  sm.pCode = spv.words;
  VkShaderModule mod;
  check(vkCreateShaderModule(device_, &sm, nullptr, &mod), "vkCreateShaderModule");
  VkComputePipelineCreateInfo cp{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cp.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, nullptr, 0, VK_SHADER_STAGE_COMPUTE_BIT, mod, "main",
              nullptr};
  cp.layout = p.layout;
  const VkResult r = vkCreateComputePipelines(device_, cache_, 1, &cp, nullptr, &p.pipeline);
  vkDestroyShaderModule(device_, mod, nullptr);
  if (r != VK_SUCCESS) fail("Vulkan: creating the pipeline of shader '{}': {}", name, result_name(r));
  cache_dirty_ = true;
  return pipelines_.emplace(name, p).first->second;
}

// Written to a temporary file and renamed (a concurrent run reads a whole file or none). A cache that cannot be
// written costs only the next run's compile time: a note, not an error.
void Context::save_pipeline_cache() {
  if (!cache_dirty_ || cache_path_.empty()) return;
  size_t n = 0;
  if (vkGetPipelineCacheData(device_, cache_, &n, nullptr) != VK_SUCCESS || n == 0) return;
  std::vector<char> data(n);
  if (vkGetPipelineCacheData(device_, cache_, &n, data.data()) != VK_SUCCESS) return;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(cache_path_).parent_path(), ec);
  const std::string tmp = cache_path_ + ".tmp" + std::to_string(reinterpret_cast<uintptr_t>(this));
  std::ofstream out(tmp, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(n));
  out.close();
  if (!out || (std::filesystem::rename(tmp, cache_path_, ec), ec)) {
    std::filesystem::remove(tmp, ec);
    std::fprintf(stderr, "note: Vulkan pipeline cache not written to %s\n", cache_path_.c_str());
  }
}

namespace {

std::mutex& contexts_mutex() {
  static std::mutex mu;
  return mu;
}
std::map<int, std::unique_ptr<Context>>& contexts() {
  static std::map<int, std::unique_ptr<Context>> all;
  return all;
}
void destroy_contexts() {
  std::lock_guard<std::mutex> lock(contexts_mutex());
  contexts().clear();
}

}  // namespace

Context& context(int index) {
  std::lock_guard<std::mutex> lock(contexts_mutex());
  auto& c = contexts()[index];
  if (!c) {
    c = std::make_unique<Context>(index);
    // Exit handlers run in reverse order of registration. NVIDIA's driver registers its own teardown while the
    // instance and device are created; the static map's destructor was registered before that and would then
    // call into an unloaded driver (a segfault at exit on the H100). Registered here, after the first device
    // exists, the contexts are destroyed (and the pipeline cache saved) while the driver is still whole.
    static std::once_flag once;
    std::call_once(once, [] { std::atexit(destroy_contexts); });
  }
  return *c;
}

}  // namespace edgellm::vk
