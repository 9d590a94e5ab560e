// A cheap Tensor handle: shared storage (owned, memory-mapped, arena or external),
// a byte offset, a shape, element strides and a dtype. Views share storage.
// Not an autograd node: training keeps its own tape (train/).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/arena.h"
#include "runtime/dtype.h"
#include "runtime/mmap_file.h"
#include "runtime/shape.h"

namespace edgellm {

class Storage {
 public:
  enum class Kind { Owned, Mapped, Arena, External };
  virtual ~Storage() = default;
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  Kind kind() const { return kind_; }
  bool writable() const { return kind_ != Kind::Mapped; }

 protected:
  Storage(uint8_t* d, size_t s, Kind k) : data_(d), size_(s), kind_(k) {}
  uint8_t* data_;
  size_t size_;
  Kind kind_;
};

class Tensor {
 public:
  Tensor() = default;

  // Uninitialised storage, 64-byte aligned, charged to `arena` (default_arena() if null).
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, MemoryArena* arena = nullptr);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, MemoryArena* arena = nullptr);
  // A read-only view into a mapped file; throws Error if [offset, offset+bytes) is out of the file.
  static Tensor mapped(std::shared_ptr<MappedFile> file, size_t offset, const Shape& shape, DType dtype);
  // A non-owning view of caller memory (the caller keeps it alive).
  static Tensor external(void* data, const Shape& shape, DType dtype);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Strides& strides() const { return strides_; }
  int ndim() const { return shape_.ndim; }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t numel() const { return shape_.numel(); }
  // Bytes the elements occupy when contiguous.
  size_t nbytes() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  size_t offset() const { return offset_; }

  uint8_t* raw() const { return storage_->data() + offset_; }
  template <class T>
  T* data() const {
    return reinterpret_cast<T*>(raw());
  }
  // Element (i0, i1, ...) of an f32 tensor, for tests and slow paths.
  float at(std::initializer_list<int64_t> idx) const;

  // Views. Quantized tensors allow only views that keep whole rows.
  Tensor reshape(const Shape& shape) const;      // contiguous only
  Tensor slice(int dim, int64_t begin, int64_t end) const;
  Tensor transpose(int a, int b) const;           // float dtypes only
  Tensor row(int64_t i) const { return slice(0, i, i + 1); }

  Tensor contiguous(MemoryArena* arena = nullptr) const;
  // A deep, writable, contiguous copy (of a mapped tensor too).
  Tensor clone(MemoryArena* arena = nullptr) const;
  // Converts between f32, f16 and bf16 (and dequantizes when a kernel for it exists).
  Tensor to(DType dtype, MemoryArena* arena = nullptr) const;
  // This tensor, or a copy of it when its address is not a multiple of its element size: kernels read elements
  // through typed pointers, and files written by other tools with a small alignment can place a view anywhere.
  Tensor element_aligned() const;

  std::string name;
  // Weights (N, K) only: stored column j multiplies input channel in_perm[j] (K entries), as group-int
  // weights read from act-order checkpoints need (groups contiguous in a permuted column order). Null when
  // the columns are in input order. Views and handle copies share it; kernels/linear.h honours it.
  std::shared_ptr<const std::vector<int32_t>> in_perm;

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
  Shape shape_;
  Strides strides_{};
  DType dtype_ = DType::F32;
};

}  // namespace edgellm
