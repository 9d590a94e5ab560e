// Tests of ingestion: folders read recursively in sorted order, .jsonl ids and metadata, bad lines
// named; chunking under the token limit, on sentence boundaries, with overlap, covering the text.
// Not tokenizer tests: tokens are counted here by a stand-in (words) or builtin:tiny's bytes.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "rag/bm25.h"
#include "rag/ingest.h"
#include "runtime/error.h"

using namespace edgellm;
using namespace edgellm::rag;
namespace fs = std::filesystem;

namespace {

void spit(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

int64_t count_words(std::string_view t) {
  int64_t n = 0;
  bool in = false;
  for (char c : t) {
    const bool sp = c == ' ' || c == '\n' || c == '\t';
    if (!sp && !in) ++n;
    in = !sp;
  }
  return n;
}

}  // namespace

TEST_CASE("load_documents: folders recursive and sorted, jsonl ids and metadata, other files skipped") {
  const fs::path d = fs::temp_directory_path() / ("edgellm_rag_ingest_" + std::to_string(getpid()));
  spit(d / "b.txt", "bee");
  spit(d / "a" / "z.md", "# zed");
  spit(d / "a" / "c.jsonl", "{\"id\":\"x1\",\"text\":\"one\",\"lang\":\"en\"}\n\n{\"text\":\"two\",\"id\":7}\n");
  spit(d / "skip.bin", "binary");
  auto docs = load_documents({d.string()});
  REQUIRE(docs.size() == 4);
  CHECK(docs[0].id == "x1");
  CHECK(docs[0].text == "one");
  auto meta = nlohmann::json::parse(docs[0].metadata);
  CHECK(meta["lang"] == "en");
  CHECK(!meta.contains("text"));
  CHECK(docs[1].id == "7");
  CHECK(docs[2].id == "a/z.md");
  CHECK(docs[2].text == "# zed");
  CHECK(docs[3].id == "b.txt");
  // A named file of another type, a missing path, a bad jsonl line: errors naming them.
  CHECK_THROWS_AS(load_documents({(d / "skip.bin").string()}), Error);
  CHECK_THROWS_AS(load_documents({(d / "nope").string()}), Error);
  spit(d / "bad.jsonl", "{\"text\":\"ok\"}\n{\"txt\":\"no\"}\n");
  try {
    load_documents({(d / "bad.jsonl").string()});
    FAIL("no error");
  } catch (const FormatError& e) {
    CHECK(e.field() == "line 2");
    CHECK(e.file() == (d / "bad.jsonl").string());
  }
  fs::remove_all(d);
}

TEST_CASE("every record kind is a document: text as is, a pair as prompt and response, a chat as its messages") {
  const auto docs = parse_jsonl(
      "{\"text\": \"plain\"}\n"
      "{\"prompt\": \"Where?\", \"response\": \" Oslo.\", \"id\": \"qa1\"}\n"
      "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hey\"}]}\n",
      "r.jsonl");
  REQUIRE(docs.size() == 3);
  CHECK(docs[0].text == "plain");
  CHECK(docs[0].id == "r.jsonl#1");
  CHECK(!nlohmann::json::parse(docs[0].metadata).contains("kind"));
  CHECK(docs[1].text == "Where?\n Oslo.");
  CHECK(docs[1].id == "qa1");
  CHECK(nlohmann::json::parse(docs[1].metadata)["kind"] == "prompt/response");
  CHECK(docs[2].text == "Hi\n\nHey");
  CHECK(nlohmann::json::parse(docs[2].metadata)["kind"] == "messages");
  CHECK_THROWS_WITH_AS(parse_jsonl("{\"text\": \"a\"}\n{\"messages\": [{\"role\": \"user\"}]}\n", "r.jsonl"),
                       doctest::Contains("r.jsonl: line 2: \"messages[0].content\" is missing"), FormatError);
}

TEST_CASE("chunk_document: token limit, sentence boundaries, overlap, full coverage") {
  std::string text;
  for (int p = 0; p < 6; ++p) {
    for (int s = 0; s < 5; ++s) text += "Sentence " + std::to_string(p * 5 + s) + " has exactly six words. ";
    text += "\n\n";
  }
  ChunkOptions opt{20, 6};
  auto chunks = chunk_document(text, 3, count_words, opt);
  REQUIRE(chunks.size() > 5);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const auto& c = chunks[i];
    CHECK(c.doc == 3);
    CHECK(text.substr(c.begin, c.end - c.begin) == c.text);
    CHECK(count_words(c.text) <= 20);
    CHECK(c.text.rfind("Sentence ", 0) == 0);  // starts at a sentence
    CHECK(c.text.back() == '.');               // ends at one
    if (i > 0) {
      CHECK(c.begin < chunks[i - 1].end);  // overlaps the previous chunk by one six-word sentence
      CHECK(c.begin > chunks[i - 1].begin);
    }
  }
  // Every sentence is in some chunk.
  for (int s = 0; s < 30; ++s) {
    const std::string needle = "Sentence " + std::to_string(s) + " ";
    bool found = false;
    for (const auto& c : chunks) found |= c.text.find(needle) != std::string::npos;
    CHECK(found);
  }
  // No overlap: chunks are disjoint and in order.
  auto flat = chunk_document(text, 0, count_words, ChunkOptions{20, 0});
  for (size_t i = 1; i < flat.size(); ++i) CHECK(flat[i].begin >= flat[i - 1].end);
  // A sentence longer than a chunk is split at words.
  std::string longs;
  for (int i = 0; i < 50; ++i) longs += "w" + std::to_string(i) + " ";
  auto lc = chunk_document(longs, 0, count_words, ChunkOptions{8, 2});
  for (const auto& c : lc) CHECK(count_words(c.text) <= 8);
  CHECK(lc.back().text.find("w49") != std::string::npos);
  CHECK(chunk_document("   \n\n  ", 0, count_words, opt).empty());
  CHECK_THROWS_AS(chunk_document(text, 0, count_words, ChunkOptions{10, 10}), Error);
}
