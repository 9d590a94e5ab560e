// GGUF export: a Hugging Face model written as GGUF equals llama.cpp's own converter's file tensor
// by tensor (Q/K rows permuted the same way), and reloads to the same logits; quantized exports reload.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>

#include "models/save_gguf.h"
#include "runtime/gguf.h"

using namespace edgellm;

namespace {
std::string fixtures() {
  const char* env = std::getenv("EDGELLM_FIXTURES");
  return env && *env ? env : EDGELLM_FIXTURES_DIR;
}
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("edgellm-test-" + std::to_string(::getpid()) + "-" + name)).string();
}
}  // namespace

TEST_CASE("HF tiny-llama exported as GGUF has llama.cpp converter's tensors and tokenizer") {
  const std::string dir = fixtures() + "/tiny-llama";
  const std::string out = temp_path("tl.gguf");
  Model m = load_model(dir + "/model");
  save_llama_gguf(m, out, DType::F32);
  GgufFile mine = GgufFile::open(out), ref = GgufFile::open(dir + "/gguf/tiny-llama-f32.gguf");
  REQUIRE(mine.tensors().size() == ref.tensors().size());
  for (const auto& t : ref.tensors()) {
    const GgufTensorInfo* u = mine.find_tensor(t.name);
    REQUIRE_MESSAGE(u, t.name);
    CHECK(u->shape == t.shape);
    CHECK_MESSAGE(std::memcmp(mine.tensor_data(*u), ref.tensor_data(t), t.nbytes) == 0, t.name);
  }
  CHECK(mine.get_strings("tokenizer.ggml.tokens") == ref.get_strings("tokenizer.ggml.tokens"));
  CHECK(mine.get_f32_array("tokenizer.ggml.scores") == ref.get_f32_array("tokenizer.ggml.scores"));
  CHECK(mine.get_i32_array("tokenizer.ggml.token_type") == ref.get_i32_array("tokenizer.ggml.token_type"));
  Model back = load_model(out);
  const std::vector<int32_t> ids = {1, 300, 301, 17, 450};
  const auto a = all_logits(m, ids), b = all_logits(back, ids);
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  CHECK(worst < 1e-4);
  std::filesystem::remove(out);
}

TEST_CASE("quantized exports reload with the chosen type, falling back to f16 for ragged rows") {
  Model m = load_model("builtin:tiny");
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::F16}) {
    const std::string out = temp_path("tiny.gguf");
    save_llama_gguf(m, out, t);
    GgufFile f = GgufFile::open(out);
    CHECK(f.find_tensor("blk.0.attn_q.weight")->dtype == (t == DType::Q4_K ? DType::F16 : t));  // 64 % 256 != 0
    CHECK(f.find_tensor("blk.0.ffn_down.weight")->dtype == (t == DType::F16 ? DType::F16 : DType::F16));  // 176 cols
    Model back = load_model(out);
    const auto l = all_logits(back, {1, 2, 3});
    CHECK(l.size() == 3 * 512);
    std::filesystem::remove(out);
  }
}
