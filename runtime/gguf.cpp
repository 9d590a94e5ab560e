// GGUF reader: parses the header of a memory-mapped file, checking every count, length,
// type, dimension and offset against the limits in gguf.h and the file's real size.
// Not a writer (gguf_writer.cpp) and not a model loader: it never interprets keys.
#include "runtime/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "runtime/error.h"
#include "runtime/parse_meter.h"

namespace edgellm {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32

// Names of ggml types edgellm cannot read, for clearer errors.
std::string_view unsupported_ggml_type(uint32_t id) {
  switch (id) {
    case 4: return "Q4_2 (removed from ggml)";
    case 5: return "Q4_3 (removed from ggml)";
    case 16: return "IQ2_XXS";
    case 17: return "IQ2_XS";
    case 18: return "IQ3_XXS";
    case 19: return "IQ1_S";
    case 20: return "IQ4_NL";
    case 21: return "IQ3_S";
    case 22: return "IQ2_S";
    case 23: return "IQ4_XS";
    case 29: return "IQ1_M";
    case 34: return "TQ1_0";
    case 35: return "TQ2_0";
    case 39: return "MXFP4";
    default: return "unknown";
  }
}

bool is_pow2(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

// Reads fields in order from the mapping; every read is bounds-checked first.
class GgufParser {
 public:
  GgufParser(GgufFile& out)
      : f_(out), file_(out.file_->path()), p_(out.file_->data()), size_(out.file_->size()), meter_(file_, "metadata") {}

  void run() {
    const uint32_t magic = read<uint32_t>("header.magic");
    if (magic != kMagic)
      // The bytes found are not quoted: the path may name any file (an index's embedding model, /etc/passwd).
      fail_format(file_, "header.magic", "not a GGUF file: it does not start with \"GGUF\"");
    f_.version_ = read<uint32_t>("header.version");
    if (f_.version_ != 2 && f_.version_ != 3) {
      if (f_.version_ == 1) fail_format(file_, "header.version", "GGUF v1 is not supported (only v2 and v3)");
      fail_format(file_, "header.version", "unknown GGUF version {} (only v2 and v3; a big-endian file?)",
                  f_.version_);
    }
    const uint64_t n_tensors = read<uint64_t>("header.tensor_count");
    const uint64_t n_kv = read<uint64_t>("header.metadata_kv_count");
    // Smallest possible encodings: a tensor info is 8 (name len) + 4 + 8 + 4 + 8 bytes; a KV
    // is 8 (key len) + 4 (type) + 1 byte. Counts the remaining bytes cannot hold are lies.
    if (n_tensors > kGgufMaxTensors)
      fail_format(file_, "header.tensor_count", "{} tensors exceeds the limit of {}", n_tensors, kGgufMaxTensors);
    if (n_kv > kGgufMaxMetadataKV)
      fail_format(file_, "header.metadata_kv_count", "{} keys exceeds the limit of {}", n_kv, kGgufMaxMetadataKV);
    if (n_kv * 13 > remaining())
      fail_format(file_, "header.metadata_kv_count", "{} keys cannot fit in the {} bytes left in the file", n_kv,
                  remaining());
    if (n_tensors * 32 > remaining())
      fail_format(file_, "header.tensor_count", "{} tensor infos cannot fit in the {} bytes left in the file",
                  n_tensors, remaining());

    f_.kv_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) read_kv(i);
    read_alignment();

    f_.tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) read_tensor_info(i);
    if (pos_ > kGgufMaxHeaderBytes)
      fail_format(file_, "header", "header of {} bytes exceeds the limit of {}", pos_, kGgufMaxHeaderBytes);

    // Tensor data starts at the next multiple of the alignment after the infos.
    const uint64_t a = f_.alignment_;
    f_.data_offset_ = (pos_ + a - 1) / a * a;
    check_tensor_data();
  }

