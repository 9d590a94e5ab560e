// Malformed GGUF files built byte by byte: each must be refused with a FormatError that
// names the file and the field, never a crash, an abort or a huge allocation.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "runtime/error.h"
#include "runtime/gguf.h"

using namespace edgellm;
namespace fs = std::filesystem;

namespace {

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "edgellm_test_gguf_bad";
  fs::create_directories(dir);
  return (dir / name).string();
}

// A little-endian byte writer for hand-made files.
struct Bytes {
  std::string b;
  Bytes& u8(uint8_t v) { return raw(&v, 1); }
  Bytes& u32(uint32_t v) { return raw(&v, 4); }
  Bytes& u64(uint64_t v) { return raw(&v, 8); }
  Bytes& f32(float v) { return raw(&v, 4); }
  Bytes& str(const std::string& s) { return u64(s.size()).raw(s.data(), s.size()); }
  Bytes& raw(const void* p, size_t n) {
    b.append(static_cast<const char*>(p), n);
    return *this;
  }
  Bytes& pad(size_t align) {
    b.append((align - b.size() % align) % align, '\0');
    return *this;
  }
  std::string save(const std::string& name) const {
    const std::string path = temp_path(name);
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(b.data(), static_cast<std::streamsize>(b.size()));
    return path;
  }
};

struct TensorSpec {
  std::string name;
  std::vector<uint64_t> ne;
  uint32_t type = 0;  // F32
  uint64_t offset = 0;
};

// A GGUF file from parts; each test changes one part of an otherwise valid file.
struct Spec {
  uint32_t magic = 0x46554747;
  uint32_t version = 3;
  std::vector<std::function<void(Bytes&)>> kvs = {
      [](Bytes& b) { b.str("general.architecture").u32(8).str("llama"); },
      [](Bytes& b) { b.str("llama.block_count").u32(4).u32(2); },
  };
  std::vector<TensorSpec> tensors = {{"a.weight", {4, 2}, 0, 0}, {"b.weight", {8}, 0, 32}};
  int64_t n_tensors = -1, n_kv = -1;  // overrides of the header counts
  size_t align = 32;
  size_t data_bytes = 64;

  Bytes build() const {
    Bytes b;
    b.u32(magic).u32(version);
    b.u64(n_tensors >= 0 ? static_cast<uint64_t>(n_tensors) : tensors.size());
    b.u64(n_kv >= 0 ? static_cast<uint64_t>(n_kv) : kvs.size());
    for (const auto& kv : kvs) kv(b);
    for (const auto& t : tensors) {
      b.str(t.name).u32(static_cast<uint32_t>(t.ne.size()));
      for (uint64_t d : t.ne) b.u64(d);
      b.u32(t.type).u64(t.offset);
    }
    b.pad(align);
    b.b.append(data_bytes, '\x11');
    return b;
  }
};

// Parses `path` expecting a FormatError that names the file and a field containing `field`.
void expect_error(const std::string& path, const std::string& field) {
  CAPTURE(path);
  CAPTURE(field);
  bool thrown = false;
  try {
    GgufFile::open(path);
  } catch (const FormatError& e) {
    thrown = true;
    CAPTURE(std::string(e.what()));
    CHECK(e.file() == path);
    CHECK(std::string(e.what()).find(path) != std::string::npos);
    CHECK(e.field().find(field) != std::string::npos);
  }
  CHECK(thrown);
}

void expect_error(const Spec& s, const std::string& name, const std::string& field) {
  expect_error(s.build().save(name), field);
}

}  // namespace

TEST_CASE("gguf bad input: the control file parses") {
  const GgufFile f = GgufFile::open(Spec{}.build().save("ok.gguf"));
  CHECK(f.get_string("general.architecture") == "llama");
  CHECK(f.get_u32("llama.block_count") == 2);
  REQUIRE(f.tensors().size() == 2);
  CHECK(f.tensors()[0].shape == Shape{2, 4});
  CHECK(f.tensor("b.weight").nbytes() == 32);
}

