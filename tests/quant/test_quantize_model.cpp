// Model-level quantization on kquant's random Llama (fixtures): GPTQ/AWQ closer to f32 than RTN in KL,
// and a GPTQ Q4_0 GGUF written by save_llama_gguf reloads with the same bytes and logits. Not a PPL table.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "models/llama.h"
#include "models/save_gguf.h"
#include "quant/kl.h"
#include "quant/quantize_model.h"
#include "runtime/gguf.h"
#include "runtime/mmap_file.h"
#include "runtime/parallel.h"
#include "tests/test_util.h"

using namespace edgellm;
using namespace edgellm::quant;

using edgellm::test::OneThread;

namespace {
const std::string kDir = std::string(EDGELLM_FIXTURES_DIR) + "/kquant/";

double kl_of(QuantMethod method, const char* type, const Model& ref, const std::string& text) {
  Model m = load_model(kDir + "model-f32.gguf");
  ModelQuantOptions o;
  o.method = method;
  REQUIRE(parse_quant_spec(type, o.spec));
  o.max_tokens = 768;
  o.seq_len = 128;
  quantize_model(m, builtin_calibration_text(), o);
  return kl_divergence(m, ref, text, 64).kl_mean;
}
}  // namespace

TEST_CASE("quantize_model: GPTQ and AWQ have lower KL to f32 than RTN (kquant model, 3 bits)") {
  if (!std::filesystem::exists(kDir + "model-f32.gguf")) {
    MESSAGE("kquant fixture missing; skipped");
    return;
  }
  OneThread one;
  const Model ref = load_model(kDir + "model-f32.gguf");
  const std::string text = read_file(kDir + "eval.txt").substr(0, 6000);
  for (const char* type : {"int3g128"}) {
    const double rtn = kl_of(QuantMethod::Rtn, type, ref, text);
    const double gptq = kl_of(QuantMethod::Gptq, type, ref, text);
    const double awq = kl_of(QuantMethod::Awq, type, ref, text);
    std::printf("%-9s mean KL to f32: RTN %.5f  GPTQ %.5f (x%.3f)  AWQ %.5f (x%.3f)\n", type, rtn, gptq, gptq / rtn,
                awq, awq / rtn);
    CAPTURE(type);
    CHECK(gptq < rtn);
    CHECK(awq < rtn);
  }
}

TEST_CASE("GPTQ Q4_0 model written as GGUF reloads with the same weight bytes and logits") {
  if (!std::filesystem::exists(kDir + "model-f32.gguf")) return;
  OneThread one;
  Model m = load_model(kDir + "model-f32.gguf");
  ModelQuantOptions o;
  o.method = QuantMethod::Gptq;
  o.gptq.act_order = true;
  REQUIRE(parse_quant_spec("q4_0", o.spec));
  o.max_tokens = 128;
  o.seq_len = 64;
  quantize_model(m, builtin_calibration_text(), o);
  const LlamaLayer& L0 = m.llama.weights.layers[0];
  REQUIRE(L0.wq.dtype() == DType::Q4_0);
  REQUIRE(L0.w_down.dtype() == DType::Q4_0);
  const std::string path = (std::filesystem::temp_directory_path() / "edgellm_test_gptq_q4_0.gguf").string();
  SaveGgufOptions so;  // embeddings and output stay f32 in memory, so keep them f32 in the file too
  so.tensor_type = [](const std::string& name, DType t) {
    return name == "token_embd.weight" || name == "output.weight" ? DType::F32 : t;
  };
  save_llama_gguf(m, path, DType::Q4_0, so);
  {
    const Model back = load_model(path);
    const LlamaLayer& B0 = back.llama.weights.layers[0];
    for (LinearKind k : {LinearKind::Q, LinearKind::K, LinearKind::V, LinearKind::O, LinearKind::Down}) {
      REQUIRE(B0.weight(k).dtype() == DType::Q4_0);
      CHECK(std::memcmp(B0.weight(k).raw(), L0.weight(k).raw(), L0.weight(k).nbytes()) == 0);
    }
    const std::vector<int32_t> ids = {1, 17, 300, 42, 99, 7, 250, 3};
    const std::vector<float> a = all_logits(m, ids), b = all_logits(back, ids);
    REQUIRE(a.size() == b.size());
    float md = 0;
    for (size_t i = 0; i < a.size(); ++i) md = std::max(md, std::fabs(a[i] - b[i]));
    CHECK(md < 1e-4f);
  }
  std::filesystem::remove(path);
}

TEST_CASE("RTN Q4_0 / Q8_0 (the quantize CLI's rtn path) is byte-identical to llama-quantize --pure on kquant") {
  if (!std::filesystem::exists(kDir + "model-f32.gguf")) return;
  const Model m = load_model(kDir + "model-f32.gguf");
  for (const char* type : {"q4_0", "q8_0"}) {
    const std::string path = (std::filesystem::temp_directory_path() / "edgellm_test_rtn.gguf").string();
    save_llama_gguf(m, path, dtype_from_name(type));
    const GgufFile ours = GgufFile::open(path), ref = GgufFile::open(kDir + "model-" + type + ".gguf");
    int compared = 0;
    for (const GgufTensorInfo& t : ref.tensors()) {
      const GgufTensorInfo* o = ours.find_tensor(t.name);
      REQUIRE(o != nullptr);
      CAPTURE(t.name);
      REQUIRE(o->dtype == t.dtype);
      REQUIRE(o->nbytes == t.nbytes);
      CHECK(std::memcmp(ours.tensor_data(*o), ref.tensor_data(t), t.nbytes) == 0);
      ++compared;
    }
    CHECK(compared >= 18);
    std::filesystem::remove(path);
  }
}
