// Budget accounting around aligned operator new. One mutex: allocations are per
// tensor, not per element, so contention is negligible.
#include "runtime/arena.h"

#include <new>

#include "runtime/error.h"

namespace edgellm {
namespace {

// Under AddressSanitizer every release goes back to the allocator, so a use after release is caught.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kKeepBlocks = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kKeepBlocks = false;
#else
constexpr bool kKeepBlocks = true;
#endif
#else
constexpr bool kKeepBlocks = true;
#endif
constexpr size_t kMinKeptBytes = 64 << 10;  // smaller blocks come from malloc's heap without page faults

}  // namespace

MemoryArena::MemoryArena(size_t budget, std::string name) : budget_(budget), name_(std::move(name)) {}

MemoryArena::~MemoryArena() { trim_locked(); }

void* MemoryArena::take_kept_locked(size_t bytes, size_t align) {
  auto it = kept_blocks_.find({bytes, align});
  if (it == kept_blocks_.end()) return nullptr;
  void* p = it->second;
  kept_blocks_.erase(it);
  kept_ -= bytes;
  return p;
}

// Before a fresh allocation (already charged to in_use_): gives back kept blocks, largest first,
// until live plus kept memory stays within the all-time peak of in_use_ and the budget.
void MemoryArena::make_room_locked() {
  size_t limit = max_in_use_;
  if (budget_ != 0 && budget_ < limit) limit = budget_;
  while (kept_ != 0 && in_use_ + kept_ > limit) {
    auto it = std::prev(kept_blocks_.end());
    ::operator delete(it->second, std::align_val_t(it->first.second));
    kept_ -= it->first.first;
    kept_blocks_.erase(it);
  }
}

void MemoryArena::trim_locked() {
  for (auto& [key, p] : kept_blocks_) ::operator delete(p, std::align_val_t(key.second));
  kept_blocks_.clear();
  kept_ = 0;
}

void MemoryArena::charge_locked(size_t bytes, const char* what) {
  if (budget_ != 0 && (bytes > budget_ || in_use_ > budget_ - bytes)) {
    throw BudgetError(fmt::format(
        "memory budget exceeded in {}: asked for {} ({} bytes){}{}, {} ({} bytes) in use, budget {} ({} bytes)",
        name_, format_bytes(bytes), bytes, what ? " for " : "", what ? what : "", format_bytes(in_use_), in_use_,
        format_bytes(budget_), budget_));
  }
  in_use_ += bytes;
  if (in_use_ > peak_) peak_ = in_use_;
  if (in_use_ > max_in_use_) max_in_use_ = in_use_;
}

void* MemoryArena::allocate(size_t bytes, const char* what, size_t align) {
  EDGE_CHECK(align >= alignof(void*) && (align & (align - 1)) == 0, "alignment {} is not a power of two", align);
  std::lock_guard<std::mutex> lock(mu_);
  charge_locked(bytes, what);
  if (void* kept = take_kept_locked(bytes, align)) return kept;
  make_room_locked();
  void* p = ::operator new(bytes == 0 ? 1 : bytes, std::align_val_t(align), std::nothrow);
  if (!p && kept_ != 0) {
    trim_locked();
    p = ::operator new(bytes == 0 ? 1 : bytes, std::align_val_t(align), std::nothrow);
  }
  if (!p) {
    in_use_ -= bytes;
    throw BudgetError(fmt::format("out of system memory in {}: asked for {} ({} bytes){}{}", name_,
                                  format_bytes(bytes), bytes, what ? " for " : "", what ? what : ""));
  }
  return p;
}

void MemoryArena::release(void* p, size_t bytes, size_t align) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  in_use_ = bytes > in_use_ ? 0 : in_use_ - bytes;
  if (kKeepBlocks && bytes >= kMinKeptBytes) {
    kept_blocks_.emplace(std::make_pair(bytes, align), p);
    kept_ += bytes;
    return;
  }
  ::operator delete(p, std::align_val_t(align));
}

size_t MemoryArena::kept() const {
  std::lock_guard<std::mutex> lock(mu_);
  return kept_;
}

void MemoryArena::trim() {
  std::lock_guard<std::mutex> lock(mu_);
  trim_locked();
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
