// The dtype table: block sizes and bytes (GGUF-compatible), names, and row-size errors.
// Not the f16/bf16 conversions: tests/kernels/test_conversions.cpp checks those exhaustively.
#include <doctest/doctest.h>

#include <string>

#include "runtime/dtype.h"
#include "runtime/error.h"

using namespace edgellm;

TEST_CASE("dtype_info: block and byte sizes match ggml's for GGUF types") {
  struct Want {
    DType t;
    const char* name;
    int64_t block, bytes;
    bool quantized;
  };
  const Want want[] = {
      {DType::F32, "f32", 1, 4, false},     {DType::F16, "f16", 1, 2, false},     {DType::BF16, "bf16", 1, 2, false},
      {DType::F64, "f64", 1, 8, false},     {DType::I8, "i8", 1, 1, false},       {DType::I16, "i16", 1, 2, false},
      {DType::I32, "i32", 1, 4, false},     {DType::I64, "i64", 1, 8, false},     {DType::Q4_0, "q4_0", 32, 18, true},
      {DType::Q4_1, "q4_1", 32, 20, true},  {DType::Q5_0, "q5_0", 32, 22, true},  {DType::Q5_1, "q5_1", 32, 24, true},
      {DType::Q8_0, "q8_0", 32, 34, true},  {DType::Q8_1, "q8_1", 32, 36, true},  {DType::Q2_K, "q2_k", 256, 84, true},
      {DType::Q3_K, "q3_k", 256, 110, true}, {DType::Q4_K, "q4_k", 256, 144, true}, {DType::Q5_K, "q5_k", 256, 176, true},
      {DType::Q6_K, "q6_k", 256, 210, true}, {DType::Q8_K, "q8_k", 256, 292, true},
  };
  for (const auto& w : want) {
    const std::string name = w.name;
    CAPTURE(name);
    const DTypeInfo& info = dtype_info(w.t);
    CHECK(info.name == w.name);
    CHECK(info.block == w.block);
    CHECK(info.block_bytes == w.bytes);
    CHECK(info.quantized == w.quantized);
    CHECK(dtype_name(w.t) == w.name);
    CHECK(dtype_known(static_cast<uint32_t>(w.t)));
  }
  // GGUF ids are the enum values, so files map one to one.
  CHECK(static_cast<uint32_t>(DType::F16) == 1);
  CHECK(static_cast<uint32_t>(DType::Q4_K) == 12);
  CHECK(static_cast<uint32_t>(DType::BF16) == 30);
}

TEST_CASE("dtype names parse case-insensitively; unknown names and ids raise Error") {
  CHECK(dtype_from_name("f32") == DType::F32);
  CHECK(dtype_from_name("Q4_K") == DType::Q4_K);
  CHECK(dtype_from_name("BF16") == DType::BF16);
  CHECK_THROWS_AS(dtype_from_name("f8"), Error);
  CHECK_THROWS_WITH(dtype_from_name("q9_9"), doctest::Contains("q9_9"));
  CHECK_THROWS_AS(dtype_info(static_cast<DType>(4)), Error);  // 4 and 5 are retired GGUF ids
  CHECK_THROWS_WITH(dtype_info(static_cast<DType>(77)), doctest::Contains("77"));
  CHECK_FALSE(dtype_known(4));
  CHECK_FALSE(dtype_known(12345));
  CHECK(dtype_known(static_cast<uint32_t>(DType::GINT3_G128)));  // edgellm's own GGUF extension ids
  CHECK_FALSE(dtype_known(1000));
  CHECK_FALSE(dtype_known(1043));
}

TEST_CASE("group-int dtypes: ids, bits, group, row bytes = codes + f16 scale and zero per group") {
  for (int bits : {2, 3, 4, 8})
    for (int group : {32, 64, 128}) {
      const DType t = gint_dtype(bits, group);
      CHECK(dtype_is_gint(t));
      CHECK(gint_bits(t) == bits);
      CHECK(gint_group(t) == group);
      CHECK(dtype_row_bytes(t, 256) == 256 * bits / 8 + 4 * (256 / group));
      CHECK(dtype_from_name(dtype_name(t)) == t);
    }
  CHECK(gint_dtype(4, 128) == DType::GINT4_G128);
  CHECK_FALSE(dtype_is_gint(DType::Q4_0));
  CHECK_FALSE(dtype_is_gint(static_cast<DType>(1023)));
  CHECK_THROWS_AS(gint_dtype(5, 128), Error);
  CHECK_THROWS_AS(gint_dtype(4, 16), Error);
  CHECK_THROWS_AS(dtype_row_bytes(DType::GINT4_G128, 64), Error);
}

TEST_CASE("dtype_row_bytes: whole blocks only, with an error naming the dtype and block") {
  CHECK(dtype_row_bytes(DType::F32, 7) == 28);
  CHECK(dtype_row_bytes(DType::F16, 4099) == 8198);
  CHECK(dtype_row_bytes(DType::Q4_0, 64) == 36);
  CHECK(dtype_row_bytes(DType::Q8_0, 4096) == 128 * 34);
  CHECK(dtype_row_bytes(DType::Q4_K, 4096) == 16 * 144);
  CHECK(dtype_row_bytes(DType::Q6_K, 0) == 0);
  CHECK_THROWS_AS(dtype_row_bytes(DType::Q4_0, 33), Error);
  try {
    dtype_row_bytes(DType::Q4_K, 300);
    FAIL("no error for a partial q4_k block");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("300") != std::string::npos);
    CHECK(m.find("q4_k") != std::string::npos);
    CHECK(m.find("256") != std::string::npos);
  }
}
