// safetensors reader and writer: the HF fixtures, a round trip, and malformed files
// (each must throw a FormatError naming the file and the field).
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "runtime/error.h"
#include "runtime/mmap_file.h"
#include "runtime/safetensors.h"

using namespace edgellm;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& rel) { return std::string(EDGELLM_FIXTURES_DIR) + "/" + rel; }

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "edgellm_test_safetensors";
  fs::create_directories(dir);
  return (dir / name).string();
}

// Writes [u64 header length][header][data] to a temp file and returns its path.
std::string make_file(const std::string& name, const std::string& header, size_t data_bytes,
                      int64_t length_override = -1) {
  const std::string path = temp_path(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = length_override >= 0 ? static_cast<uint64_t>(length_override) : header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  const std::string data(data_bytes, '\x01');
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  return path;
}

// Expects a FormatError whose message names the file and whose field contains `field`.
void expect_format_error(const std::string& path, const std::string& field) {
  CAPTURE(path);
  CAPTURE(field);
  bool thrown = false;
  try {
    SafetensorsFile::open(path);
  } catch (const FormatError& e) {
    thrown = true;
    CAPTURE(std::string(e.what()));
    CHECK(std::string(e.what()).find(path) != std::string::npos);
    CHECK(e.field().find(field) != std::string::npos);
  }
  CHECK(thrown);
}

}  // namespace

TEST_CASE("safetensors: tiny-llama model.safetensors") {
  const SafetensorsFile f = SafetensorsFile::open(fixture("tiny-llama/model/model.safetensors"));
  CHECK(f.tensors().size() == 21);
  CHECK(f.metadata().at("format") == "pt");
  const Tensor e = f.tensor("model.embed_tokens.weight");
  CHECK(e.shape() == Shape{512, 64});
  CHECK(e.dtype() == DType::F32);
  CHECK(f.tensor("model.layers.0.mlp.down_proj.weight").shape() == Shape{64, 176});
  CHECK(f.tensor("model.layers.1.self_attn.k_proj.weight").shape() == Shape{32, 64});
  CHECK_THROWS_AS(f.tensor("model.layers.7.mlp.up_proj.weight"), FormatError);
  // File order is offset order and tiles the data.
  uint64_t at = 0;
  for (const auto& t : f.tensors()) {
    CHECK(t.begin == at);
    at = t.end;
  }
  CHECK(f.data_offset() + at == f.file()->size());
}

TEST_CASE("safetensors: reference int64 ids and float32 logits") {
  const SafetensorsFile f = SafetensorsFile::open(fixture("tiny-llama/references/logits.safetensors"));
  const Tensor ids = f.tensor("input_ids_len7");
  CHECK(ids.dtype() == DType::I64);
  CHECK(ids.shape() == Shape{1, 7});
  CHECK(ids.data<int64_t>()[0] == 1);
  CHECK(f.tensor("logits_len24").shape() == Shape{1, 24, 512});
  CHECK(f.tensor("logits_len24_float64").dtype() == DType::F64);
}

TEST_CASE("safetensors: writer round trip (f32, f16, bf16, i64, metadata)") {
  const std::string path = temp_path("rt.safetensors");
  std::vector<float> a(3 * 5);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.25f * static_cast<float>(i) - 1.0f;
  std::vector<uint16_t> h(7), b(2 * 2 * 2);
  for (size_t i = 0; i < h.size(); ++i) h[i] = f32_to_f16(static_cast<float>(i) / 3);
  for (size_t i = 0; i < b.size(); ++i) b[i] = f32_to_bf16(-static_cast<float>(i));
  std::vector<int64_t> ids = {1, 2, 3, 1LL << 40};
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.add("a", Tensor::external(a.data(), Shape{3, 5}, DType::F32));
  w.add("h", Tensor::external(h.data(), Shape{7}, DType::F16));
  w.add("b", Tensor::external(b.data(), Shape{2, 2, 2}, DType::BF16));
  w.add("ids", Tensor::external(ids.data(), Shape{1, 4}, DType::I64));
  CHECK_THROWS_AS(w.add("a", Tensor::external(a.data(), Shape{15}, DType::F32)), Error);
  w.write(path);
  const SafetensorsFile f = SafetensorsFile::open(path);
  CHECK(f.data_offset() % 8 == 0);
  CHECK(f.metadata().at("format") == "pt");
  REQUIRE(f.tensors().size() == 4);
  CHECK(f.tensors()[0].name == "ids");  // 8-byte elements first keeps every tensor aligned
  CHECK(f.tensors()[1].name == "a");
  for (const auto& t : f.tensors())
    CHECK((f.data_offset() + t.begin) % static_cast<uint64_t>(dtype_info(t.dtype).block_bytes) == 0);
  CHECK(f.tensor("a").shape() == Shape{3, 5});
  CHECK(std::memcmp(f.tensor("a").raw(), a.data(), a.size() * 4) == 0);
  CHECK(std::memcmp(f.tensor("h").raw(), h.data(), h.size() * 2) == 0);
  CHECK(f.tensor("b").dtype() == DType::BF16);
  CHECK(std::memcmp(f.tensor("b").raw(), b.data(), b.size() * 2) == 0);
  CHECK(f.tensor("ids").data<int64_t>()[3] == (1LL << 40));
}

