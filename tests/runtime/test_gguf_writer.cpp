// GgufWriter: every metadata value type (nested arrays included), tensors of several dtypes
// with alignment, atomic replacement, and random corruptions of a written file (never a crash).
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "runtime/error.h"
#include "runtime/gguf.h"

using namespace edgellm;
namespace fs = std::filesystem;

namespace {

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "edgellm_test_gguf_writer";
  fs::create_directories(dir);
  return (dir / name).string();
}

// A writer holding one key of every type and tensors of F32, F16, Q8_0 and Q4_K.
struct Sample {
  std::vector<float> f32 = std::vector<float>(6 * 5);
  std::vector<uint16_t> f16 = std::vector<uint16_t>(3);
  std::vector<uint8_t> q8 = std::vector<uint8_t>(2 * 34);         // 2 rows of one Q8_0 block
  std::vector<uint8_t> q4k = std::vector<uint8_t>(144);           // one Q4_K block
  GgufWriter w;
  Sample() {
    for (size_t i = 0; i < f32.size(); ++i) f32[i] = static_cast<float>(i) * 0.5f;
    for (size_t i = 0; i < q8.size(); ++i) q8[i] = static_cast<uint8_t>(i * 7);
    for (size_t i = 0; i < q4k.size(); ++i) q4k[i] = static_cast<uint8_t>(255 - i);
    w.set("t.u8", GgufValue::of<uint8_t>(200));
    w.set("t.i8", GgufValue::of<int8_t>(-100));
    w.set("t.u16", GgufValue::of<uint16_t>(60000));
    w.set("t.i16", GgufValue::of<int16_t>(-30000));
    w.set_u32("t.u32", 4000000000u);
    w.set_i32("t.i32", -2000000000);
    w.set_f32("t.f32", 9.99999975e-06f);
    w.set_bool("t.bool", true);
    w.set_string("t.string", std::string("h\xc3\xa9llo\0world", 12));
    w.set_u64("t.u64", 18000000000000000000ull);
    w.set("t.i64", GgufValue::of<int64_t>(-9000000000000000000ll));
    w.set("t.f64", GgufValue::of<double>(3.141592653589793));
    w.set_array("t.arr_f32", GgufArray::of(std::vector<float>{1.5f, -2.0f}));
    w.set_array("t.arr_i32", GgufArray::of(std::vector<int32_t>{1, -2, 3}));
    w.set_array("t.arr_bool", GgufArray::of(std::vector<bool>{true, false}));
    w.set_array("t.arr_str", GgufArray::of_strings({"a", "", "\xe2\x96\x81the"}));
    w.set_array("t.arr_empty", GgufArray::of(std::vector<uint64_t>{}));
    w.set_array("t.nested", GgufArray::of_arrays({GgufArray::of_strings({"x", "y"}),
                                                   GgufArray::of_arrays({GgufArray::of(std::vector<int8_t>{-1})})}));
    w.add_tensor("w.f32", Tensor::external(f32.data(), Shape{6, 5}, DType::F32));
    w.add_tensor("w.f16", Tensor::external(f16.data(), Shape{3}, DType::F16));
    w.add_tensor("w.q8_0", Tensor::external(q8.data(), Shape{2, 32}, DType::Q8_0));
    w.add_tensor("w.q4_k", Tensor::external(q4k.data(), Shape{1, 1, 256}, DType::Q4_K));
  }
};

}  // namespace

