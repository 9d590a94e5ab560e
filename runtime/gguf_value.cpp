// GGUF metadata values and arrays: construction, conversions and printing.
// Not the parser (gguf.cpp) nor the writer (gguf_writer.cpp).
#include <bit>
#include <cstring>
#include <limits>

#include "runtime/error.h"
#include "runtime/gguf.h"

namespace edgellm {

static_assert(std::endian::native == std::endian::little, "GGUF I/O assumes a little-endian host");

namespace {

template <class T>
constexpr GgufType type_of() {
  if constexpr (std::is_same_v<T, bool>) return GgufType::BOOL;
  else if constexpr (std::is_same_v<T, uint8_t>) return GgufType::U8;
  else if constexpr (std::is_same_v<T, int8_t>) return GgufType::I8;
  else if constexpr (std::is_same_v<T, uint16_t>) return GgufType::U16;
  else if constexpr (std::is_same_v<T, int16_t>) return GgufType::I16;
  else if constexpr (std::is_same_v<T, uint32_t>) return GgufType::U32;
  else if constexpr (std::is_same_v<T, int32_t>) return GgufType::I32;
  else if constexpr (std::is_same_v<T, uint64_t>) return GgufType::U64;
  else if constexpr (std::is_same_v<T, int64_t>) return GgufType::I64;
  else if constexpr (std::is_same_v<T, float>) return GgufType::F32;
  else if constexpr (std::is_same_v<T, double>) return GgufType::F64;
  else static_assert(sizeof(T) == 0, "not a GGUF scalar type");
}

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Sign- or zero-extends the scalar at p (an integer or bool type) to 64 bits; `neg` set when < 0.
uint64_t int_bits(GgufType t, const uint8_t* p, bool& neg) {
  neg = false;
  switch (t) {
    case GgufType::BOOL:
    case GgufType::U8: return p[0];
    case GgufType::U16: return load<uint16_t>(p);
    case GgufType::U32: return load<uint32_t>(p);
    case GgufType::U64: return load<uint64_t>(p);
    case GgufType::I8: { int64_t v = load<int8_t>(p); neg = v < 0; return static_cast<uint64_t>(v); }
    case GgufType::I16: { int64_t v = load<int16_t>(p); neg = v < 0; return static_cast<uint64_t>(v); }
    case GgufType::I32: { int64_t v = load<int32_t>(p); neg = v < 0; return static_cast<uint64_t>(v); }
    case GgufType::I64: { int64_t v = load<int64_t>(p); neg = v < 0; return static_cast<uint64_t>(v); }
    default: fail("expected an integer, got {}", gguf_type_name(t));
  }
}

double float_of(GgufType t, const uint8_t* p) {
  if (t == GgufType::F32) return load<float>(p);
  if (t == GgufType::F64) return load<double>(p);
  fail("expected a float, got {}", gguf_type_name(t));
}

}  // namespace

std::string_view gguf_type_name(GgufType t) {
  static constexpr std::string_view names[] = {"u8",   "i8",    "u16",   "i16", "u32", "i32", "f32",
                                               "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < 13 ? names[i] : std::string_view("unknown");
}

size_t gguf_scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    default: return 0;
  }
}

bool gguf_type_is_int(GgufType t) {
  return gguf_scalar_size(t) != 0 && t != GgufType::F32 && t != GgufType::F64 && t != GgufType::BOOL;
}

// ---- GgufArray -------------------------------------------------------------------------