TEST_CASE("safetensors: bad input names the file and the field") {
  const std::string ok = R"({"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";
  SafetensorsFile::open(make_file("ok.safetensors", ok, 24));  // the control case parses

  {  // shorter than the 8-byte length
    const std::string p = temp_path("tiny.safetensors");
    std::ofstream(p, std::ios::binary) << "abc";
    expect_format_error(p, "header length");
  }
  expect_format_error(make_file("hdr_big.safetensors", ok, 24, 1000), "header length");
  expect_format_error(make_file("hdr_huge.safetensors", ok, 24, int64_t{1} << 40), "header length");
  expect_format_error(make_file("not_json.safetensors", "{\"x\": [1, 2", 0), "header");
  expect_format_error(make_file("not_obj.safetensors", "[1, 2, 3]", 0), "header");
  expect_format_error(make_file("dup.safetensors",
                                R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                8),
                      "x");
  expect_format_error(make_file("dtype.safetensors", R"({"x":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", 4),
                      "x.dtype");
  expect_format_error(make_file("noshape.safetensors", R"({"x":{"dtype":"F32","data_offsets":[0,4]}})", 4), "x.shape");
  expect_format_error(make_file("negdim.safetensors", R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4),
                      "x.shape[0]");
  expect_format_error(
      make_file("5d.safetensors", R"({"x":{"dtype":"F32","shape":[1,1,1,1,1],"data_offsets":[0,4]}})", 4), "x.shape");
  expect_format_error(make_file("overflow.safetensors",
                                R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4),
                      "x.shape[1]");
  // dtype size disagreeing with the byte range
  expect_format_error(make_file("size.safetensors", R"({"x":{"dtype":"F16","shape":[2,3],"data_offsets":[0,24]}})", 24),
                      "x.data_offsets");
  expect_format_error(make_file("range.safetensors", R"({"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})", 20),
                      "x.data_offsets");
  expect_format_error(make_file("backwards.safetensors", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8),
                      "x.data_offsets");
  // a gap between tensors, an overlap, and bytes no tensor covers
  expect_format_error(make_file("gap.safetensors",
                                R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                R"("y":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                12),
                      "y.data_offsets");
  expect_format_error(make_file("overlap.safetensors",
                                R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                8),
                      "data_offsets");
  expect_format_error(make_file("tail.safetensors", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12),
                      "data_offsets");
  expect_format_error(make_file("meta.safetensors", R"({"__metadata__":{"a":1}})", 0), "__metadata__.a");
  expect_format_error(make_file("entry.safetensors", R"({"x":[1,2]})", 0), "x");
}

