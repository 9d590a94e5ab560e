// libFuzzer target: the RAG index writer's read-modify-write (rag::write_index with --add): an existing index file
// (any bytes) and the documents to add (.txt/.md/.jsonl files, split as fuzz_files.h says), builtin:tiny, BM25 only.
// A write that succeeds must read back with every document it had plus the new ones. Not the reader alone
// (fuzz_rag_index) nor JSONL alone (fuzz_rag_jsonl).
#include <cstdlib>
#include <filesystem>

#include "fuzz_common.h"
#include "fuzz_files.h"
#include "rag/index.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  static const Model model = load_model("builtin:tiny");
  static const fuzz::SpillDir dir("rag_writer");
  dir.clear();
  const auto files = fuzz::split_files(bytes, "index.rag");
  const std::string index = dir.write("index.rag", files[0].bytes);
  std::vector<std::string> docs;
  for (size_t i = 1; i < files.size(); ++i) docs.push_back(dir.write(files[i].name, files[i].bytes));
  size_t before = 0;
  try {
    before = rag::load_index(index).docs.size();
  } catch (const Error&) {
    std::filesystem::remove(index);  // not an index: --add then writes a new one
  }
  rag::IndexSettings s;
  s.chunk_tokens = 16;
  s.overlap = 2;
  s.dense = false;
  const rag::RagIndex written = rag::write_index(index, docs, model, s, true);
  const rag::RagIndex back = rag::load_index(index);
  if (back.docs.size() != written.docs.size() || back.docs.size() <= before) std::abort();
}