 private:
  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, const std::string& field) {
    if (n > remaining())
      fail_format(file_, field, "file truncated: {} bytes needed at offset {}, only {} left", n, pos_, remaining());
  }

  template <class T>
  T read(const std::string& field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const std::string& field) {
    const uint64_t n = read<uint64_t>(field);
    if (n > kGgufMaxStringBytes)
      fail_format(file_, field, "string length {} exceeds the limit of {}", n, kGgufMaxStringBytes);
    if (n > remaining())
      fail_format(file_, field, "string length {} runs past the end of the file ({} bytes left at offset {})", n,
                  remaining(), pos_);
    // A string object (in a vector or a pair) and, past libstdc++'s 15-byte inline buffer, its heap block.
    meter_.add(sizeof(std::string) + (n > 15 ? n + 17 : 0));
    std::string s(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(n));
    pos_ += n;
    return s;
  }

  GgufType read_type(const std::string& field) {
    const uint32_t t = read<uint32_t>(field);
    if (t > static_cast<uint32_t>(GgufType::F64)) fail_format(file_, field, "unknown value type {}", t);
    return static_cast<GgufType>(t);
  }

  GgufArray read_array(const std::string& field, int depth) {
    if (depth > kGgufMaxArrayDepth)
      fail_format(file_, field, "arrays nested deeper than the limit of {}", kGgufMaxArrayDepth);
    meter_.add(sizeof(GgufArray));
    GgufArray a;
    a.elem = read_type(field + ".type");
    a.count = read<uint64_t>(field + ".count");
    if (a.count > kGgufMaxArrayLength)
      fail_format(file_, field, "array length {} exceeds the limit of {}", a.count, kGgufMaxArrayLength);
    // Minimum bytes per element: the scalar size, 8 for a string's length, 12 for an array's header.
    const uint64_t min_elem =
        a.elem == GgufType::STRING ? 8 : a.elem == GgufType::ARRAY ? 12 : gguf_scalar_size(a.elem);
    if (a.count * min_elem > remaining())
      fail_format(file_, field, "array of {} {} runs past the end of the file ({} bytes left at offset {})", a.count,
                  gguf_type_name(a.elem), remaining(), pos_);
    if (a.elem == GgufType::STRING) {
      a.strings.reserve(a.count);
      for (uint64_t i = 0; i < a.count; ++i) a.strings.push_back(read_string(fmt::format("{}[{}]", field, i)));
    } else if (a.elem == GgufType::ARRAY) {
      a.arrays.reserve(a.count);
      for (uint64_t i = 0; i < a.count; ++i) a.arrays.push_back(read_array(fmt::format("{}[{}]", field, i), depth + 1));
    } else {
      const uint64_t n = a.count * min_elem;
      meter_.add(n);
      a.raw.assign(p_ + pos_, p_ + pos_ + n);
      pos_ += n;
      if (a.elem == GgufType::BOOL)
        for (uint64_t i = 0; i < a.count; ++i)
          if (a.raw[i] > 1) fail_format(file_, fmt::format("{}[{}]", field, i), "bool value {} is not 0 or 1", a.raw[i]);
    }
    return a;
  }

  GgufValue read_value(GgufType t, const std::string& field) {
    if (t == GgufType::STRING) return GgufValue::of_string(read_string(field));
    if (t == GgufType::ARRAY) return GgufValue::of_array(read_array(field, 1));
    const size_t n = gguf_scalar_size(t);
    need(n, field);
    uint64_t bits = 0;
    std::memcpy(&bits, p_ + pos_, n);
    pos_ += n;
    if (t == GgufType::BOOL && bits > 1) fail_format(file_, field, "bool value {} is not 0 or 1", bits);
    return GgufValue::from_bits(t, bits);
  }

  void read_kv(uint64_t i) {
    const std::string key = read_string(fmt::format("metadata[{}].key", i));
    if (key.empty()) fail_format(file_, fmt::format("metadata[{}].key", i), "empty key");
    if (f_.kv_index_.count(key)) fail_format(file_, key, "duplicate metadata key");
    const GgufType t = read_type(key + " (value type)");
    meter_.add(sizeof(std::pair<std::string, GgufValue>) + 64);  // the entry and its index node
    GgufValue v = read_value(t, key);
    f_.kv_index_.emplace(key, f_.kv_.size());
    f_.kv_.emplace_back(key, std::move(v));
  }

  void read_alignment() {
    const GgufValue* v = f_.find("general.alignment");
    if (!v) return;
    if (!gguf_type_is_int(v->type()))
      fail_format(file_, "general.alignment", "expected an unsigned integer, got {}", gguf_type_name(v->type()));
    const int64_t a = v->to_i64();
    if (a <= 0 || !is_pow2(static_cast<uint64_t>(a)))
      fail_format(file_, "general.alignment", "alignment {} is not a power of two", a);
    if (static_cast<uint64_t>(a) > kGgufMaxAlignment)
      fail_format(file_, "general.alignment", "alignment {} exceeds the limit of {}", a, kGgufMaxAlignment);
    f_.alignment_ = static_cast<uint64_t>(a);
  }

  void read_tensor_info(uint64_t i) {
    meter_.add(sizeof(GgufTensorInfo) + 64);
    GgufTensorInfo t;
    t.name = read_string(fmt::format("tensor[{}].name", i));
    if (t.name.empty()) fail_format(file_, fmt::format("tensor[{}].name", i), "empty tensor name");
    if (f_.tensor_index_.count(t.name)) fail_format(file_, t.name, "duplicate tensor name");
    const std::string& f = t.name;
    const uint32_t n_dims = read<uint32_t>(f + ".n_dims");
    if (n_dims == 0 || n_dims > 4) fail_format(file_, f + ".n_dims", "n_dims = {}, expected 1 to 4", n_dims);
    t.n_dims = static_cast<int>(n_dims);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const std::string field = fmt::format("{}.ne[{}]", f, d);
      const uint64_t ne = read<uint64_t>(field);
      if (ne == 0) fail_format(file_, field, "zero dimension");
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ne)
        fail_format(file_, field, "dimension {} makes the element count overflow 64 bits", ne);
      numel *= ne;
      t.ne[d] = static_cast<int64_t>(ne);
    }
    const uint32_t type = read<uint32_t>(f + ".type");
    if (!dtype_known(type))
      fail_format(file_, f + ".type", "unsupported tensor type {} ({})", type, unsupported_ggml_type(type));
    t.dtype = static_cast<DType>(type);
    const DTypeInfo& info = dtype_info(t.dtype);
    if (t.ne[0] % info.block != 0)
      fail_format(file_, f + ".ne[0]", "{} is not a multiple of {}'s block size {}", t.ne[0], info.name, info.block);
    // Bytes: rows * row bytes, with the row count and product checked against overflow.
    const uint64_t blocks = static_cast<uint64_t>(t.ne[0] / info.block);
    const uint64_t block_bytes = static_cast<uint64_t>(info.block_bytes);
    if (blocks > std::numeric_limits<uint64_t>::max() / block_bytes)
      fail_format(file_, f + ".ne[0]", "a row of {} elements of {} overflows 64 bits of bytes", t.ne[0], info.name);
    const uint64_t row_bytes = blocks * block_bytes;
    const uint64_t rows = numel / static_cast<uint64_t>(t.ne[0]);
    if (rows > std::numeric_limits<uint64_t>::max() / row_bytes)
      fail_format(file_, fmt::format("{}.ne[{}]", f, t.n_dims - 1), "the tensor's byte size overflows 64 bits");
    t.nbytes = rows * row_bytes;
    t.offset = read<uint64_t>(f + ".offset");
    if (t.offset % f_.alignment_ != 0)
      fail_format(file_, f + ".offset", "offset {} is not a multiple of the alignment {}", t.offset, f_.alignment_);
    int64_t dims[4];
    for (int d = 0; d < t.n_dims; ++d) dims[d] = t.ne[static_cast<size_t>(t.n_dims - 1 - d)];
    t.shape = Shape::of(dims, t.n_dims);
    f_.tensor_index_.emplace(t.name, f_.tensors_.size());
    f_.tensors_.push_back(std::move(t));
  }

  void check_tensor_data() {
    const uint64_t base = f_.data_offset_;
    std::vector<size_t> order(f_.tensors_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    for (const auto& t : f_.tensors_) {
      if (base > size_ || t.offset > size_ - base || t.nbytes > size_ - base - t.offset)
        fail_format(file_, t.name + ".offset",
                    "tensor data ({} bytes at data offset {}, data section at {}) runs past the end of the file "
                    "({} bytes)",
                    t.nbytes, t.offset, base, size_);
    }
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return f_.tensors_[a].offset < f_.tensors_[b].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      const auto& prev = f_.tensors_[order[k - 1]];
      const auto& cur = f_.tensors_[order[k]];
      if (prev.offset + prev.nbytes > cur.offset)
        fail_format(file_, cur.name + ".offset", "tensor data [{}, {}) overlaps tensor '{}' at [{}, {})", cur.offset,
                    cur.offset + cur.nbytes, prev.name, prev.offset, prev.offset + prev.nbytes);
    }
  }

  GgufFile& f_;
  const std::string& file_;
  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
  ParseMeter meter_;
};