TEST_CASE("safetensors: random corruptions of a valid header never crash") {
  std::vector<float> a(12, 1.0f);
  std::vector<uint16_t> h(5, 0x3c00);
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.add("model.a", Tensor::external(a.data(), Shape{3, 4}, DType::F32));
  w.add("model.h", Tensor::external(h.data(), Shape{5}, DType::F16));
  const std::string good = temp_path("fuzz_src.safetensors");
  w.write(good);
  const std::string bytes = read_file(good);
  const size_t header = static_cast<size_t>(SafetensorsFile::open(good).data_offset());
  std::mt19937 rng(99);
  int refused = 0;
  const char interesting[] = "{}[],:\"0123456789-e ";
  for (int it = 0; it < 5000; ++it) {
    std::string b = bytes;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n; ++k) {
      const size_t at = rng() % header;
      b[at] = rng() % 2 ? static_cast<char>(rng()) : interesting[rng() % (sizeof(interesting) - 1)];
    }
    if (rng() % 8 == 0) b.resize(rng() % b.size());
    try {
      const SafetensorsFile f = SafetensorsFile::parse(MappedFile::from_memory("memory:fuzz.safetensors", b));
      for (const auto& t : f.tensors()) (void)f.tensor(t);
    } catch (const FormatError& e) {
      CHECK(std::string(e.what()).find("memory:fuzz.safetensors") != std::string::npos);
      ++refused;
    }
  }
  CHECK(refused > 2500);
}

TEST_CASE("safetensors: a sharded directory with an index, and its errors") {
  const fs::path dir = fs::path(temp_path("shards"));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<float> a(4, 1.0f), b(6, 2.0f);
  SafetensorsWriter w1, w2;
  w1.add("model.a", Tensor::external(a.data(), Shape{2, 2}, DType::F32));
  w2.add("model.b", Tensor::external(b.data(), Shape{6}, DType::F32));
  w1.write((dir / "model-00001-of-00002.safetensors").string());
  w2.write((dir / "model-00002-of-00002.safetensors").string());
  const auto write_index = [&](const std::string& text) {
    std::ofstream((dir / "model.safetensors.index.json").string(), std::ios::trunc) << text;
  };
  write_index(R"({"metadata":{},"weight_map":{"model.a":"model-00001-of-00002.safetensors",
                 "model.b":"model-00002-of-00002.safetensors"}})");
  const SafetensorsDir d = SafetensorsDir::open(dir.string());
  CHECK(d.size() == 2);
  CHECK(d.files().size() == 2);
  CHECK(d.tensor("model.b").shape() == Shape{6});
  CHECK(d.tensor("model.a", Shape{2, 2}).data<float>()[3] == 1.0f);
  // A missing tensor and a shape that disagrees name the tensor.
  CHECK_THROWS_AS(d.tensor("model.c"), FormatError);
  try {
    d.tensor("model.a", Shape{4});
    FAIL("expected a shape error");
  } catch (const FormatError& e) {
    CHECK(e.field() == "model.a");
    CHECK(std::string(e.what()).find("model-00001-of-00002.safetensors") != std::string::npos);
  }
  // An index entry pointing at the wrong shard, or at a missing file.
  write_index(R"({"weight_map":{"model.a":"model-00002-of-00002.safetensors"}})");
  CHECK_THROWS_AS(SafetensorsDir::open(dir.string()), FormatError);
  write_index(R"({"weight_map":{"model.a":"nope.safetensors"}})");
  CHECK_THROWS_AS(SafetensorsDir::open(dir.string()), FormatError);
  write_index(R"({"weight_map":{"model.a":"../x.safetensors"}})");
  CHECK_THROWS_AS(SafetensorsDir::open(dir.string()), FormatError);
  // A shard name longer than the filesystem allows (found by fuzz_safetensors_dir, round 12): a format error
  // naming the index, not a std::filesystem::filesystem_error escaping the loader.
  write_index(R"({"weight_map":{"model.a":")" + std::string(5000, 'x') + R"(.safetensors"}})");
  CHECK_THROWS_AS(SafetensorsDir::open(dir.string()), FormatError);
  write_index("{not json");
  CHECK_THROWS_AS(SafetensorsDir::open(dir.string()), FormatError);
  // Without an index every shard is read; a name in two shards is an error.
  fs::remove(dir / "model.safetensors.index.json");
  CHECK(SafetensorsDir::open(dir.string()).size() == 2);
  SafetensorsWriter w3;
  w3.add("model.a", Tensor::external(a.data(), Shape{4}, DType::F32));
  w3.write((dir / "model-extra.safetensors").string());
  try {
    SafetensorsDir::open(dir.string());
    FAIL("expected a duplicate error");
  } catch (const FormatError& e) {
    CHECK(e.field() == "model.a");
  }
}
