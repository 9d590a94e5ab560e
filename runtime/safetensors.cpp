// safetensors reader and writer. The reader checks the header length against the file,
// the JSON's shape, every dtype and shape, and that the byte ranges tile the data exactly.
// Not a converter: tensors are returned with the dtype they are stored in.
#include "runtime/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/parse_meter.h"

namespace edgellm {
namespace {

struct DTypeName {
  DType t;
  std::string_view name;
};
constexpr DTypeName kNames[] = {{DType::F32, "F32"}, {DType::F16, "F16"}, {DType::BF16, "BF16"},
                                {DType::F64, "F64"}, {DType::I64, "I64"}, {DType::I32, "I32"},
                                {DType::I16, "I16"}, {DType::I8, "I8"}};

using json = nlohmann::json;

}  // namespace

DType safetensors_dtype(std::string_view name) {
  for (const auto& n : kNames)
    if (n.name == name) return n.t;
  fail("unsupported safetensors dtype '{}' (edgellm reads F32, F16, BF16, F64, I64, I32, I16, I8)", name);
}

std::string_view safetensors_dtype_name(DType t) {
  for (const auto& n : kNames)
    if (n.t == t) return n.name;
  fail("dtype {} has no safetensors name", dtype_name(t));
}

SafetensorsFile SafetensorsFile::open(const std::string& path) { return parse(MappedFile::open(path)); }

SafetensorsFile SafetensorsFile::parse(std::shared_ptr<MappedFile> file) {
  EDGE_CHECK(file != nullptr, "SafetensorsFile::parse: no file");
  SafetensorsFile f;
  f.file_ = std::move(file);
  const std::string& path = f.file_->path();
  const uint64_t size = f.file_->size();
  if (size < 8) fail_format(path, "header length", "file truncated: {} bytes, a safetensors file needs at least 8", size);
  uint64_t n = 0;
  std::memcpy(&n, f.file_->data(), 8);
  if (n > kSafetensorsMaxHeaderBytes)
    fail_format(path, "header length", "header of {} bytes exceeds the limit of {}", n, kSafetensorsMaxHeaderBytes);
  if (n > size - 8)
    fail_format(path, "header length", "header of {} bytes is larger than the file ({} bytes after the length)", n,
                size - 8);
  if (n < 2) fail_format(path, "header", "header of {} bytes cannot hold a JSON object", n);
  f.data_offset_ = 8 + n;
  const char* text = reinterpret_cast<const char*>(f.file_->data() + 8);
  if (text[0] != '{') fail_format(path, "header", "header is not a JSON object (starts with byte 0x{:02x})", text[0]);

  // Parse, recording top-level keys to catch duplicates (nlohmann keeps the last silently).
  std::set<std::string> seen;
  std::string dup;
  const auto on_key = [&](int depth, const std::string& k) {
    if (depth == 1 && dup.empty() && !seen.insert(k).second) dup = k;
  };
  const json h = parse_json_metered(std::string_view(text, n), path, "header", on_key);
  if (!dup.empty()) fail_format(path, dup, "duplicate tensor name in the header");
  if (!h.is_object()) fail_format(path, "header", "header is not a JSON object");
  if (h.size() > kSafetensorsMaxTensors + 1)
    fail_format(path, "header", "{} entries exceed the limit of {} tensors", h.size(), kSafetensorsMaxTensors);

  const uint64_t data_bytes = size - f.data_offset_;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const json& e = it.value();
    if (name == "__metadata__") {
      if (!e.is_object()) fail_format(path, "__metadata__", "expected an object of strings");
      for (auto m = e.begin(); m != e.end(); ++m) {
        if (!m.value().is_string()) fail_format(path, "__metadata__." + m.key(), "expected a string value");
        f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!e.is_object()) fail_format(path, name, "expected an object with dtype, shape and data_offsets");
    SafetensorsInfo t;
    t.name = name;
    const auto dt = e.find("dtype");
    if (dt == e.end() || !dt->is_string()) fail_format(path, name + ".dtype", "missing or not a string");
    try {
      t.dtype = safetensors_dtype(dt->get<std::string>());
    } catch (const Error& err) {
      fail_format(path, name + ".dtype", "{}", err.what());
    }
    const auto sh = e.find("shape");
    if (sh == e.end() || !sh->is_array()) fail_format(path, name + ".shape", "missing or not an array");
    if (sh->size() > static_cast<size_t>(kMaxDims))
      fail_format(path, name + ".shape", "{} dims, edgellm supports at most {}", sh->size(), kMaxDims);
    int64_t dims[kMaxDims] = {};
    uint64_t numel = 1;
    for (size_t d = 0; d < sh->size(); ++d) {
      const json& v = (*sh)[d];
      if (!v.is_number_unsigned()) fail_format(path, fmt::format("{}.shape[{}]", name, d), "not a non-negative integer");
      const uint64_t x = v.get<uint64_t>();
      if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || (x != 0 && numel > UINT64_MAX / x))
        fail_format(path, fmt::format("{}.shape[{}]", name, d), "dimension {} overflows the element count", x);
      numel *= x;
      dims[d] = static_cast<int64_t>(x);
    }
    t.shape = Shape::of(dims, static_cast<int>(sh->size()));
    const auto off = e.find("data_offsets");
    if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      fail_format(path, name + ".data_offsets", "expected [begin, end] of non-negative integers");
    t.begin = (*off)[0].get<uint64_t>();
    t.end = (*off)[1].get<uint64_t>();
    if (t.end < t.begin) fail_format(path, name + ".data_offsets", "end {} is before begin {}", t.end, t.begin);
    if (t.end > data_bytes)
      fail_format(path, name + ".data_offsets", "range [{}, {}) runs past the end of the data ({} bytes)", t.begin,
                  t.end, data_bytes);
    const uint64_t esize = static_cast<uint64_t>(dtype_info(t.dtype).block_bytes);
    if (numel > UINT64_MAX / esize || numel * esize != t.end - t.begin)
      fail_format(path, name + ".data_offsets", "range of {} bytes does not match {} elements of {} ({} bytes each)",
                  t.end - t.begin, numel, safetensors_dtype_name(t.dtype), esize);
    f.tensors_.push_back(std::move(t));
  }

