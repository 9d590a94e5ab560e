// Memory-mapped reading: contents, empty files, and errors that name the path.
// Not Tensor::mapped bounds: test_tensor.cpp checks those.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "runtime/error.h"
#include "runtime/mmap_file.h"
#include "temp_path.h"

using namespace edgellm;

TEST_CASE("MappedFile maps a file's bytes read-only") {
  test::TempPath p("mapped.bin");
  std::string bytes(10000, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 3);
  p.write(bytes);
  auto f = MappedFile::open(p.str());
  REQUIRE(f != nullptr);
  CHECK(f->size() == bytes.size());
  CHECK(f->path() == p.str());
  REQUIRE(f->data() != nullptr);
  CHECK(std::string(reinterpret_cast<const char*>(f->data()), f->size()) == bytes);
  CHECK(f->still_whole());
  CHECK(read_file(p.str()) == bytes);
}

TEST_CASE("an empty file maps to size 0") {
  test::TempPath p("empty.bin");
  p.write("");
  auto f = MappedFile::open(p.str());
  CHECK(f->size() == 0);
  CHECK(read_file(p.str()).empty());
}

TEST_CASE("a missing file, or a directory, raises Error naming the path") {
  const std::string missing = "/nonexistent-edgellm-dir/model-weights.gguf";
  CHECK_THROWS_AS(MappedFile::open(missing), Error);
  CHECK_THROWS_WITH(MappedFile::open(missing), doctest::Contains(missing.c_str()));
  CHECK_THROWS_WITH(read_file(missing), doctest::Contains(missing.c_str()));
  const std::string dir = std::filesystem::temp_directory_path().string();
  CHECK_THROWS_WITH(MappedFile::open(dir), doctest::Contains(dir.c_str()));
}

TEST_CASE("still_whole notices a file truncated under the mapping") {
  test::TempPath p("shrinks.bin");
  p.write(std::string(4096, 'x'));
  auto f = MappedFile::open(p.str());
  CHECK(f->still_whole());
  p.write(std::string(100, 'x'));
  CHECK_FALSE(f->still_whole());
}
