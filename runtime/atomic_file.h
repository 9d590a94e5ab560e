// Crash-safe file writing: data goes to a temp file beside the target, is fsynced,
// then renamed over it, so readers see the old file or the new one, never half of one.
// Not a general I/O layer: no seeking, no reading back, one writer per target path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace edgellm {

class AtomicFile {
 public:
  // Creates "<path>.tmp.XXXXXX" in the target's directory; throws Error naming the file.
  explicit AtomicFile(std::string path);
  // Without commit(), the temp file is removed and the target is left untouched.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Buffered append; throws Error (e.g. disk full) naming the target path.
  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // Appends zero bytes up to the next multiple of `alignment` of the bytes written so far.
  void pad_to(uint64_t alignment);
  uint64_t written() const { return written_; }
  // Flush, fsync, close, rename over the target, fsync the directory.
  void commit();

  const std::string& path() const { return path_; }

 private:
  void flush();
  std::string path_, tmp_path_;
  int fd_ = -1;
  bool committed_ = false;
  uint64_t written_ = 0;
  std::string buf_;
};

// Writes a whole file atomically (small files: configs, JSON, indices).
void write_file_atomic(const std::string& path, std::string_view data);

}  // namespace edgellm