GgufFile GgufFile::open(const std::string& path) { return parse(MappedFile::open(path)); }

GgufFile GgufFile::parse(std::shared_ptr<MappedFile> file) {
  EDGE_CHECK(file != nullptr, "GgufFile::parse: no file");
  GgufFile f;
  f.file_ = std::move(file);
  GgufParser(f).run();
  return f;
}

// ---- metadata access ---------------------------------------------------------------------

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

namespace {

const GgufValue& required(const GgufFile& f, std::string_view key) {
  const GgufValue* v = f.find(key);
  if (!v) fail_format(f.path(), std::string(key), "required metadata key is missing");
  return *v;
}

// Runs a conversion, turning its Error into a FormatError naming the file and key.
template <class Fn>
auto convert(const GgufFile& f, std::string_view key, Fn&& fn) {
  try {
    return fn();
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(f.path(), std::string(key), e.what());
  }
}

template <class T>
T int_as(const GgufFile& f, std::string_view key, const GgufValue& v) {
  return convert(f, key, [&] {
    if constexpr (std::is_signed_v<T>) {
      const int64_t x = v.to_i64();
      if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max())
        fail("value {} does not fit in {} bits", x, 8 * sizeof(T));
      return static_cast<T>(x);
    } else {
      const uint64_t x = v.to_u64();
      if (x > std::numeric_limits<T>::max()) fail("value {} does not fit in {} bits", x, 8 * sizeof(T));
      return static_cast<T>(x);
    }
  });
}

}  // namespace

