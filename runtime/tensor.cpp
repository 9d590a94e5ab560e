// Storage kinds and view arithmetic for Tensor.
#include "runtime/tensor.h"

#include <cstring>

#include "kernels/kernel_table.h"
#include "runtime/error.h"

namespace edgellm {
namespace {

class ArenaStorage final : public Storage {
 public:
  ArenaStorage(MemoryArena& arena, size_t bytes, const char* what)
      : Storage(static_cast<uint8_t*>(arena.allocate(bytes, what)), bytes, Kind::Arena), arena_(arena) {}
  ~ArenaStorage() override { arena_.release(data_, size_); }

 private:
  MemoryArena& arena_;
};

class MappedStorage final : public Storage {
 public:
  MappedStorage(std::shared_ptr<MappedFile> f)
      : Storage(const_cast<uint8_t*>(f->data()), f->size(), Kind::Mapped), file_(std::move(f)) {}

 private:
  std::shared_ptr<MappedFile> file_;
};

class ExternalStorage final : public Storage {
 public:
  ExternalStorage(void* d, size_t s) : Storage(static_cast<uint8_t*>(d), s, Kind::External) {}
};

size_t bytes_for(const Shape& shape, DType dtype) {
  const int64_t n = shape.numel();
  if (n == 0) return 0;
  return static_cast<size_t>(dtype_row_bytes(dtype, shape.cols()) * shape.rows());
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, MemoryArena* arena) {
  Tensor t;
  const size_t bytes = bytes_for(shape, dtype);
  t.storage_ = std::make_shared<ArenaStorage>(arena ? *arena : default_arena(), bytes, "a tensor");
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, MemoryArena* arena) {
  Tensor t = empty(shape, dtype, arena);
  if (t.nbytes()) std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::mapped(std::shared_ptr<MappedFile> file, size_t offset, const Shape& shape, DType dtype) {
  const size_t bytes = bytes_for(shape, dtype);
  if (offset > file->size() || bytes > file->size() - offset)
    fail("{}: tensor data [{}, {}) lies past the end of the file ({} bytes)", file->path(), offset, offset + bytes,
         file->size());
  Tensor t;
  t.storage_ = std::make_shared<MappedStorage>(std::move(file));
  t.offset_ = offset;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::external(void* data, const Shape& shape, DType dtype) {
  Tensor t;
  t.storage_ = std::make_shared<ExternalStorage>(data, bytes_for(shape, dtype));
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

size_t Tensor::nbytes() const { return bytes_for(shape_, dtype_); }

bool Tensor::is_contiguous() const {
  const Strides c = contiguous_strides(shape_);
  for (int i = 0; i < shape_.ndim; ++i)
    if (shape_[i] != 1 && strides_[static_cast<size_t>(i)] != c[static_cast<size_t>(i)]) return false;
  return true;
}

float Tensor::at(std::initializer_list<int64_t> idx) const {
  EDGE_CHECK(dtype_ == DType::F32, "at() reads f32 tensors, this one is {}", dtype_name(dtype_));
  EDGE_CHECK(static_cast<int>(idx.size()) == shape_.ndim, "at() needs {} indices, got {}", shape_.ndim, idx.size());
  int64_t off = 0;
  int i = 0;
  for (int64_t v : idx) {
    EDGE_CHECK(v >= 0 && v < shape_[i], "index {} out of range for dim {} of shape {}", v, i, shape_.str());
    off += v * strides_[static_cast<size_t>(i++)];
  }
  return data<float>()[off];
}

Tensor Tensor::reshape(const Shape& shape) const {
  EDGE_CHECK(is_contiguous(), "reshape of a non-contiguous tensor {}; call contiguous() first", shape_.str());
  EDGE_CHECK(shape.numel() == numel(), "cannot reshape {} to {}", shape_.str(), shape.str());
  if (dtype_info(dtype_).quantized)
    EDGE_CHECK(shape.cols() % dtype_info(dtype_).block == 0, "reshape of {} to {} splits a {} block",
               shape_.str(), shape.str(), dtype_name(dtype_));
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  return t;
}

Tensor Tensor::slice(int dim, int64_t begin, int64_t end) const {
  if (dim < 0) dim += shape_.ndim;
  EDGE_CHECK(dim >= 0 && dim < shape_.ndim, "slice dim {} out of range for shape {}", dim, shape_.str());
  EDGE_CHECK(0 <= begin && begin <= end && end <= shape_[dim], "slice [{}, {}) out of range for dim {} of {}", begin,
             end, dim, shape_.str());
  Tensor t = *this;
  if (dtype_info(dtype_).quantized) {
    EDGE_CHECK(dim < shape_.ndim - 1 && is_contiguous(), "quantized tensors slice only along rows");
    const int64_t row_bytes = dtype_row_bytes(dtype_, shape_.cols());
    t.offset_ += static_cast<size_t>(begin * strides_[static_cast<size_t>(dim)] / shape_.cols() * row_bytes);
  } else {
    t.offset_ += static_cast<size_t>(begin * strides_[static_cast<size_t>(dim)] * dtype_info(dtype_).block_bytes);
  }
  t.shape_[dim] = end - begin;
  return t;
}

Tensor Tensor::transpose(int a, int b) const {
  if (a < 0) a += shape_.ndim;
  if (b < 0) b += shape_.ndim;
  EDGE_CHECK(a >= 0 && a < shape_.ndim && b >= 0 && b < shape_.ndim, "transpose dims out of range");
  EDGE_CHECK(!dtype_info(dtype_).quantized, "cannot transpose a quantized tensor");
  Tensor t = *this;
  std::swap(t.shape_.dims[static_cast<size_t>(a)], t.shape_.dims[static_cast<size_t>(b)]);
  std::swap(t.strides_[static_cast<size_t>(a)], t.strides_[static_cast<size_t>(b)]);
  return t;
}

Tensor Tensor::contiguous(MemoryArena* arena) const {
  if (is_contiguous()) return *this;
  Tensor out = empty(shape_, dtype_, arena);
  const size_t es = static_cast<size_t>(dtype_info(dtype_).block_bytes);
  const int64_t n = numel();
  std::array<int64_t, kMaxDims> idx{};
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = 0;
    for (int i = 0; i < shape_.ndim; ++i) off += idx[static_cast<size_t>(i)] * strides_[static_cast<size_t>(i)];
    std::memcpy(out.raw() + static_cast<size_t>(k) * es, raw() + static_cast<size_t>(off) * es, es);
    for (int i = shape_.ndim - 1; i >= 0; --i) {
      if (++idx[static_cast<size_t>(i)] < shape_[i]) break;
      idx[static_cast<size_t>(i)] = 0;
    }
  }
  return out;
}

Tensor Tensor::clone(MemoryArena* arena) const {
  const Tensor src = contiguous(arena);
  if (src.storage_ != storage_) return src;  // contiguous() already copied
  Tensor out = empty(shape_, dtype_, arena);
  if (nbytes()) std::memcpy(out.raw(), raw(), nbytes());
  out.name = name;
  out.in_perm = in_perm;
  return out;
}

Tensor Tensor::element_aligned() const {
  const DTypeInfo& info = dtype_info(dtype_);
  if (info.quantized || nbytes() == 0 || reinterpret_cast<uintptr_t>(raw()) % static_cast<uintptr_t>(info.block_bytes) == 0)
    return *this;
  return clone();
}

Tensor Tensor::to(DType dtype, MemoryArena* arena) const {
  if (dtype == dtype_) return *this;
  const Tensor src = contiguous(arena);
  Tensor out = empty(shape_, dtype, arena);
  const auto& k = kernels();
  const int64_t n = numel();
  if (dtype_ == DType::F16 && dtype == DType::F32) k.f16_to_f32(out.data<float>(), src.data<uint16_t>(), n);
  else if (dtype_ == DType::F32 && dtype == DType::F16) k.f32_to_f16(out.data<uint16_t>(), src.data<float>(), n);
  else if (dtype_ == DType::BF16 && dtype == DType::F32) k.bf16_to_f32(out.data<float>(), src.data<uint16_t>(), n);
  else if (dtype_ == DType::F32 && dtype == DType::BF16) k.f32_to_bf16(out.data<uint16_t>(), src.data<float>(), n);
  else if (dtype_ != DType::F32 && dtype != DType::F32) return to(DType::F32, arena).to(dtype, arena);
  else fail("no conversion from {} to {}", dtype_name(dtype_), dtype_name(dtype));
  return out;
}

}  // namespace edgellm
