// Tests of rag::write_index and the embedder check: concurrent --add writers both land (the output lock), an index
// of nothing is refused naming the file, and an index can only be queried with the model its vectors came from.
// Not the file format (test_index_file.cpp).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "rag/index.h"
#include "tests/rag/rag_test_model.h"
#include "runtime/error.h"

using namespace edgellm;
using namespace edgellm::rag;
namespace fs = std::filesystem;

namespace {

using edgellm::rag::test::tiny;

struct Dir {
  fs::path p = fs::temp_directory_path() / ("edgellm_rag_writer_" + std::to_string(getpid()));
  Dir() { fs::create_directories(p); }
  ~Dir() { fs::remove_all(p); }
  std::string file(const std::string& name, const std::string& text) const {
    std::ofstream((p / name).string(), std::ios::binary) << text;
    return (p / name).string();
  }
};

IndexSettings small_settings(bool dense) {
  IndexSettings s;
  s.chunk_tokens = 24;
  s.overlap = 4;
  s.dense = dense;
  s.embed_model = dense ? "builtin:tiny" : "";
  return s;
}

}  // namespace

TEST_CASE("write_index --add: two processes adding at once both land (the lock is held across read-modify-write)") {
  Dir d;
  const std::string index = (d.p / "ix.rag").string();
  constexpr int kPerWriter = 6;
  std::vector<std::string> files[2];
  for (int w = 0; w < 2; ++w)
    for (int i = 0; i < kPerWriter; ++i)
      files[w].push_back(d.file(fmt::format("w{}_{}.txt", w, i), fmt::format("Writer {} wrote document {}.", w, i)));
  (void)tiny();  // loaded before the fork, so both writers start at once
  pid_t pids[2];
  for (int w = 0; w < 2; ++w) {
    pids[w] = ::fork();
    REQUIRE(pids[w] >= 0);
    if (pids[w] == 0) {
      int rc = 0;
      try {
        for (const auto& f : files[w]) write_index(index, {f}, tiny(), small_settings(false), true);
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  const RagIndex ix = load_index(index);
  std::set<std::string> ids;
  for (const auto& doc : ix.docs) ids.insert(doc.id);
  CHECK(ids.size() == 2 * kPerWriter);
  CHECK(ix.docs.size() == 2 * kPerWriter);
}

TEST_CASE("write_index: an empty JSONL, a blank-only JSONL and an empty folder are refused naming them") {
  Dir d;
  const std::string index = (d.p / "ix.rag").string();
  const std::string empty = d.file("empty.jsonl", ""), blank = d.file("blank.jsonl", "\n  \n\n");
  fs::create_directories(d.p / "nothing");
  for (const std::string& f : {empty, blank, (d.p / "nothing").string()})
    CHECK_THROWS_WITH_AS(write_index(index, {f}, tiny(), small_settings(false), false),
                         doctest::Contains((f + ": no documents in it").c_str()), Error);
  CHECK_FALSE(fs::exists(index));
}

TEST_CASE("the index's embedding model: recorded, another one refused (a wider preset before it is built)") {
  Dir d;
  const std::string index = (d.p / "ix.rag").string();
  const std::string doc = d.file("a.txt", "Alice lives in Paris. Bob bakes bread in Lyon.");
  write_index(index, {doc}, tiny(), small_settings(true), false);
  const RagIndex ix = load_index(index);
  CHECK(ix.settings.embed_identity == embedder_identity(tiny()));
  QueryOptions q;
  q.mode = Mode::Dense;
  const Model m = load_embedder(ix, "");
  CHECK_FALSE(retrieve(ix, "Where does Alice live?", q, &m).empty());
  // builtin:1.1b is 4.3 GB of random weights: refused from its preset's width, nothing built.
  default_arena().reset_peak();
  const size_t before = default_arena().in_use();
  CHECK_THROWS_WITH_AS(load_embedder(ix, "builtin:1.1b"), doctest::Contains("cannot have made them"), Error);
  CHECK(default_arena().peak() == before);
  // The same width but other weights (another seed): loaded, and refused by retrieve.
  const Model other = load_embedder(ix, "builtin:tiny:7");
  CHECK_THROWS_WITH_AS(retrieve(ix, "Where does Alice live?", q, &other),
                       doctest::Contains("is not the one the index's vectors come from"), Error);
  // An --add with another model is refused too.
  CHECK_THROWS_WITH_AS(write_index(index, {doc}, other, small_settings(true), true),
                       doctest::Contains("vectors come from a model with identity"), Error);
}

TEST_CASE("the index's embedding model: a file whose size is not the recorded one is not loaded; no bytes quoted") {
  Dir d;
  const std::string index = (d.p / "ix.rag").string();
  const std::string doc = d.file("a.txt", "Alice lives in Paris.");
  RagIndex ix;
  ix.settings = small_settings(false);
  ix.settings.dense = true;
  ix.settings.embed_model = d.file("secret.gguf", "root:x:0:0:root:/root:/bin/bash\n");
  ix.settings.embed_bytes = 999;
  CHECK_THROWS_WITH_AS(load_embedder(ix, ""), doctest::Contains("that path is now 32 bytes (not loaded)"), Error);
  // A path with the recorded size is loaded and refused as a model without its bytes in the message.
  ix.settings.embed_bytes = 32;
  try {
    (void)load_embedder(ix, "");
    FAIL("a text file was accepted as a model");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK(what.find("root") == std::string::npos);
    CHECK(what.find("72 6f") == std::string::npos);
    CHECK(what.find("not a GGUF file") != std::string::npos);
  }
}

TEST_CASE("write_index with an embedder: the model chunks, the embedder embeds, and the index records the embedder") {
  Dir d;
  const std::string index = (d.p / "ix.rag").string();
  const std::string doc = d.file("a.txt", "Alice lives in Paris. Bob bakes bread in Lyon.");
  const Model emb = load_model("builtin:tiny:7");  // another model (same vocabulary, other weights)
  IndexSettings s = small_settings(true);
  s.embed_model = "builtin:tiny:7";
  write_index(index, {doc}, tiny(), s, false, &emb);
  const RagIndex ix = load_index(index);
  CHECK(ix.settings.embed_model == "builtin:tiny:7");
  CHECK(ix.settings.embed_identity == embedder_identity(emb));
  CHECK(ix.settings.embed_identity != embedder_identity(tiny()));
  // The stored vectors are the embedder's: equal to embedding the chunk's text with it.
  const std::vector<std::string> text = {ix.chunks[0].text};
  const std::vector<float> want = embed_texts(emb, text, ix.settings.embed_max_tokens);
  std::vector<float> got(static_cast<size_t>(ix.dense.dim));
  ix.dense.row(0, got.data());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
  QueryOptions q;
  q.mode = Mode::Dense;
  const Model m = load_embedder(ix, "");  // the recorded embedder, not the chunking model
  CHECK_FALSE(retrieve(ix, "Where does Alice live?", q, &m).empty());
  CHECK_THROWS_WITH_AS(retrieve(ix, "Where does Alice live?", q, &tiny()),
                       doctest::Contains("is not the one the index's vectors come from"), Error);
}