TEST_CASE("gguf writer: every value type and dtype round trips") {
  Sample s;
  const std::string path = temp_path("all.gguf");
  s.w.write(path);
  const GgufFile f = GgufFile::open(path);
  CHECK(f.version() == 3);
  CHECK(f.metadata().size() == 18);
  CHECK(f.find("t.u8")->type() == GgufType::U8);
  CHECK(f.get_u32("t.u8") == 200);
  CHECK(f.get_i32("t.i8") == -100);
  CHECK(f.get_u32("t.u16") == 60000);
  CHECK(f.get_i32("t.i16") == -30000);
  CHECK(f.get_u32("t.u32") == 4000000000u);
  CHECK(f.get_i32("t.i32") == -2000000000);
  CHECK(f.get_f32("t.f32") == 9.99999975e-06f);
  CHECK(f.get_bool("t.bool"));
  CHECK(f.get_string("t.string") == std::string("h\xc3\xa9llo\0world", 12));
  CHECK(f.get_u64("t.u64") == 18000000000000000000ull);
  CHECK(f.get_i64("t.i64") == -9000000000000000000ll);
  CHECK(f.get_f64("t.f64") == 3.141592653589793);
  CHECK(f.get_f32_array("t.arr_f32") == std::vector<float>{1.5f, -2.0f});
  CHECK(f.get_i32_array("t.arr_i32") == std::vector<int32_t>{1, -2, 3});
  CHECK(f.get_array("t.arr_bool").to_i64() == std::vector<int64_t>{1, 0});
  CHECK(f.get_strings("t.arr_str") == std::vector<std::string>{"a", "", "\xe2\x96\x81the"});
  CHECK(f.get_array("t.arr_empty").count == 0);
  const GgufArray& n = f.get_array("t.nested");
  REQUIRE(n.elem == GgufType::ARRAY);
  REQUIRE(n.count == 2);
  CHECK(n.arrays[0].strings == std::vector<std::string>{"x", "y"});
  CHECK(n.arrays[1].arrays[0].to_i64() == std::vector<int64_t>{-1});
  // Range and type checks of the typed getters.
  CHECK_THROWS_AS(f.get_i32("t.u32"), FormatError);   // 4e9 does not fit in int32
  CHECK_THROWS_AS(f.get_u32("t.i8"), FormatError);    // negative
  CHECK_THROWS_AS(f.get_i64("t.u64"), FormatError);   // > INT64_MAX
  CHECK_THROWS_AS(f.get_bool("t.u8"), FormatError);
  CHECK_THROWS_AS(f.get_array("t.u8"), FormatError);
  CHECK_THROWS_AS(f.get_f32_array("t.arr_str"), FormatError);
  CHECK(f.find("t.nested")->str() == "[[\"x\", \"y\"], [[-1]]]");

  REQUIRE(f.tensors().size() == 4);
  for (const auto& t : f.tensors()) CHECK(t.offset % 32 == 0);
  const Tensor a = f.tensor("w.f32");
  CHECK(a.shape() == Shape{6, 5});
  CHECK(f.find_tensor("w.f32")->ne[0] == 5);
  CHECK(std::memcmp(a.raw(), s.f32.data(), s.f32.size() * 4) == 0);
  CHECK(f.tensor("w.q8_0").shape() == Shape{2, 32});
  CHECK(f.tensor("w.q8_0").nbytes() == 68);
  CHECK(std::memcmp(f.tensor("w.q8_0").raw(), s.q8.data(), 68) == 0);
  CHECK(f.tensor("w.q4_k").shape() == Shape{1, 1, 256});
  CHECK(std::memcmp(f.tensor("w.q4_k").raw(), s.q4k.data(), 144) == 0);

  // Re-writing with another alignment moves the data but not the values.
  GgufWriter w2 = GgufWriter::from(f);
  w2.set_alignment(256);
  const std::string p2 = temp_path("align256.gguf");
  w2.write(p2);
  const GgufFile g = GgufFile::open(p2);
  CHECK(g.alignment() == 256);
  for (const auto& t : g.tensors()) CHECK(t.offset % 256 == 0);
  CHECK(std::memcmp(g.tensor("w.q4_k").raw(), s.q4k.data(), 144) == 0);
  CHECK_THROWS_AS(w2.set_alignment(48), Error);
}

