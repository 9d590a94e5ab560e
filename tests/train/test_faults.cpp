// A full disk during a save (a file-size limit, RLIMIT_FSIZE with SIGXFSZ ignored, stands in for it): the
// checkpoint, the GGUF model and the RAG index writers throw an Error naming the file and saying the previous
// file is unchanged, and it is, byte for byte, with no temp file left. Not AtomicFile's own test: tests/runtime.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <functional>

#include "models/runner.h"
#include "models/save_gguf.h"
#include "rag/index.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"
#include "runtime/parallel.h"
#include "train/trainer.h"
#include "tests/test_util.h"

using namespace edgellm;
namespace fs = std::filesystem;

using edgellm::test::OneThread;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("edgellm_faults_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Runs `save` with files limited to `limit` bytes; returns the Error's message ("" when nothing was thrown).
std::string save_on_full_disk(const std::function<void()>& save, rlim_t limit = 4096) {
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of being killed
  rlimit small = old;
  small.rlim_cur = limit;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string msg;
  try {
    save();
  } catch (const Error& e) {
    msg = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  return msg;
}

void check_intact(const fs::path& dir, const std::string& path, const std::string& before, const std::string& msg) {
  INFO(msg);
  CHECK(msg.find(path) != std::string::npos);
  CHECK(msg.find("unchanged") != std::string::npos);
  CHECK(read_file(path) == before);
  for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
}

}  // namespace

TEST_CASE("full disk while saving a training checkpoint: the previous checkpoint stays loadable, byte for byte") {
  OneThread one;
  const fs::path dir = fresh_dir("ckpt");
  const std::string path = (dir / "checkpoint.safetensors").string();
  Model m = load_model("builtin:tiny");
  PackedData d({example_from_text("The capital of France is Paris.", *m.tokenizer)}, 16, 0);
  TrainConfig c;
  c.setup.lora = true;
  c.setup.lora_config.rank = 4;
  c.seq_len = 16;
  c.steps = 3;
  Trainer tr(m.llama, d, c);
  tr.train_step();
  tr.save_checkpoint(path);
  const std::string before = read_file(path);
  REQUIRE(before.size() > 4096);
  tr.train_step();
  check_intact(dir, path, before, save_on_full_disk([&] { tr.save_checkpoint(path); }));
  Model m2 = load_model("builtin:tiny");
  Trainer tr2(m2.llama, d, c);
  tr2.resume(path);
  CHECK(tr2.step() == 1);
  fs::remove_all(dir);
}

TEST_CASE("full disk while writing a GGUF model or a RAG index: the previous file is unchanged") {
  OneThread one;
  const fs::path dir = fresh_dir("gguf_rag");
  Model m = load_model("builtin:tiny");
  const std::string gguf = (dir / "model.gguf").string();
  save_llama_gguf(m, gguf, DType::F32);
  const std::string before = read_file(gguf);
  check_intact(dir, gguf, before, save_on_full_disk([&] { save_llama_gguf(m, gguf, DType::Q8_0); }));
  CHECK(load_model(gguf).llama.config.dim == m.llama.config.dim);

  const std::string rag_path = (dir / "docs.rag").string();
  rag::RagIndex ix;
  ix.settings.chunk_tokens = 16;
  ix.settings.overlap = 2;
  ix.settings.dense = true;
  ix.settings.embed_model = "builtin:tiny";
  rag::add_documents(ix, {{"a.txt", "Alice lives in Paris. She bakes bread.", "{}"}}, m);
  rag::save_index(ix, rag_path);
  const std::string rag_before = read_file(rag_path);
  rag::add_documents(ix, {{"b.txt", std::string(8000, 'x') + " Bob flies kites in Lyon.", "{}"}}, m);
  check_intact(dir, rag_path, rag_before, save_on_full_disk([&] { rag::save_index(ix, rag_path); }, rag_before.size() + 16));
  fs::remove_all(dir);
}
