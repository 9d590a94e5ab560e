// The dtype table: block sizes and byte sizes, matching ggml's for GGUF types.
#include "runtime/dtype.h"

#include <array>
#include <cctype>
#include <string>

#include "runtime/error.h"

namespace edgellm {
namespace {

struct Entry {
  DType t;
  DTypeInfo info;
};

constexpr std::array<Entry, 32> kTable = {{
    {DType::F32, {"f32", 1, 4, false}},    {DType::F16, {"f16", 1, 2, false}},
    {DType::BF16, {"bf16", 1, 2, false}},  {DType::F64, {"f64", 1, 8, false}},
    {DType::I8, {"i8", 1, 1, false}},      {DType::I16, {"i16", 1, 2, false}},
    {DType::I32, {"i32", 1, 4, false}},    {DType::I64, {"i64", 1, 8, false}},
    {DType::Q4_0, {"q4_0", 32, 18, true}}, {DType::Q4_1, {"q4_1", 32, 20, true}},
    {DType::Q5_0, {"q5_0", 32, 22, true}}, {DType::Q5_1, {"q5_1", 32, 24, true}},
    {DType::Q8_0, {"q8_0", 32, 34, true}}, {DType::Q8_1, {"q8_1", 32, 36, true}},
    {DType::Q2_K, {"q2_k", 256, 84, true}}, {DType::Q3_K, {"q3_k", 256, 110, true}},
    {DType::Q4_K, {"q4_k", 256, 144, true}}, {DType::Q5_K, {"q5_k", 256, 176, true}},
    {DType::Q6_K, {"q6_k", 256, 210, true}}, {DType::Q8_K, {"q8_k", 256, 292, true}},
    // Group-int: block = group, block_bytes = codes + f16 scale + f16 zero of one group.
    {DType::GINT2_G32, {"gint2_g32", 32, 12, true}},   {DType::GINT2_G64, {"gint2_g64", 64, 20, true}},
    {DType::GINT2_G128, {"gint2_g128", 128, 36, true}}, {DType::GINT3_G32, {"gint3_g32", 32, 16, true}},
    {DType::GINT3_G64, {"gint3_g64", 64, 28, true}},   {DType::GINT3_G128, {"gint3_g128", 128, 52, true}},
    {DType::GINT4_G32, {"gint4_g32", 32, 20, true}},   {DType::GINT4_G64, {"gint4_g64", 64, 36, true}},
    {DType::GINT4_G128, {"gint4_g128", 128, 68, true}}, {DType::GINT8_G32, {"gint8_g32", 32, 36, true}},
    {DType::GINT8_G64, {"gint8_g64", 64, 68, true}},   {DType::GINT8_G128, {"gint8_g128", 128, 132, true}},
}};

const Entry* find(uint32_t id) {
  for (const auto& e : kTable)
    if (static_cast<uint32_t>(e.t) == id) return &e;
  return nullptr;
}

}  // namespace

const DTypeInfo& dtype_info(DType t) {
  const Entry* e = find(static_cast<uint32_t>(t));
  if (!e) fail("unknown dtype id {}", static_cast<uint32_t>(t));
  return e->info;
}

bool dtype_known(uint32_t id) { return find(id) != nullptr; }

DType gint_dtype(int bits, int group) {
  const int gi = group == 32 ? 0 : group == 64 ? 1 : group == 128 ? 2 : -1;
  if ((bits != 2 && bits != 3 && bits != 4 && bits != 8) || gi < 0)
    fail("group-int: no type for bits={} group={} (bits 2, 3, 4, 8; group 32, 64, 128)", bits, group);
  return static_cast<DType>(1000 + 10 * bits + gi);
}

std::string_view dtype_name(DType t) { return dtype_info(t).name; }

DType dtype_from_name(std::string_view name) {
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& e : kTable)
    if (e.info.name == lower) return e.t;
  fail("unknown dtype '{}'", name);
}

int64_t dtype_row_bytes(DType t, int64_t n) {
  const auto& info = dtype_info(t);
  if (n % info.block != 0)
    fail("a row of {} elements is not a multiple of {}'s block of {}", n, info.name, info.block);
  return n / info.block * info.block_bytes;
}

}  // namespace edgellm
