// Reading the user's data (text to score, calibration text, training JSONL, documents to index) within --mem-budget:
// every byte held is charged to the process arena, a file is read whole only when its size fits, and line by line
// with a per-line bound otherwise. Not for model files (those are mapped, runtime/mmap_file.h) or small configs
// (read_file with a limit).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/arena.h"

namespace edgellm {

// Memory held outside MemoryArena::allocate() (a std::string, a std::vector) charged to an arena while this lives.
// set() charges or gives back the difference; past the budget it throws BudgetError naming `what`.
class ArenaCharge {
 public:
  explicit ArenaCharge(std::string what, MemoryArena& arena = default_arena()) : arena_(&arena), what_(std::move(what)) {}
  ArenaCharge(ArenaCharge&& o) noexcept : arena_(o.arena_), what_(std::move(o.what_)), bytes_(std::exchange(o.bytes_, 0)) {}
  ArenaCharge& operator=(ArenaCharge&& o) noexcept;
  ArenaCharge(const ArenaCharge&) = delete;
  ArenaCharge& operator=(const ArenaCharge&) = delete;
  ~ArenaCharge() { set(0); }

  void set(size_t bytes);
  void add(size_t bytes) { set(bytes_ + bytes); }
  size_t bytes() const { return bytes_; }
  const std::string& what() const { return what_; }

 private:
  MemoryArena* arena_;
  std::string what_;
  size_t bytes_ = 0;
};

// A std::vector whose capacity is charged: growth charges the new buffer before it is allocated and gives the old
// one's charge back after the move, so the charge covers the moment both exist.
template <class T>
class ChargedVector {
 public:
  explicit ChargedVector(std::string what) : charge_(std::move(what)) {}
  void reserve(size_t n) {
    if (n <= v_.capacity()) return;
    const size_t old = v_.capacity() * sizeof(T);
    charge_.set(old + n * sizeof(T));
    v_.reserve(n);
    charge_.set(v_.capacity() * sizeof(T));
  }
  void append(const T* p, size_t n) {
    if (v_.size() + n > v_.capacity()) reserve(std::max(v_.size() + n, v_.capacity() * 3 / 2 + 16));
    v_.insert(v_.end(), p, p + n);
  }
  void push_back(const T& x) { append(&x, 1); }
  const std::vector<T>& vec() const { return v_; }
  size_t size() const { return v_.size(); }
  bool empty() const { return v_.empty(); }
  const T* data() const { return v_.data(); }
  T* data() { return v_.data(); }
  const T& operator[](size_t i) const { return v_[i]; }
  T& operator[](size_t i) { return v_[i]; }
  auto begin() const { return v_.begin(); }
  auto end() const { return v_.end(); }
  T& back() { return v_.back(); }

 private:
  ArenaCharge charge_;
  std::vector<T> v_;
};

// A user's file read whole, its bytes charged to the default arena for as long as this lives.
struct UserText {
  ArenaCharge charge;
  std::string text;
};

// With no --mem-budget, a pipe or device (whose size is unknown) is read to at most this many bytes.
constexpr uint64_t kUnbudgetedStreamMaxBytes = uint64_t{4} << 30;

// Reads `path` whole. A regular file is charged its size before a byte is read, so one that cannot fit is refused at
// once; a pipe or device is charged as it grows. Errors name the file and `purpose` ("the text to score"): a
// directory ("is a directory"), a file that cannot be opened, and a BudgetError naming the budget and the file.
UserText read_user_file(const std::string& path, const std::string& purpose);

// A text file line by line ('\n'; a trailing '\r' is kept), holding one line at a time: the line's buffer is
// charged, and a line longer than max_line bytes is a FormatError(file, "line N"). For JSONL and plain text that
// may be larger than memory, from a pipe, or /dev/zero.
class LineReader {
 public:
  LineReader(const std::string& path, const std::string& purpose, size_t max_line);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  // The next line (valid until the next call), or false at the end of the file.
  bool next(std::string_view& line);
  int64_t line_no() const { return line_no_; }
  const std::string& path() const { return path_; }

 private:
  bool fill();
  std::string path_;
  int fd_ = -1;
  size_t max_line_;
  int64_t line_no_ = 0;
  std::vector<char> buf_;  // (64 KiB) bytes read but not yet returned: [pos_, end_)
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  std::string line_;
  ArenaCharge charge_;  // buf_ + line_'s capacity
};

}  // namespace edgellm
