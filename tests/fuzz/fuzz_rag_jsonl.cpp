// libFuzzer target: RAG documents as JSONL text -> rag::parse_jsonl, then chunking each document with a
// byte-counting tokenizer stand-in. Not the training-data JSONL (train/ has no JSONL reader yet).
#include "fuzz_common.h"
#include "rag/ingest.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  auto docs = rag::parse_jsonl(bytes, "fuzz/docs.jsonl");
  rag::TokenCounter count = [](std::string_view t) { return static_cast<int64_t>((t.size() + 3) / 4); };
  uint32_t i = 0;
  for (const auto& d : docs) (void)rag::chunk_document(d.text, i++, count, rag::ChunkOptions{8, 2});
}
