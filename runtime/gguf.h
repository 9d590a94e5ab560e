// GGUF v2/v3 model files: typed metadata, tensor infos, tensors as views into the mmapped
// file (reader) and an atomic writer. Everything read is validated against the file's size.
// Not a model loader: which tensors and keys a model needs is models/' business.
#pragma once

#include <array>
#include <cstdint>
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
// A GGUF file is untrusted input. Besides checking every length against the bytes left
// in the file (so no allocation can exceed the file's size), the reader refuses files
// beyond these limits, which are far above any real model (Llama-3-405B: ~1,100 tensors,
// ~40 keys, a 128k-token vocabulary, 280k merges) and bound the parser's memory and time.
constexpr uint64_t kGgufMaxTensors = uint64_t{1} << 18;        // 262,144 tensors
constexpr uint64_t kGgufMaxMetadataKV = uint64_t{1} << 16;     // 65,536 metadata keys
constexpr uint64_t kGgufMaxStringBytes = uint64_t{16} << 20;   // 16 MiB per string (chat templates: ~10 KiB)
constexpr uint64_t kGgufMaxArrayLength = uint64_t{1} << 24;    // 16M elements per array (vocabularies: ~256k)
constexpr int kGgufMaxArrayDepth = 8;                          // arrays nested this deep at most
constexpr uint64_t kGgufMaxHeaderBytes = uint64_t{1} << 30;    // 1 GiB of header (metadata + tensor infos)
constexpr uint64_t kGgufMaxAlignment = uint64_t{1} << 24;      // general.alignment at most 16 MiB
constexpr uint64_t kGgufDefaultAlignment = 32;

// Metadata value types, with GGUF's ids.
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
std::string_view gguf_type_name(GgufType t);
// Byte size of a scalar type (0 for STRING and ARRAY).
size_t gguf_scalar_size(GgufType t);
bool gguf_type_is_int(GgufType t);

// An array value: scalars as their little-endian file bytes, or strings, or nested arrays.
struct GgufArray {
  GgufType elem = GgufType::U8;
  uint64_t count = 0;
  std::vector<uint8_t> raw;           // elem scalar: count * gguf_scalar_size(elem) bytes
  std::vector<std::string> strings;   // elem == STRING
  std::vector<GgufArray> arrays;      // elem == ARRAY

  template <class T>
  static GgufArray of(const std::vector<T>& values);  // T: an integer type, float, double or bool
  static GgufArray of_strings(std::vector<std::string> values);
  static GgufArray of_arrays(std::vector<GgufArray> values);

  // Element i converted; throws Error if the element type does not convert.
  int64_t i64_at(uint64_t i) const;   // integer and bool elements
  double f64_at(uint64_t i) const;    // float and integer elements
  // Whole-array conversions; throw Error on a non-numeric type or a value out of range.
  std::vector<float> to_f32() const;
  std::vector<int32_t> to_i32() const;
  std::vector<int64_t> to_i64() const;
  bool operator==(const GgufArray& o) const = default;
};

// One metadata value.
class GgufValue {
 public:
  GgufValue() = default;
  template <class T>
  static GgufValue of(T v);  // T: uint8_t..int64_t, float, double, bool
  static GgufValue of_string(std::string s);
  static GgufValue of_array(GgufArray a);

  GgufType type() const { return type_; }
  // Conversions; each throws Error naming the actual type when it does not apply.
  uint64_t to_u64() const;   // any integer type with a value >= 0
  int64_t to_i64() const;    // any integer type with a value <= INT64_MAX
  double to_f64() const;     // F32 (exactly) or F64
  bool to_bool() const;
  const std::string& to_string() const;
  const GgufArray& to_array() const;
  // The value as text: scalars, strings quoted; arrays longer than `max_items` as "[type x N]".
  std::string str(size_t max_items = 8) const;
  bool operator==(const GgufValue& o) const;

  // Raw access for the reader and writer.
  uint64_t bits() const { return bits_; }
  static GgufValue from_bits(GgufType t, uint64_t bits);

 private:
  GgufType type_ = GgufType::U8;
  uint64_t bits_ = 0;  // scalar: its bytes, zero-extended
  std::string str_;
  std::shared_ptr<const GgufArray> arr_;
};

// A tensor's entry in the header.
struct GgufTensorInfo {
  std::string name;
  DType dtype = DType::F32;
  int n_dims = 0;
  std::array<int64_t, 4> ne{1, 1, 1, 1};  // ggml order: ne[0] is the fastest (contiguous) dim
  Shape shape;                            // row-major: the reverse of ne, so shape[-1] == ne[0]
  uint64_t offset = 0;                    // from GgufFile::data_offset()
  uint64_t nbytes = 0;
};

