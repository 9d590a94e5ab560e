// Crash-safe file writing: data goes to a temp file beside the target, is fsynced,
// then renamed over it, so readers see the old file or the new one, never half of one.
// Not a general I/O layer: no seeking, no reading back, one writer per target path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace edgellm {

class AtomicFile {
 public:
  // Creates "<path>.tmp.<pid>.XXXXXX" in the target's directory (after remove_stale_temps(path)); throws Error
  // naming the file.
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

// Writes a directory as one unit: `fill` writes its files into a fresh "<dir>.tmp.<pid>.XXXXXX" beside `dir`,
// which then takes dir's place in one rename (renameat2 RENAME_EXCHANGE when dir exists; the old one is then
// removed). A kill at any moment leaves the old directory or the new one, never a mix (a PEFT adapter's
// tensors and config must agree). If `fill` throws, dir is untouched.
void write_directory_atomic(const std::string& dir, const std::function<void(const std::string& tmp_dir)>& fill);

// Removes what killed writers left beside `path`: entries named "<path>.tmp.<pid>.XXXXXX" whose process is gone,
// or was started after the entry was last written (its pid reused). A live writer's temp, of this process or
// another, is kept. Returns how many were removed. Older temps without a pid are left alone: whose they are
// cannot be told.
size_t remove_stale_temps(const std::string& path);

}  // namespace edgellm