TEST_CASE("gguf bad input: every truncation of a valid file") {
  const Bytes ok = Spec{}.build();
  // Every prefix that cuts into the header or the tensor data must be refused cleanly.
  const size_t data_end = ok.b.size() - 64 + 32 + 32;  // end of b.weight's data
  for (size_t n = 0; n < data_end; ++n) {
    CAPTURE(n);
    Bytes cut;
    cut.b = ok.b.substr(0, n);
    const std::string path = "memory:truncated.gguf";
    bool thrown = false;
    try {
      GgufFile::parse(MappedFile::from_memory(path, cut.b));
    } catch (const FormatError& e) {
      thrown = true;
      CHECK(std::string(e.what()).find(path) != std::string::npos);
    }
    CHECK(thrown);
  }
}

TEST_CASE("gguf bad input: header") {
  Spec s;
  s.magic = 0x46554746;
  expect_error(s, "magic.gguf", "header.magic");
  s = Spec{};
  s.version = 1;
  expect_error(s, "v1.gguf", "header.version");
  s.version = 4;
  expect_error(s, "v4.gguf", "header.version");
  s.version = 0x03000000;  // a big-endian v3 file
  expect_error(s, "v3be.gguf", "header.version");
  s = Spec{};
  s.n_tensors = int64_t{1} << 40;
  expect_error(s, "ntensors_limit.gguf", "header.tensor_count");
  s.n_tensors = 100000;  // within the limit but more than the file could hold
  expect_error(s, "ntensors_file.gguf", "header.tensor_count");
  s = Spec{};
  s.n_kv = int64_t{1} << 40;
  expect_error(s, "nkv_limit.gguf", "header.metadata_kv_count");
  s.n_kv = 60000;
  expect_error(s, "nkv_file.gguf", "header.metadata_kv_count");
}

TEST_CASE("gguf bad input: strings, arrays and value types") {
  Spec s;
  s.kvs.push_back([](Bytes& b) { b.u64(uint64_t{1} << 62); });  // a key whose length runs past the end
  expect_error(s, "keylen.gguf", "metadata[2].key");
  s = Spec{};
  s.kvs.push_back([](Bytes& b) { b.str("general.name").u32(8).u64(100000).raw("abc", 3); });
  expect_error(s, "strlen.gguf", "general.name");
  s = Spec{};
  s.kvs.push_back([](Bytes& b) { b.str("general.name").u32(8).u64(kGgufMaxStringBytes + 1); });
  expect_error(s, "strlimit.gguf", "general.name");
  s = Spec{};
  s.kvs.push_back([](Bytes& b) { b.str("tokenizer.ggml.scores").u32(9).u32(6).u64(1000000); });
  expect_error(s, "arrlen.gguf", "tokenizer.ggml.scores");
  s = Spec{};
  s.kvs.push_back([](Bytes& b) { b.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(uint64_t{1} << 60); });
  expect_error(s, "arrlimit.gguf", "tokenizer.ggml.tokens");
  s = Spec{};
  // A string element of an array whose length runs past the end.
  s.kvs.push_back([](Bytes& b) { b.str("tokenizer.ggml.tokens").u32(9).u32(8).u64(2).str("a").u64(999999); });
  expect_error(s, "arrstr.gguf", "tokenizer.ggml.tokens[1]");
  s = Spec{};
  s.kvs.push_back([](Bytes& b) { b.str("x.weird").u32(13).u32(0); });
  expect_error(s, "vtype.gguf", "x.weird");
  s = Spec{};
  s.kvs.push_back([](Bytes& b) { b.str("x.arr").u32(9).u32(77).u64(1).u32(0); });
  expect_error(s, "atype.gguf", "x.arr.type");
  s = Spec{};
  s.kvs.push_back([](Bytes& b) { b.str("x.flag").u32(7).u8(2); });
  expect_error(s, "bool.gguf", "x.flag");
  s = Spec{};
  s.kvs.push_back([](Bytes& b) {  // arrays nested deeper than the limit
    b.str("x.deep");
    b.u32(9);
    for (int i = 0; i < kGgufMaxArrayDepth + 2; ++i) b.u32(9).u64(1);
    b.u32(4).u64(0);
  });
  expect_error(s, "deep.gguf", "x.deep");
  s = Spec{};
  s.kvs.push_back([](Bytes& b) { b.str("llama.block_count").u32(4).u32(3); });
  expect_error(s, "dupkey.gguf", "llama.block_count");
  s = Spec{};
  s.kvs.push_back([](Bytes& b) { b.str("").u32(4).u32(3); });
  expect_error(s, "emptykey.gguf", "metadata[2].key");
}

