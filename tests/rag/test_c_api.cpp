// Tests of the RAG C API: build, open, query in every mode, append, errors as -1/NULL with a message.
// Not a test of retrieval quality (test_retrieval.cpp) or the file format (test_index_file.cpp).
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "edgellm/edgellm.h"

namespace fs = std::filesystem;

TEST_CASE("C API: rag build / open / query / append / free") {
  const fs::path d = fs::temp_directory_path() / ("edgellm_rag_capi_" + std::to_string(getpid()));
  fs::create_directories(d / "docs");
  std::ofstream(d / "docs" / "a.txt") << "Alice lives in Paris. She has a cat named Tom.";
  std::ofstream(d / "docs" / "b.jsonl") << "{\"id\":\"bob\",\"text\":\"Bob is a baker in Lyon.\"}\n";
  std::ofstream(d / "more.txt") << "Carol is a pilot from Berlin.";
  const std::string out = (d / "ix.rag").string(), docs = (d / "docs").string(), more = (d / "more.txt").string();
  edgellm_model* m = edgellm_model_load("builtin:tiny");
  REQUIRE(m != nullptr);
  auto p = edgellm_rag_default_build_params();
  p.chunk_tokens = 64;
  p.overlap = 8;
  const char* paths[] = {docs.c_str()};
  const int32_t n = edgellm_rag_build(m, paths, 1, out.c_str(), &p, 0);
  CHECK(n >= 2);
  edgellm_rag_index* ix = edgellm_rag_open(out.c_str());
  REQUIRE(ix != nullptr);
  CHECK(edgellm_rag_chunk_count(ix) == n);
  edgellm_rag_hit hits[4];
  int32_t got = edgellm_rag_query(ix, nullptr, "baker Lyon", 4, EDGELLM_RAG_BM25, hits);
  REQUIRE(got >= 1);
  CHECK(std::string(hits[0].doc_id) == "bob");
  CHECK(std::string(hits[0].text) == "Bob is a baker in Lyon.");
  for (auto mode : {EDGELLM_RAG_DENSE, EDGELLM_RAG_HYBRID}) CHECK(edgellm_rag_query(ix, m, "cat", 2, mode, hits) == 2);
  CHECK(edgellm_rag_query(ix, nullptr, "cat", 2, EDGELLM_RAG_DENSE, hits) == -1);
  CHECK(std::string(edgellm_last_error()).find("embedding model") != std::string::npos);
  edgellm_rag_free(ix);
  const char* more_paths[] = {more.c_str()};
  CHECK(edgellm_rag_build(m, more_paths, 1, out.c_str(), nullptr, 1) == n + 1);
  ix = edgellm_rag_open(out.c_str());
  REQUIRE(ix != nullptr);
  got = edgellm_rag_query(ix, nullptr, "pilot", 1, EDGELLM_RAG_BM25, hits);
  REQUIRE(got == 1);
  CHECK(std::string(hits[0].doc_id) == "more.txt");
  edgellm_rag_free(ix);
  std::ofstream(out, std::ios::trunc) << "junk";
  CHECK(edgellm_rag_open(out.c_str()) == nullptr);
  CHECK(std::string(edgellm_last_error()).find(out) != std::string::npos);
  edgellm_model_free(m);
  fs::remove_all(d);
}