template <class T>
GgufArray GgufArray::of(const std::vector<T>& values) {
  GgufArray a;
  a.elem = type_of<T>();
  a.count = values.size();
  a.raw.resize(values.size() * sizeof(T));
  for (size_t i = 0; i < values.size(); ++i) {
    const T v = values[i];
    std::memcpy(a.raw.data() + i * sizeof(T), &v, sizeof(T));
  }
  return a;
}
template GgufArray GgufArray::of(const std::vector<bool>&);
template GgufArray GgufArray::of(const std::vector<uint8_t>&);
template GgufArray GgufArray::of(const std::vector<int8_t>&);
template GgufArray GgufArray::of(const std::vector<uint16_t>&);
template GgufArray GgufArray::of(const std::vector<int16_t>&);
template GgufArray GgufArray::of(const std::vector<uint32_t>&);
template GgufArray GgufArray::of(const std::vector<int32_t>&);
template GgufArray GgufArray::of(const std::vector<uint64_t>&);
template GgufArray GgufArray::of(const std::vector<int64_t>&);
template GgufArray GgufArray::of(const std::vector<float>&);
template GgufArray GgufArray::of(const std::vector<double>&);

GgufArray GgufArray::of_strings(std::vector<std::string> values) {
  GgufArray a;
  a.elem = GgufType::STRING;
  a.count = values.size();
  a.strings = std::move(values);
  return a;
}

GgufArray GgufArray::of_arrays(std::vector<GgufArray> values) {
  GgufArray a;
  a.elem = GgufType::ARRAY;
  a.count = values.size();
  a.arrays = std::move(values);
  return a;
}