TEST_CASE("gguf bad input: alignment") {
  for (uint32_t a : {0u, 3u, 48u, 1u << 31}) {
    CAPTURE(a);
    Spec s;
    s.kvs.push_back([a](Bytes& b) { b.str("general.alignment").u32(4).u32(a); });
    expect_error(s, "align.gguf", "general.alignment");
  }
  Spec s;
  s.kvs.push_back([](Bytes& b) { b.str("general.alignment").u32(8).str("32"); });
  expect_error(s, "align_type.gguf", "general.alignment");
  // A valid non-default alignment moves the data section.
  s = Spec{};
  s.kvs.push_back([](Bytes& b) { b.str("general.alignment").u32(4).u32(64); });
  s.tensors[1].offset = 64;
  s.align = 64;
  s.data_bytes = 128;
  const GgufFile f = GgufFile::open(s.build().save("align64.gguf"));
  CHECK(f.alignment() == 64);
  CHECK(f.data_offset() % 64 == 0);
}

TEST_CASE("gguf bad input: tensor infos") {
  Spec s;
  s.tensors[1].name = "a.weight";
  expect_error(s, "duptensor.gguf", "a.weight");
  s = Spec{};
  s.tensors[0].ne = {1, 1, 1, 1, 8};
  expect_error(s, "ndims5.gguf", "a.weight.n_dims");
  s.tensors[0].ne = {};
  expect_error(s, "ndims0.gguf", "a.weight.n_dims");
  s = Spec{};
  s.tensors[0].ne = {4, 0};
  expect_error(s, "zerodim.gguf", "a.weight.ne[1]");
  s.tensors[0].ne = {uint64_t{1} << 32, uint64_t{1} << 32};
  expect_error(s, "overflow.gguf", "a.weight.ne[1]");
  s.tensors[0].ne = {uint64_t{1} << 63};
  expect_error(s, "hugedim.gguf", "a.weight.ne[0]");
  // Element counts that fit in 64 bits but whose byte sizes do not.
  s.tensors[0] = {"a.weight", {uint64_t{1} << 62}, 28, 0};  // F64: 2^65 bytes
  expect_error(s, "bytes_row.gguf", "a.weight.ne[0]");
  s.tensors[0] = {"a.weight", {uint64_t{1} << 30, uint64_t{1} << 32}, 0, 0};  // F32: 2^64 bytes
  expect_error(s, "bytes_rows.gguf", "a.weight.ne[1]");
  s = Spec{};
  s.tensors[0].type = 16;  // IQ2_XXS: a real ggml type edgellm does not read
  expect_error(s, "iq2.gguf", "a.weight.type");
  s.tensors[0].type = 1234;
  expect_error(s, "type1234.gguf", "a.weight.type");
  s = Spec{};
  s.tensors[0] = {"q.weight", {48, 2}, 2, 0};  // Q4_0 rows must be multiples of 32
  expect_error(s, "block.gguf", "q.weight.ne[0]");
  s.tensors[0] = {"k.weight", {128, 1}, 12, 0};  // Q4_K rows must be multiples of 256
  expect_error(s, "kblock.gguf", "k.weight.ne[0]");
}

TEST_CASE("gguf bad input: tensor data offsets") {
  Spec s;
  s.tensors[1].offset = 64;  // 32 bytes at 64 in a 64-byte data section
  expect_error(s, "pastend.gguf", "b.weight.offset");
  s.tensors[1].offset = uint64_t{1} << 63;
  expect_error(s, "pastend_far.gguf", "b.weight.offset");
  s.tensors[1].offset = UINT64_MAX - 31;  // offset + bytes wraps around
  expect_error(s, "wrap.gguf", "b.weight.offset");
  s = Spec{};
  s.tensors[1].offset = 16;  // not a multiple of 32
  expect_error(s, "misaligned.gguf", "b.weight.offset");
  s = Spec{};
  s.tensors[0].ne = {16, 2};  // 128 bytes at 0 overlap b.weight at 32
  s.data_bytes = 256;
  expect_error(s, "overlap.gguf", "b.weight.offset");
  s = Spec{};
  s.tensors[1].ne = {1024, 1024, 1024, 1024};  // a valid shape of 4 TiB in a small file
  expect_error(s, "bigdata.gguf", "b.weight.offset");
}
