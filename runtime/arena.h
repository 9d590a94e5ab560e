// The memory budget: every tensor allocation the runtime makes is charged here,
// refused past the user's budget, and the exact peak is kept.
// Released blocks of 64 KiB or more are kept for reuse by an allocation of the same size and
// alignment (a training step allocates the same activations every step; giving them back to the OS
// made each step fault in ~100 MB of fresh zeroed pages, ~4% of a LoRA step). The arena never holds
// more than its all-time peak of in_use() in live plus kept blocks, nor more than the budget.
// Not a general malloc replacement: memory-mapped weights are not charged (the OS can drop them).
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace edgellm {

class MemoryArena {
 public:
  // budget 0 means unlimited; `name` appears in error messages.
  explicit MemoryArena(size_t budget = 0, std::string name = "edgellm");
  MemoryArena(const MemoryArena&) = delete;
  MemoryArena& operator=(const MemoryArena&) = delete;
  ~MemoryArena();

  // Allocates `bytes` aligned to `align` (a power of two >= alignof(void*)).
  // Throws BudgetError saying what was asked, what is in use and the budget.
  void* allocate(size_t bytes, const char* what = nullptr, size_t align = 64);
  void release(void* p, size_t bytes, size_t align = 64);

  // Charges memory the runtime holds outside allocate() (e.g. a std::vector it owns).
  void charge(size_t bytes, const char* what = nullptr);
  void uncharge(size_t bytes);

  size_t in_use() const;
  // Bytes of released blocks kept for reuse (not charged to in_use(), but resident).
  size_t kept() const;
  // Gives every kept block back to the system.
  void trim();
  // The largest in_use() ever reached since construction or reset_peak(); exact bytes.
  size_t peak() const;
  size_t budget() const;
  // Lowering the budget below what is in use is allowed; the next allocation fails.
  void set_budget(size_t bytes);
  void reset_peak();
  bool would_fit(size_t bytes) const;

 private:
  void charge_locked(size_t bytes, const char* what);
  void* take_kept_locked(size_t bytes, size_t align);
  void make_room_locked();
  void trim_locked();
  mutable std::mutex mu_;
  size_t budget_, in_use_ = 0, peak_ = 0, max_in_use_ = 0, kept_ = 0;
  std::multimap<std::pair<size_t, size_t>, void*> kept_blocks_;  // (bytes, align) -> block
  std::string name_;
};

// The process-wide arena that `--mem-budget` sets.
MemoryArena& default_arena();

}  // namespace edgellm
