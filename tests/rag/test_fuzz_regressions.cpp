// RAG index inputs that the fuzz work showed unsafe, kept as bytes: each must now be a FormatError.
// Not a fuzzer (tests/fuzz/run.sh is); the index is built in memory with save_index's layout and patched.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "rag/index.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"

using namespace edgellm;
using namespace edgellm::rag;

namespace {

// Recomputes every section CRC, the table CRC and the header CRC (as fuzz_rag_index does).
void fix_checksums(std::string& b) {
  auto* p = reinterpret_cast<uint8_t*>(b.data());
  uint32_t n_sec = 0;
  std::memcpy(&n_sec, p + 12, 4);
  for (uint32_t i = 0; i < n_sec; ++i) {
    uint8_t* e = p + 64 + i * 32;
    uint64_t off = 0, len = 0;
    std::memcpy(&off, e + 8, 8);
    std::memcpy(&len, e + 16, 8);
    const uint32_t crc = crc32(p + off, len);
    std::memcpy(e + 4, &crc, 4);
  }
  const uint32_t table_crc = crc32(p + 64, n_sec * 32), header_crc = crc32(p, 28);
  std::memcpy(p + 24, &table_crc, 4);
  std::memcpy(p + 28, &header_crc, 4);
}

}  // namespace

// Found by review while writing fuzz_rag_index: META's n_chunks = 2^59 makes N * 32 wrap to 0, which matched an
// empty CHNK section; then chunks.resize(2^59) threw std::length_error (not an edgellm::Error) or exhausted memory.
TEST_CASE("fuzz regression: RAG index META counts that overflow the section sizes are rejected") {
  RagIndex ix;
  ix.settings.dense = false;
  ix.docs.push_back({"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "{}"});  // an id long enough to give back 17 bytes of META
  const std::string path = (std::filesystem::temp_directory_path() / "edgellm_fuzz_regression.rag").string();
  save_index(ix, path);
  std::string b = read_file(path);
  std::filesystem::remove(path);
  CHECK_NOTHROW(load_index(MappedFile::from_memory("ok.rag", b)));

  const std::string from = "\"n_chunks\":0", to = "\"n_chunks\":576460752303423488";  // 2^59
  const size_t at = b.find(from), id = b.find("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  REQUIRE(at != std::string::npos);
  REQUIRE(id != std::string::npos);
  // Same META length: the count grows by 17 bytes, the document id shrinks by 17.
  std::string meta_patch = b;
  meta_patch.replace(id, 26, std::string("ABCDEFGHI"));
  const size_t at2 = meta_patch.find(from);
  meta_patch.replace(at2, from.size(), to);
  REQUIRE(meta_patch.size() == b.size());
  fix_checksums(meta_patch);
  CHECK_THROWS_AS(load_index(MappedFile::from_memory("overflow.rag", meta_patch)), FormatError);
}

// fuzz_rag_index (round 4, 240 s): META "chunk_tokens": 7.78e72 was converted to int64 by nlohmann's static_cast
// (UBSan: outside the range of representable values). Integer fields must now be JSON integers.
TEST_CASE("fuzz regression: RAG index META integer fields given as huge floats are rejected") {
  RagIndex ix;
  ix.settings.dense = false;
  ix.settings.chunk_tokens = 100000;
  ix.docs.push_back({"a", "{}"});
  const std::string path = (std::filesystem::temp_directory_path() / "edgellm_fuzz_regression2.rag").string();
  save_index(ix, path);
  std::string b = read_file(path);
  std::filesystem::remove(path);
  const std::string from = "\"chunk_tokens\":100000", to = "\"chunk_tokens\":7.8e72";  // same length
  const size_t at = b.find(from);
  REQUIRE(at != std::string::npos);
  b.replace(at, from.size(), to);
  fix_checksums(b);
  CHECK_THROWS_AS(load_index(MappedFile::from_memory("float.rag", b)), FormatError);
}
