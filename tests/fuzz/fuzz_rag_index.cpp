// libFuzzer target: a RAG index file (rag/index.h's format) in memory -> rag::load_index, then a BM25 query.
// Before loading, the target rewrites file_size and every CRC-32 (sections, table, header) to match the
// mutated bytes, so mutations reach the section parsers instead of stopping at a checksum mismatch.
// Not a dense-retrieval test: no model is loaded, so only BM25 is queried.
#include <cstring>

#include "fuzz_common.h"
#include "rag/index.h"

using namespace edgellm;

namespace {

void fix_checksums(std::string& b) {
  if (b.size() < 64) return;
  auto* p = reinterpret_cast<uint8_t*>(b.data());
  const uint64_t size = b.size();
  std::memcpy(p + 16, &size, 8);
  uint32_t n_sec = 0;
  std::memcpy(&n_sec, p + 12, 4);
  if (n_sec > 64 || 64 + uint64_t{n_sec} * 32 > size) return;
  for (uint32_t i = 0; i < n_sec; ++i) {
    uint8_t* e = p + 64 + i * 32;
    uint64_t off = 0, len = 0;
    std::memcpy(&off, e + 8, 8);
    std::memcpy(&len, e + 16, 8);
    if (off > size || len > size - off) continue;
    const uint32_t crc = rag::crc32(p + off, len);
    std::memcpy(e + 4, &crc, 4);
  }
  const uint32_t table_crc = rag::crc32(p + 64, n_sec * 32);
  std::memcpy(p + 24, &table_crc, 4);
  const uint32_t header_crc = rag::crc32(p, 28);
  std::memcpy(p + 28, &header_crc, 4);
}

}  // namespace

void fuzz_one(std::string_view bytes) {
  std::string b(bytes);
  fix_checksums(b);
  rag::RagIndex ix = rag::load_index(MappedFile::from_memory("fuzz.rag", std::move(b)));
  rag::QueryOptions opt;
  opt.k = 3;
  opt.mode = rag::Mode::Bm25;
  (void)rag::retrieve(ix, "where does alice live", opt, nullptr);
}