uint32_t GgufFile::get_u32(std::string_view k) const { return int_as<uint32_t>(*this, k, required(*this, k)); }
uint64_t GgufFile::get_u64(std::string_view k) const { return int_as<uint64_t>(*this, k, required(*this, k)); }
int32_t GgufFile::get_i32(std::string_view k) const { return int_as<int32_t>(*this, k, required(*this, k)); }
int64_t GgufFile::get_i64(std::string_view k) const { return int_as<int64_t>(*this, k, required(*this, k)); }
uint32_t GgufFile::get_u32(std::string_view k, uint32_t d) const { return has(k) ? get_u32(k) : d; }
uint64_t GgufFile::get_u64(std::string_view k, uint64_t d) const { return has(k) ? get_u64(k) : d; }
int32_t GgufFile::get_i32(std::string_view k, int32_t d) const { return has(k) ? get_i32(k) : d; }
int64_t GgufFile::get_i64(std::string_view k, int64_t d) const { return has(k) ? get_i64(k) : d; }

double GgufFile::get_f64(std::string_view k) const {
  const GgufValue& v = required(*this, k);
  return convert(*this, k, [&] { return v.to_f64(); });
}
float GgufFile::get_f32(std::string_view k) const { return static_cast<float>(get_f64(k)); }
double GgufFile::get_f64(std::string_view k, double d) const { return has(k) ? get_f64(k) : d; }
float GgufFile::get_f32(std::string_view k, float d) const { return has(k) ? get_f32(k) : d; }

bool GgufFile::get_bool(std::string_view k) const {
  const GgufValue& v = required(*this, k);
  return convert(*this, k, [&] { return v.to_bool(); });
}
bool GgufFile::get_bool(std::string_view k, bool d) const { return has(k) ? get_bool(k) : d; }

std::string GgufFile::get_string(std::string_view k) const {
  const GgufValue& v = required(*this, k);
  return convert(*this, k, [&] { return v.to_string(); });
}
std::string GgufFile::get_string(std::string_view k, const std::string& d) const {
  return has(k) ? get_string(k) : d;
}

const GgufArray& GgufFile::get_array(std::string_view k) const {
  const GgufValue& v = required(*this, k);
  if (v.type() != GgufType::ARRAY) fail_format(path(), std::string(k), "expected array, got {}", gguf_type_name(v.type()));
  return v.to_array();
}

const GgufArray* GgufFile::find_array(std::string_view k) const { return has(k) ? &get_array(k) : nullptr; }

std::vector<std::string> GgufFile::get_strings(std::string_view k) const {
  const GgufArray& a = get_array(k);
  if (a.elem != GgufType::STRING)
    fail_format(path(), std::string(k), "expected an array of strings, got an array of {}", gguf_type_name(a.elem));
  return a.strings;
}

std::vector<float> GgufFile::get_f32_array(std::string_view k) const {
  const GgufArray& a = get_array(k);
  if (a.elem != GgufType::F32 && a.elem != GgufType::F64)
    fail_format(path(), std::string(k), "expected an array of floats, got an array of {}", gguf_type_name(a.elem));
  return a.to_f32();
}

std::vector<int32_t> GgufFile::get_i32_array(std::string_view k) const {
  const GgufArray& a = get_array(k);
  if (!gguf_type_is_int(a.elem))
    fail_format(path(), std::string(k), "expected an array of integers, got an array of {}", gguf_type_name(a.elem));
  return convert(*this, k, [&] { return a.to_i32(); });
}

// ---- tensors -------------------------------------------------------------------------------

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Tensor GgufFile::tensor(std::string_view name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (!t) fail_format(path(), std::string(name), "required tensor is missing");
  return tensor(*t);
}

Tensor GgufFile::tensor(std::string_view name, const Shape& expect) const {
  Tensor t = tensor(name);
  if (t.shape() != expect)
    fail_format(path(), std::string(name), "shape {} (ne reversed) disagrees with the expected {}", t.shape().str(),
                expect.str());
  return t;
}

Tensor GgufFile::tensor(const GgufTensorInfo& info) const {
  Tensor t = Tensor::mapped(file_, static_cast<size_t>(data_offset_ + info.offset), info.shape, info.dtype);
  t.name = info.name;
  return t.element_aligned();
}

}  // namespace edgellm
