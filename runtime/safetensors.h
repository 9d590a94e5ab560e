// safetensors files: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the raw data. Reader (mmapped views) and writer.
// Not a model loader: Hugging Face names and config.json are models/hf_config.h's business.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/dtype.h"
#include "runtime/mmap_file.h"
#include "runtime/shape.h"
#include "runtime/tensor.h"

namespace edgellm {

// ---- Untrusted-input limits --------------------------------------------------------
// Every offset and size is checked against the file. In addition (as the reference
// implementation does) the JSON header may be at most 100 MB, and the reader refuses more
// tensors than any real checkpoint shard holds.
constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;
constexpr uint64_t kSafetensorsMaxTensors = uint64_t{1} << 18;  // 262,144 tensors

// "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8" <-> DType; throws Error otherwise.
DType safetensors_dtype(std::string_view name);
std::string_view safetensors_dtype_name(DType t);

struct SafetensorsInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;        // row-major, as stored
  uint64_t begin = 0;  // byte range relative to data_offset()
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps and parses `path`; throws Error/FormatError naming the file and field.
  static SafetensorsFile open(const std::string& path);
  static SafetensorsFile parse(std::shared_ptr<MappedFile> file);

  const std::string& path() const { return file_->path(); }
  const std::shared_ptr<MappedFile>& file() const { return file_; }
  uint64_t data_offset() const { return data_offset_; }  // 8 + header length
  // Tensors in file (offset) order.
  const std::vector<SafetensorsInfo>& tensors() const { return tensors_; }
  const SafetensorsInfo* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  // Read-only mapped view (an aligned copy if the file leaves it misaligned for its dtype);
  // throws FormatError(file, name) if missing.
  Tensor tensor(std::string_view name) const;
  Tensor tensor(const SafetensorsInfo& info) const;
  // As tensor(name), also throwing FormatError(file, name) when the shape is not `expect`.
  Tensor tensor(std::string_view name, const Shape& expect) const;
  // The "__metadata__" string map (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::shared_ptr<MappedFile> file_;
  uint64_t data_offset_ = 0;
  std::vector<SafetensorsInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// The safetensors files of a Hugging Face directory as one name space: the shards that
// model.safetensors.index.json lists when present, otherwise every *.safetensors file.
class SafetensorsDir {
 public:
  // Throws FormatError naming the file and tensor for a name found in two shards, or an
  // index entry whose shard or tensor is missing; Error when there is no safetensors file.
  static SafetensorsDir open(const std::string& dir);
  const std::string& dir() const { return dir_; }
  const std::vector<SafetensorsFile>& files() const { return files_; }
  bool has(std::string_view name) const { return index_.count(std::string(name)) != 0; }
  // The file holding `name`, or nullptr.
  const SafetensorsFile* file_of(std::string_view name) const;
  // Throws FormatError(dir, name) when missing (or when the shape is not `expect`).
  Tensor tensor(std::string_view name) const;
  Tensor tensor(std::string_view name, const Shape& expect) const;
  size_t size() const { return index_.size(); }

 private:
  std::string dir_;
  std::vector<SafetensorsFile> files_;
  std::unordered_map<std::string, size_t> index_;  // tensor name -> files_ index
};

// Writes tensors (referenced until write()), larger element sizes first and otherwise in
// insertion order; the header is padded with spaces to a multiple of 8 bytes, so every
// tensor's data is aligned to its element size. Atomic (temp + fsync + rename).
class SafetensorsWriter {
 public:
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  // Throws Error for a duplicate name, a non-contiguous tensor or a dtype safetensors lacks here.
  void add(const std::string& name, const Tensor& t);
  void write(const std::string& path) const;

 private:
  std::map<std::string, std::string> metadata_;
  std::vector<std::pair<std::string, Tensor>> tensors_;
};

}  // namespace edgellm
