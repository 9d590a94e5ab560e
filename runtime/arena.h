// The memory budget: every tensor allocation the runtime makes is charged here,
// refused past the user's budget, and the exact peak is kept.
// Not a general malloc replacement: memory-mapped weights are not charged (the OS can drop them).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>

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
  // The largest in_use() ever reached since construction or reset_peak(); exact bytes.
  size_t peak() const;
  size_t budget() const;
  // Lowering the budget below what is in use is allowed; the next allocation fails.
  void set_budget(size_t bytes);
  void reset_peak();
  bool would_fit(size_t bytes) const;

 private:
  void charge_locked(size_t bytes, const char* what);
  mutable std::mutex mu_;
  size_t budget_, in_use_ = 0, peak_ = 0;
  std::string name_;
};

// The process-wide arena that `--mem-budget` sets.
MemoryArena& default_arena();

}  // namespace edgellm