int64_t GgufArray::i64_at(uint64_t i) const {
  EDGE_CHECK(i < count, "array index {} out of range ({} elements)", i, count);
  bool neg = false;
  const uint64_t b = int_bits(elem, raw.data() + i * gguf_scalar_size(elem), neg);
  if (!neg && b > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    fail("array element {} = {} does not fit in int64", i, b);
  return static_cast<int64_t>(b);
}

double GgufArray::f64_at(uint64_t i) const {
  EDGE_CHECK(i < count, "array index {} out of range ({} elements)", i, count);
  if (elem == GgufType::F32 || elem == GgufType::F64) return float_of(elem, raw.data() + i * gguf_scalar_size(elem));
  return static_cast<double>(i64_at(i));
}

std::vector<float> GgufArray::to_f32() const {
  std::vector<float> out(count);
  if (elem == GgufType::F32) {
    if (count) std::memcpy(out.data(), raw.data(), count * 4);
    return out;
  }
  for (uint64_t i = 0; i < count; ++i) out[i] = static_cast<float>(f64_at(i));
  return out;
}

std::vector<int32_t> GgufArray::to_i32() const {
  std::vector<int32_t> out(count);
  for (uint64_t i = 0; i < count; ++i) {
    const int64_t v = i64_at(i);
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
      fail("array element {} = {} does not fit in int32", i, v);
    out[i] = static_cast<int32_t>(v);
  }
  return out;
}

std::vector<int64_t> GgufArray::to_i64() const {
  std::vector<int64_t> out(count);
  for (uint64_t i = 0; i < count; ++i) out[i] = i64_at(i);
  return out;
}

// ---- GgufValue -------------------------------------------------------------------------

template <class T>
GgufValue GgufValue::of(T v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return from_bits(type_of<T>(), bits);
}
template GgufValue GgufValue::of(bool);
template GgufValue GgufValue::of(uint8_t);
template GgufValue GgufValue::of(int8_t);
template GgufValue GgufValue::of(uint16_t);
template GgufValue GgufValue::of(int16_t);
template GgufValue GgufValue::of(uint32_t);
template GgufValue GgufValue::of(int32_t);
template GgufValue GgufValue::of(uint64_t);
template GgufValue GgufValue::of(int64_t);
template GgufValue GgufValue::of(float);
template GgufValue GgufValue::of(double);

GgufValue GgufValue::from_bits(GgufType t, uint64_t bits) {
  EDGE_CHECK(gguf_scalar_size(t) != 0, "GgufValue::from_bits needs a scalar type, got {}", gguf_type_name(t));
  GgufValue v;
  v.type_ = t;
  const size_t n = gguf_scalar_size(t);
  v.bits_ = n == 8 ? bits : (bits & ((uint64_t{1} << (8 * n)) - 1));
  return v;
}

GgufValue GgufValue::of_string(std::string s) {
  GgufValue v;
  v.type_ = GgufType::STRING;
  v.str_ = std::move(s);
  return v;
}

GgufValue GgufValue::of_array(GgufArray a) {
  GgufValue v;
  v.type_ = GgufType::ARRAY;
  v.arr_ = std::make_shared<const GgufArray>(std::move(a));
  return v;
}

uint64_t GgufValue::to_u64() const {
  if (!gguf_type_is_int(type_)) fail("expected an integer, got {}", gguf_type_name(type_));
  bool neg = false;
  const uint64_t b = int_bits(type_, reinterpret_cast<const uint8_t*>(&bits_), neg);
  if (neg) fail("expected a non-negative integer, got {}", static_cast<int64_t>(b));
  return b;
}

int64_t GgufValue::to_i64() const {
  if (!gguf_type_is_int(type_)) fail("expected an integer, got {}", gguf_type_name(type_));
  bool neg = false;
  const uint64_t b = int_bits(type_, reinterpret_cast<const uint8_t*>(&bits_), neg);
  if (!neg && b > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    fail("value {} does not fit in int64", b);
  return static_cast<int64_t>(b);
}

double GgufValue::to_f64() const { return float_of(type_, reinterpret_cast<const uint8_t*>(&bits_)); }

bool GgufValue::to_bool() const {
  if (type_ != GgufType::BOOL) fail("expected bool, got {}", gguf_type_name(type_));
  return bits_ != 0;
}

const std::string& GgufValue::to_string() const {
  if (type_ != GgufType::STRING) fail("expected string, got {}", gguf_type_name(type_));
  return str_;
}

const GgufArray& GgufValue::to_array() const {
  if (type_ != GgufType::ARRAY) fail("expected array, got {}", gguf_type_name(type_));
  return *arr_;
}

bool GgufValue::operator==(const GgufValue& o) const {
  if (type_ != o.type_) return false;
  if (type_ == GgufType::STRING) return str_ == o.str_;
  if (type_ == GgufType::ARRAY) return *arr_ == *o.arr_;
  return bits_ == o.bits_;
}

namespace {

std::string scalar_str(GgufType t, const uint8_t* p) {
  bool neg = false;
  switch (t) {
    case GgufType::BOOL: return p[0] ? "true" : "false";
    case GgufType::F32: return fmt::format("{}", load<float>(p));
    case GgufType::F64: return fmt::format("{}", load<double>(p));
    default: {
      const uint64_t b = int_bits(t, p, neg);
      return neg ? fmt::format("{}", static_cast<int64_t>(b)) : fmt::format("{}", b);
    }
  }
}

std::string quote(const std::string& s, size_t max_chars = 120) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max_chars; ++i) {
    const char c = s[i];
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '"') out += "\\\"";
    else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    else out += c;
  }
  if (s.size() > max_chars) out += fmt::format("...\" ({} bytes)", s.size());
  else out += "\"";
  return out;
}

std::string array_str(const GgufArray& a, size_t max_items) {
  if (a.count > max_items) return fmt::format("[{} x {}]", gguf_type_name(a.elem), a.count);
  std::string out = "[";
  for (uint64_t i = 0; i < a.count; ++i) {
    if (i) out += ", ";
    if (a.elem == GgufType::STRING) out += quote(a.strings[i], 40);
    else if (a.elem == GgufType::ARRAY) out += array_str(a.arrays[i], max_items);
    else out += scalar_str(a.elem, a.raw.data() + i * gguf_scalar_size(a.elem));
  }
  return out + "]";
}

}  // namespace

std::string GgufValue::str(size_t max_items) const {
  if (type_ == GgufType::STRING) return quote(str_);
  if (type_ == GgufType::ARRAY) return array_str(*arr_, max_items);
  return scalar_str(type_, reinterpret_cast<const uint8_t*>(&bits_));
}

}  // namespace edgellm