class GgufFile {
 public:
  // Maps and parses `path`; throws Error/FormatError naming the file and field.
  static GgufFile open(const std::string& path);
  static GgufFile parse(std::shared_ptr<MappedFile> file);

  const std::string& path() const { return file_->path(); }
  const std::shared_ptr<MappedFile>& file() const { return file_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute start of tensor data

  // ---- metadata, in file order ----
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Required forms throw FormatError(file, key) when the key is missing; every form throws
  // FormatError when the value has the wrong type or does not fit. Integer getters accept
  // any integer type whose value fits; float getters accept F32 and F64.
  uint32_t get_u32(std::string_view key) const;
  uint32_t get_u32(std::string_view key, uint32_t def) const;
  uint64_t get_u64(std::string_view key) const;
  uint64_t get_u64(std::string_view key, uint64_t def) const;
  int32_t get_i32(std::string_view key) const;
  int32_t get_i32(std::string_view key, int32_t def) const;
  int64_t get_i64(std::string_view key) const;
  int64_t get_i64(std::string_view key, int64_t def) const;
  float get_f32(std::string_view key) const;
  float get_f32(std::string_view key, float def) const;
  double get_f64(std::string_view key) const;
  double get_f64(std::string_view key, double def) const;
  bool get_bool(std::string_view key) const;
  bool get_bool(std::string_view key, bool def) const;
  std::string get_string(std::string_view key) const;
  std::string get_string(std::string_view key, const std::string& def) const;
  const GgufArray& get_array(std::string_view key) const;
  const GgufArray* find_array(std::string_view key) const;  // nullptr when missing
  // Typed array reads: element type checked, FormatError(file, key) otherwise.
  std::vector<std::string> get_strings(std::string_view key) const;
  std::vector<float> get_f32_array(std::string_view key) const;
  std::vector<int32_t> get_i32_array(std::string_view key) const;

  // ---- tensors, in file order ----
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // A read-only view into the mapping (an aligned copy if a small general.alignment leaves an
  // f32/f16/int tensor misaligned; quantized blocks are never copied); throws FormatError(file, name) if there is no such tensor.
  Tensor tensor(std::string_view name) const;
  Tensor tensor(const GgufTensorInfo& info) const;
  // As tensor(name), also throwing FormatError(file, name) when the shape is not `expect`
  // (row-major), e.g. a shape that disagrees with the hyperparameters.
  Tensor tensor(std::string_view name, const Shape& expect) const;
  const uint8_t* tensor_data(const GgufTensorInfo& info) const { return file_->data() + data_offset_ + info.offset; }

 private:
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  friend class GgufParser;
};

// Builds a GGUF file in memory order: metadata, tensor infos, aligned tensor data.
// Tensors are referenced (not copied) until write(); they must stay valid until then.
class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3);
  // Copies a file's metadata and tensor views (for a round trip or an edit).
  static GgufWriter from(const GgufFile& f);

  // Sets or replaces a key, keeping its first position.
  void set(const std::string& key, GgufValue v);
  void set_u32(const std::string& key, uint32_t v) { set(key, GgufValue::of(v)); }
  void set_i32(const std::string& key, int32_t v) { set(key, GgufValue::of(v)); }
  void set_u64(const std::string& key, uint64_t v) { set(key, GgufValue::of(v)); }
  void set_f32(const std::string& key, float v) { set(key, GgufValue::of(v)); }
  void set_bool(const std::string& key, bool v) { set(key, GgufValue::of(v)); }
  void set_string(const std::string& key, std::string v) { set(key, GgufValue::of_string(std::move(v))); }
  void set_array(const std::string& key, GgufArray a) { set(key, GgufValue::of_array(std::move(a))); }
  bool remove(const std::string& key);
  // Sets general.alignment (a power of two); 32 when never set.
  void set_alignment(uint32_t alignment);

  // A contiguous tensor with a row-major shape (stored as ne = reversed shape).
  // Throws Error for a duplicate name, a non-contiguous tensor or a dtype GGUF lacks.
  void add_tensor(const std::string& name, const Tensor& t);

  // Writes atomically (temp file + fsync + rename); throws Error naming the path.
  void write(const std::string& path) const;

 private:
  uint32_t version_;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<std::pair<std::string, Tensor>> tensors_;
};

}  // namespace edgellm
