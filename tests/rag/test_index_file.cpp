// Tests of the index: build from documents with builtin:tiny, save/open round trip (f32 and int8),
// corruption of every section and truncation rejected, kill -9 during a write, adding documents.
// Not retrieval-quality tests (test_retrieval.cpp).
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "rag/index.h"
#include "tests/rag/rag_test_model.h"
#include "rag/prompt.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"

using namespace edgellm;
using namespace edgellm::rag;
namespace fs = std::filesystem;

namespace {

using edgellm::rag::test::tiny;

std::vector<Document> docs_a() {
  return {{"a", "Alice lives in Paris. She has a cat named Tom.\n\nBob works as a baker in Lyon.", "{}"},
          {"b", "The Eiffel Tower is in Paris. Zoë aime les crêpes. Dave owns a dog called Rex.", "{}"}};
}
std::vector<Document> docs_b() {
  return {{"c", "Carol is a pilot from Berlin. She flies to Oslo on Mondays.", "{\"topic\":\"jobs\"}"}};
}

RagIndex build(std::vector<Document> docs, bool int8 = false) {
  RagIndex ix;
  ix.settings.chunk_tokens = 24;
  ix.settings.overlap = 6;
  ix.settings.int8 = int8;
  ix.settings.embed_model = "builtin:tiny";
  add_documents(ix, std::move(docs), tiny());
  return ix;
}

struct TempDir {
  fs::path p = fs::temp_directory_path() / ("edgellm_rag_test_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(p); }
  ~TempDir() { fs::remove_all(p); }
};

std::string slurp(const fs::path& p) { return read_file(p.string()); }
void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary).write(s.data(), s.size()); }

void check_same(const RagIndex& a, const RagIndex& b) {
  REQUIRE(a.chunks.size() == b.chunks.size());
  REQUIRE(a.docs.size() == b.docs.size());
  for (size_t i = 0; i < a.docs.size(); ++i) {
    CHECK(a.docs[i].id == b.docs[i].id);
    CHECK(a.docs[i].metadata == b.docs[i].metadata);
  }
  for (size_t i = 0; i < a.chunks.size(); ++i) {
    CHECK(a.chunks[i].doc == b.chunks[i].doc);
    CHECK(a.chunks[i].begin == b.chunks[i].begin);
    CHECK(a.chunks[i].end == b.chunks[i].end);
    CHECK(a.chunks[i].text == b.chunks[i].text);
  }
  CHECK(a.bm25.terms == b.bm25.terms);
  CHECK(a.bm25.term_start == b.bm25.term_start);
  CHECK(a.bm25.chunk_len == b.bm25.chunk_len);
  REQUIRE(a.bm25.postings.size() == b.bm25.postings.size());
  for (size_t i = 0; i < a.bm25.postings.size(); ++i) {
    CHECK(a.bm25.postings[i].chunk == b.bm25.postings[i].chunk);
    CHECK(a.bm25.postings[i].tf == b.bm25.postings[i].tf);
  }
  REQUIRE(a.dense.n == b.dense.n);
  REQUIRE(a.dense.dim == b.dense.dim);
  REQUIRE(a.dense.int8 == b.dense.int8);
  std::vector<float> ra(a.dense.dim), rb(b.dense.dim);
  for (int64_t i = 0; i < a.dense.n; ++i) {
    a.dense.row(i, ra.data());
    b.dense.row(i, rb.data());
    CHECK(std::memcmp(ra.data(), rb.data(), ra.size() * sizeof(float)) == 0);
  }
}

// Section id -> (offset, size), read from the file's table.
std::vector<std::tuple<std::string, uint64_t, uint64_t>> sections(const std::string& bytes) {
  uint32_t n;
  std::memcpy(&n, bytes.data() + 12, 4);
  std::vector<std::tuple<std::string, uint64_t, uint64_t>> out;
  for (uint32_t i = 0; i < n; ++i) {
    const char* e = bytes.data() + 64 + i * 32;
    uint64_t off, size;
    std::memcpy(&off, e + 8, 8);
    std::memcpy(&size, e + 16, 8);
    out.push_back({std::string(e, 4), off, size});
  }
  return out;
}

