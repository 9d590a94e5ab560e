// Read-only memory mapping of a whole file, the way weights are loaded.
// Not a writer: files are written through runtime/atomic_file.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace edgellm {

class MappedFile {
 public:
  // Maps `path` read-only; throws Error naming the file if it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  // Bytes already in memory, presented like a mapped file named `name` (fuzz targets,
  // in-memory models, tests); the MappedFile owns them.
  static std::shared_ptr<MappedFile> from_memory(std::string name, std::string bytes);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Re-reads the file's size: a file truncated under us is reported before a SIGBUS.
  bool still_whole() const;

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;  // true: data_ is an mmap to unmap; false: it points into owned_
  std::string owned_;
};

// A small file's bytes when no other limit applies (fixtures, a test's own output).
constexpr uint64_t kSmallFileMaxBytes = uint64_t{64} << 20;
// Reads a whole small file into a string, refusing (Error naming the file and the limit) one larger than max_bytes
// before reading it, and a pipe or device past it: for configs and untrusted text files (tokenizer.json,
// config.json) parsed whole. There is no unbounded form; the user's data (text to score, training data, documents)
// is read with runtime/user_data.h, charged to --mem-budget.
std::string read_file(const std::string& path, uint64_t max_bytes = kSmallFileMaxBytes);

}  // namespace edgellm
