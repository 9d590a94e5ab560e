// Budget accounting around aligned operator new. One mutex: allocations are per
// tensor, not per element, so contention is negligible.
#include "runtime/arena.h"

#include <new>

#include "runtime/error.h"

namespace edgellm {

MemoryArena::MemoryArena(size_t budget, std::string name) : budget_(budget), name_(std::move(name)) {}

MemoryArena::~MemoryArena() = default;

void MemoryArena::charge_locked(size_t bytes, const char* what) {
  if (budget_ != 0 && (bytes > budget_ || in_use_ > budget_ - bytes)) {
    throw BudgetError(fmt::format(
        "memory budget exceeded in {}: asked for {} ({} bytes){}{}, {} ({} bytes) in use, budget {} ({} bytes)",
        name_, format_bytes(bytes), bytes, what ? " for " : "", what ? what : "", format_bytes(in_use_), in_use_,
        format_bytes(budget_), budget_));
  }
  in_use_ += bytes;
  if (in_use_ > peak_) peak_ = in_use_;
}

void* MemoryArena::allocate(size_t bytes, const char* what, size_t align) {
  EDGE_CHECK(align >= alignof(void*) && (align & (align - 1)) == 0, "alignment {} is not a power of two", align);
  std::lock_guard<std::mutex> lock(mu_);
  charge_locked(bytes, what);
  void* p = ::operator new(bytes == 0 ? 1 : bytes, std::align_val_t(align), std::nothrow);
  if (!p) {
    in_use_ -= bytes;
    throw BudgetError(fmt::format("out of system memory in {}: asked for {} ({} bytes){}{}", name_,
                                  format_bytes(bytes), bytes, what ? " for " : "", what ? what : ""));
  }
  return p;
}

void MemoryArena::release(void* p, size_t bytes, size_t align) {
  if (!p) return;
  ::operator delete(p, std::align_val_t(align));
  uncharge(bytes);
}

void MemoryArena::charge(size_t bytes, const char* what) {
  std::lock_guard<std::mutex> lock(mu_);
  charge_locked(bytes, what);
}

void MemoryArena::uncharge(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  in_use_ = bytes > in_use_ ? 0 : in_use_ - bytes;
}

size_t MemoryArena::in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}
size_t MemoryArena::peak() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_;
}
size_t MemoryArena::budget() const {
  std::lock_guard<std::mutex> lock(mu_);
  return budget_;
}
void MemoryArena::set_budget(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  budget_ = bytes;
}
void MemoryArena::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  peak_ = in_use_;
}
bool MemoryArena::would_fit(size_t bytes) const {
  std::lock_guard<std::mutex> lock(mu_);
  return budget_ == 0 || (bytes <= budget_ && in_use_ <= budget_ - bytes);
}

MemoryArena& default_arena() {
  static MemoryArena arena(0, "the default arena");
  return arena;
}

}  // namespace edgellm