std::string error_of(const std::string& path) {
  try {
    load_index(path);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("index: chunks point into their documents; embeddings are unit vectors") {
  auto docs = docs_a();
  auto ix = build(docs);
  REQUIRE(ix.chunks.size() >= 3);
  for (const auto& c : ix.chunks) CHECK(docs[c.doc].text.substr(c.begin, c.end - c.begin) == c.text);
  REQUIRE(ix.dense.n == static_cast<int64_t>(ix.chunks.size()));
  CHECK(ix.dense.dim == tiny().llama.config.dim);
  std::vector<float> r(ix.dense.dim);
  for (int64_t i = 0; i < ix.dense.n; ++i) {
    ix.dense.row(i, r.data());
    double ss = 0;
    for (float x : r) ss += x * x;
    CHECK(ss == doctest::Approx(1.0).epsilon(1e-5));
  }
  // Embedding is deterministic and independent of the batch it is in.
  std::vector<std::string> t = {ix.chunks[0].text, ix.chunks[1].text};
  auto both = embed_texts(tiny(), t);
  auto one = embed_texts(tiny(), std::span<const std::string>(&t[1], 1));
  for (int64_t j = 0; j < ix.dense.dim; ++j) CHECK(both[ix.dense.dim + j] == one[j]);
  // Dense retrieval of a chunk's own text finds that chunk first.
  QueryOptions q;
  q.mode = Mode::Dense;
  q.k = 1;
  CHECK(retrieve(ix, ix.chunks[2].text, q, &tiny())[0].chunk == 2);
}

TEST_CASE("index file: round trip (f32 and int8), queries agree") {
  TempDir td;
  for (bool int8 : {false, true}) {
    auto ix = build(docs_a(), int8);
    const auto path = (td.p / "ix.rag").string();
    save_index(ix, path);
    auto back = load_index(path);
    check_same(ix, back);
    CHECK(back.settings.chunk_tokens == 24);
    CHECK(back.settings.int8 == int8);
    for (Mode m : {Mode::Bm25, Mode::Dense, Mode::Hybrid}) {
      QueryOptions q;
      q.mode = m;
      auto x = retrieve(ix, "Who lives in Paris?", q, &tiny()), y = retrieve(back, "Who lives in Paris?", q, &tiny());
      REQUIRE(x.size() == y.size());
      for (size_t i = 0; i < x.size(); ++i) CHECK(x[i].chunk == y[i].chunk);
    }
  }
}

TEST_CASE("index file: a flipped byte in any section, or a truncation, is rejected naming file and section") {
  TempDir td;
  const auto path = (td.p / "ix.rag").string();
  save_index(build(docs_a()), path);
  const std::string good = slurp(path);
  const auto secs = sections(good);
  REQUIRE(secs.size() == 8);  // META CHNK TEXT TERM TSTR POST CLEN VECF
  for (const auto& sec : secs) {
    const std::string id = std::get<0>(sec);  // (no structured binding: clang 14 cannot capture one in INFO)
    const uint64_t off = std::get<1>(sec), size = std::get<2>(sec);
    REQUIRE(size > 0);
    std::string bad = good;
    bad[off + size / 2] ^= 0x10;
    spit(path, bad);
    const std::string err = error_of(path);
    INFO(id << ": " << err);
    CHECK(err.find(path) != std::string::npos);
    CHECK(err.find("section " + id) != std::string::npos);
    CHECK(err.find("checksum") != std::string::npos);
  }
  // Header and table bytes.
  for (size_t at : {size_t{0}, size_t{9}, size_t{17}, size_t{64 + 8}}) {
    std::string bad = good;
    bad[at] ^= 0x01;
    spit(path, bad);
    CHECK(!error_of(path).empty());
  }
  for (size_t len : {size_t{0}, size_t{10}, size_t{63}, size_t{200}, good.size() / 2, good.size() - 1}) {
    spit(path, good.substr(0, len));
    const std::string err = error_of(path);
    INFO(len << ": " << err);
    CHECK(err.find("header") != std::string::npos);
    CHECK(err.find(path) != std::string::npos);
  }
  spit(path, good);
  CHECK(error_of(path).empty());
}

TEST_CASE("index file: kill -9 during a write leaves the previous index intact") {
  TempDir td;
  const auto path = (td.p / "ix.rag").string();
  const auto old_ix = build(docs_a());
  save_index(old_ix, path);
  const std::string before = slurp(path);
  auto new_ix = build([] {
    auto d = docs_a();
    for (auto& x : docs_b()) d.push_back(x);
    return d;
  }());
  for (const char* at : {"META", "TEXT", "POST", "VECF"}) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      SaveHooks h;
      h.after_section = [at](const char* id) {
        if (std::strcmp(id, at) == 0) kill(getpid(), SIGKILL);
      };
      try {
        save_index(new_ix, path, h);
      } catch (...) {
      }
      _exit(3);  // not reached when the kill happens
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    CHECK(slurp(path) == before);
    check_same(old_ix, load_index(path));
  }
  // The kill leaves temp files beside the index, never the index itself; a completed write replaces it.
  save_index(new_ix, path);
  check_same(new_ix, load_index(path));
}

TEST_CASE("index: adding documents to a saved index equals building all at once") {
  TempDir td;
  const auto path = (td.p / "ix.rag").string();
  save_index(build(docs_a()), path);
  auto ix = load_index(path);
  ix.dense.own();
  add_documents(ix, docs_b(), tiny());
  save_index(ix, path);
  auto all = docs_a();
  for (auto& d : docs_b()) all.push_back(d);
  check_same(build(all), load_index(path));
  QueryOptions q;
  q.mode = Mode::Bm25;
  auto hits = retrieve(load_index(path), "pilot Berlin", q, nullptr);
  REQUIRE(!hits.empty());
  CHECK(ix.docs[ix.chunks[hits[0].chunk].doc].id == "c");
}

TEST_CASE("prompt builder: chunks in rank order under the token budget, plain or chat template") {
  auto ix = build(docs_a());
  QueryOptions q;
  q.mode = Mode::Bm25;
  auto hits = retrieve(ix, "Paris cat baker", q, nullptr);
  REQUIRE(hits.size() >= 2);
  PromptOptions po;
  po.budget_tokens = 100000;
  auto full = build_rag_prompt(tiny(), ix, "Where is Tom?", hits, po);
  CHECK(full.chunks_used == hits.size());
  CHECK(full.text.find(ix.chunks[hits[0].chunk].text) < full.text.find(ix.chunks[hits[1].chunk].text));
  CHECK(full.text.find("Question: Where is Tom?") != std::string::npos);
  // A budget between the 1-chunk and 2-chunk prompts keeps exactly one chunk.
  auto one = build_rag_prompt(tiny(), ix, "Where is Tom?", {hits[0]}, po);
  po.budget_tokens = static_cast<int64_t>(one.ids.size()) + 1;
  auto cut = build_rag_prompt(tiny(), ix, "Where is Tom?", hits, po);
  CHECK(cut.chunks_used == 1);
  CHECK(static_cast<int64_t>(cut.ids.size()) <= po.budget_tokens);
  po.budget_tokens = 5;
  CHECK_THROWS_AS(build_rag_prompt(tiny(), ix, "Where is Tom?", hits, po), Error);
  po.budget_tokens = 100000;
  po.chat = ChatFormat::ChatML;
  auto chat = build_rag_prompt(tiny(), ix, "Where is Tom?", hits, po);
  CHECK(chat.text.rfind("<|im_start|>user\n", 0) == 0);
  CHECK(chat.text.find("<|im_start|>assistant\n") != std::string::npos);
  CHECK_FALSE(model_chat_template("builtin:tiny").has_value());
}

TEST_CASE("model_chat_template: the Jinja template of tokenizer_config.json; chunking with a real BPE tokenizer") {
  TempDir td;
  std::ofstream(td.p / "tokenizer_config.json")
      << R"({"bos_token": {"content": "<s>"}, "chat_template": "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"})";
  const auto tmpl = model_chat_template(td.p.string());
  REQUIRE(tmpl.has_value());
  CHECK(tmpl->is_jinja());
  const std::vector<ChatMessage> msgs = {{"user", "Hi"}};
  CHECK(apply_chat_template(*tmpl, msgs) == "<s><|im_start|>user\nHi<|im_end|>\n");
  const std::string qwen = std::string(EDGELLM_FIXTURES_DIR) + "/tiny-qwen2/model";
  if (!fs::exists(qwen)) return;
  Model m = load_model(qwen);
  RagIndex ix;
  ix.settings.chunk_tokens = 16;
  ix.settings.overlap = 4;
  ix.settings.dense = false;
  auto docs = docs_a();
  add_documents(ix, docs, m);
  for (const auto& c : ix.chunks) {
    CHECK(docs[c.doc].text.substr(c.begin, c.end - c.begin) == c.text);
    // Counts are summed per sentence/word, so encoding the whole chunk may differ by a token per boundary.
    const auto words = std::count(c.text.begin(), c.text.end(), ' ') + 1;
    CHECK(static_cast<int64_t>(m.tokenizer->encode(c.text).size()) <= 16 + words);
  }
  CHECK(ix.chunks.size() >= 4);
}