TEST_CASE("gguf writer: refuses bad tensors; v2 files are written and read") {
  Sample s;
  CHECK_THROWS_AS(s.w.add_tensor("w.f32", Tensor::external(s.f32.data(), Shape{30}, DType::F32)), Error);
  const Tensor t = Tensor::external(s.f32.data(), Shape{6, 5}, DType::F32);
  CHECK_THROWS_AS(s.w.add_tensor("w.t", t.transpose(0, 1)), Error);
  GgufWriter v2(2);
  v2.set_string("general.architecture", "llama");
  v2.add_tensor("x", t);
  const std::string p = temp_path("v2.gguf");
  v2.write(p);
  CHECK(GgufFile::open(p).version() == 2);
  CHECK_THROWS_AS(GgufWriter(1), Error);
}

TEST_CASE("gguf writer: an atomic write replaces the old file whole; a failed one leaves it") {
  const std::string path = temp_path("atomic.gguf");
  Sample s;
  s.w.write(path);
  GgufWriter small;
  small.set_string("general.name", "small");
  small.write(path);
  CHECK(GgufFile::open(path).get_string("general.name") == "small");
  // Writing into a directory that does not exist fails with an Error and changes nothing.
  CHECK_THROWS_AS(small.write(temp_path("no/such/dir/x.gguf")), Error);
  size_t leftovers = 0;
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path()))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) ++leftovers;
  CHECK(leftovers == 0);
}

TEST_CASE("gguf: random corruptions of a valid file never crash") {
  Sample s;
  const std::string good = temp_path("fuzz_src.gguf");
  s.w.write(good);
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t header = static_cast<size_t>(GgufFile::open(good).data_offset());
  std::mt19937 rng(1234);
  const std::string path = "memory:fuzz.gguf";
  int refused = 0, accepted = 0;
  for (int it = 0; it < 20000; ++it) {
    std::string b = bytes;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const size_t at = rng() % header;
      switch (rng() % 3) {
        case 0: b[at] = static_cast<char>(rng()); break;          // random byte
        case 1: b[at] = static_cast<char>(b[at] ^ (1 << (rng() % 8))); break;  // bit flip
        default: b[at] = static_cast<char>(0xff); break;         // large length/count bytes
      }
    }
    if (rng() % 8 == 0) b.resize(rng() % b.size());
    try {
      const GgufFile f = GgufFile::parse(MappedFile::from_memory(path, b));
      for (const auto& t : f.tensors()) (void)f.tensor(t);
      ++accepted;
    } catch (const FormatError& e) {
      CHECK(std::string(e.what()).find(path) != std::string::npos);
      ++refused;
    }
  }
  MESSAGE("corruptions accepted: " << accepted << ", refused: " << refused);
  CHECK(refused > 10000);
}

TEST_CASE("gguf: alignment 1 leaves data misaligned; float views come back aligned copies") {
  Sample s;
  s.w.set_alignment(1);
  s.w.set_string("general.name", "x");  // shifts the header end to an odd byte
  const std::string path = temp_path("align1.gguf");
  s.w.write(path);
  const GgufFile f = GgufFile::open(path);
  CHECK(f.alignment() == 1);
  bool any_copied = false;
  for (const auto& info : f.tensors()) {
    CAPTURE(info.name);
    const Tensor t = f.tensor(info);
    CHECK(std::memcmp(t.raw(), f.tensor_data(info), t.nbytes()) == 0);
    if (!dtype_info(t.dtype()).quantized) {
      CHECK(reinterpret_cast<uintptr_t>(t.raw()) % static_cast<uintptr_t>(dtype_info(t.dtype()).block_bytes) == 0);
      any_copied = any_copied || t.storage()->kind() != Storage::Kind::Mapped;
    }
  }
  CHECK(any_copied);
  CHECK(std::memcmp(f.tensor("w.f32").raw(), s.f32.data(), s.f32.size() * 4) == 0);
}
