// GGUF writer: metadata of every value type, tensor infos with ne in ggml order, and
// tensor data padded to the alignment, written atomically through runtime/atomic_file.h.
// Not a converter: it writes the tensors it is given, in the order given, unchanged.
#include <cstring>

#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/gguf.h"

namespace edgellm {
namespace {

constexpr uint32_t kMagic = 0x46554747;

template <class T>
void put(AtomicFile& f, T v) {
  f.write(&v, sizeof(T));
}

void put_string(AtomicFile& f, const std::string& s) {
  put<uint64_t>(f, s.size());
  f.write(s.data(), s.size());
}

void put_array(AtomicFile& f, const GgufArray& a) {
  put<uint32_t>(f, static_cast<uint32_t>(a.elem));
  put<uint64_t>(f, a.count);
  if (a.elem == GgufType::STRING) {
    EDGE_CHECK(a.strings.size() == a.count, "{}: GGUF array count {} != {} strings", f.path(), a.count, a.strings.size());
    for (const auto& s : a.strings) put_string(f, s);
  } else if (a.elem == GgufType::ARRAY) {
    EDGE_CHECK(a.arrays.size() == a.count, "{}: GGUF array count {} != {} arrays", f.path(), a.count, a.arrays.size());
    for (const auto& x : a.arrays) put_array(f, x);
  } else {
    EDGE_CHECK(a.raw.size() == a.count * gguf_scalar_size(a.elem), "{}: GGUF array of {} has {} bytes for {} elements",
               f.path(), gguf_type_name(a.elem), a.raw.size(), a.count);
    f.write(a.raw.data(), a.raw.size());
  }
}

void put_value(AtomicFile& f, const GgufValue& v) {
  put<uint32_t>(f, static_cast<uint32_t>(v.type()));
  if (v.type() == GgufType::STRING) return put_string(f, v.to_string());
  if (v.type() == GgufType::ARRAY) return put_array(f, v.to_array());
  const uint64_t bits = v.bits();
  f.write(&bits, gguf_scalar_size(v.type()));
}

uint64_t alignment_of(const std::vector<std::pair<std::string, GgufValue>>& kv) {
  for (const auto& [k, v] : kv)
    if (k == "general.alignment") return v.to_u64();
  return kGgufDefaultAlignment;
}

}  // namespace

GgufWriter::GgufWriter(uint32_t version) : version_(version) {
  EDGE_CHECK(version == 2 || version == 3, "GgufWriter: GGUF version {} is not supported (2 or 3)", version);
}

GgufWriter GgufWriter::from(const GgufFile& f) {
  GgufWriter w(f.version());
  w.kv_ = f.metadata();
  for (const auto& info : f.tensors()) w.add_tensor(info.name, f.tensor(info));
  return w;
}

void GgufWriter::set(const std::string& key, GgufValue v) {
  EDGE_CHECK(!key.empty(), "GgufWriter: empty metadata key");
  if (key == "general.alignment") {
    const uint64_t a = v.to_u64();
    EDGE_CHECK(a != 0 && (a & (a - 1)) == 0 && a <= kGgufMaxAlignment,
               "GgufWriter: general.alignment {} is not a power of two <= {}", a, kGgufMaxAlignment);
  }
  for (auto& [k, old] : kv_)
    if (k == key) {
      old = std::move(v);
      return;
    }
  kv_.emplace_back(key, std::move(v));
}

bool GgufWriter::remove(const std::string& key) {
  for (auto it = kv_.begin(); it != kv_.end(); ++it)
    if (it->first == key) {
      kv_.erase(it);
      return true;
    }
  return false;
}

void GgufWriter::set_alignment(uint32_t alignment) { set_u32("general.alignment", alignment); }

void GgufWriter::add_tensor(const std::string& name, const Tensor& t) {
  EDGE_CHECK(!name.empty(), "GgufWriter: empty tensor name");
  EDGE_CHECK(t.defined(), "GgufWriter: tensor '{}' is undefined", name);
  EDGE_CHECK(t.is_contiguous(), "GgufWriter: tensor '{}' is not contiguous", name);
  EDGE_CHECK(dtype_known(static_cast<uint32_t>(t.dtype())), "GgufWriter: tensor '{}' has dtype {} which GGUF lacks",
             name, dtype_name(t.dtype()));
  EDGE_CHECK(t.ndim() >= 1 && t.ndim() <= 4, "GgufWriter: tensor '{}' has {} dims (1 to 4)", name, t.ndim());
  for (int d = 0; d < t.ndim(); ++d)
    EDGE_CHECK(t.dim(d) > 0, "GgufWriter: tensor '{}' has a zero dimension in {}", name, t.shape().str());
  for (const auto& [n, _] : tensors_) EDGE_CHECK(n != name, "GgufWriter: duplicate tensor name '{}'", name);
  tensors_.emplace_back(name, t);
}

void GgufWriter::write(const std::string& path) const {
  const uint64_t align = alignment_of(kv_);
  AtomicFile f(path);
  put<uint32_t>(f, kMagic);
  put<uint32_t>(f, version_);
  put<uint64_t>(f, tensors_.size());
  put<uint64_t>(f, kv_.size());
  for (const auto& [k, v] : kv_) {
    put_string(f, k);
    put_value(f, v);
  }
  // Offsets are relative to the data section; each tensor starts aligned.
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  for (const auto& [name, t] : tensors_) {
    put_string(f, name);
    put<uint32_t>(f, static_cast<uint32_t>(t.ndim()));
    for (int d = t.ndim() - 1; d >= 0; --d) put<uint64_t>(f, static_cast<uint64_t>(t.dim(d)));
    put<uint32_t>(f, static_cast<uint32_t>(t.dtype()));
    put<uint64_t>(f, offset);
    offsets.push_back(offset);
    offset = (offset + t.nbytes() + align - 1) / align * align;
  }
  f.pad_to(align);
  const uint64_t data_start = f.written();
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i].second;
    f.pad_to(align);
    EDGE_CHECK(f.written() - data_start == offsets[i], "{}: internal offset mismatch for '{}'", path,
               tensors_[i].first);
    f.write(t.raw(), t.nbytes());
  }
  f.commit();
}

}  // namespace edgellm