  // The byte ranges must tile [0, data_bytes) with no gap and no overlap.
  std::sort(f.tensors_.begin(), f.tensors_.end(), [](const SafetensorsInfo& a, const SafetensorsInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expect = 0;
  for (const auto& t : f.tensors_) {
    if (t.begin != expect)
      fail_format(path, t.name + ".data_offsets", "offsets are not contiguous: begins at {}, expected {}", t.begin,
                  expect);
    expect = t.end;
  }
  if (expect != data_bytes)
    fail_format(path, "data_offsets", "tensors cover {} bytes but the file has {} bytes of data", expect, data_bytes);
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_.emplace(f.tensors_[i].name, i);
  return f;
}

const SafetensorsInfo* SafetensorsFile::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Tensor SafetensorsFile::tensor(std::string_view name) const {
  const SafetensorsInfo* t = find(name);
  if (!t) fail_format(path(), std::string(name), "required tensor is missing");
  return tensor(*t);
}

Tensor SafetensorsFile::tensor(const SafetensorsInfo& info) const {
  Tensor t = Tensor::mapped(file_, static_cast<size_t>(data_offset_ + info.begin), info.shape, info.dtype);
  t.name = info.name;
  return t.element_aligned();
}

Tensor SafetensorsFile::tensor(std::string_view name, const Shape& expect) const {
  Tensor t = tensor(name);
  if (t.shape() != expect)
    fail_format(path(), std::string(name), "shape {} disagrees with the expected {}", t.shape().str(), expect.str());
  return t;
}

// ---- writer -------------------------------------------------------------------------------

void SafetensorsWriter::add(const std::string& name, const Tensor& t) {
  EDGE_CHECK(!name.empty() && name != "__metadata__", "SafetensorsWriter: invalid tensor name '{}'", name);
  EDGE_CHECK(t.defined() && t.is_contiguous(), "SafetensorsWriter: tensor '{}' is undefined or not contiguous", name);
  safetensors_dtype_name(t.dtype());  // throws for a dtype safetensors lacks
  for (const auto& [n, _] : tensors_) EDGE_CHECK(n != name, "SafetensorsWriter: duplicate tensor name '{}'", name);
  tensors_.emplace_back(name, t);
}

void SafetensorsWriter::write(const std::string& path) const {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    auto m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata_) m[k] = v;
    h["__metadata__"] = m;
  }
  // Like the reference writer, larger elements go first (stable otherwise), so that with
  // the 8-byte-aligned header every tensor's data is aligned to its element size.
  std::vector<const std::pair<std::string, Tensor>*> order;
  for (const auto& e : tensors_) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return dtype_info(a->second.dtype()).block_bytes > dtype_info(b->second.dtype()).block_bytes;
  });
  uint64_t offset = 0;
  for (const auto* e : order) {
    const auto& [name, t] = *e;
    auto shape = nlohmann::ordered_json::array();
    for (int d = 0; d < t.ndim(); ++d) shape.push_back(t.dim(d));
    const uint64_t n = t.nbytes();
    h[name] = {{"dtype", safetensors_dtype_name(t.dtype())}, {"shape", shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = h.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  AtomicFile f(path);
  const uint64_t len = text.size();
  f.write(&len, 8);
  f.write(text);
  for (const auto* e : order) f.write(e->second.raw(), e->second.nbytes());
  f.commit();
}

}  // namespace edgellm
