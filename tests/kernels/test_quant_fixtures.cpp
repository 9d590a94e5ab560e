// GGUF fixture checks of the block formats: our dequantization of llama.cpp's files equals gguf-py's
// (kquant/dequant.safetensors), and our quantizers reproduce llama.cpp's Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 bytes.
// Reads the files with the runtime's GgufFile / SafetensorsFile readers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "quant_test_util.h"
#include "runtime/gguf.h"
#include "runtime/safetensors.h"

using namespace edgellm;
using namespace edgellm::test;

namespace {

const std::string kFix = EDGELLM_FIXTURES_DIR;

bool have(const std::string& rel) {
  if (std::filesystem::exists(kFix + "/" + rel)) return true;
  MESSAGE("fixture missing, skipped: ", kFix + "/" + rel);
  return false;
}

int64_t elements(const GgufTensorInfo& t) { return t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]; }

std::vector<uint8_t> bytes_of(const GgufFile& f, const GgufTensorInfo& t) {
  const uint8_t* p = f.tensor_data(t);
  return std::vector<uint8_t>(p, p + t.nbytes);
}

const GgufTensorInfo& info(const GgufFile& f, const std::string& name) {
  const GgufTensorInfo* t = f.find_tensor(name);
  REQUIRE_MESSAGE(t != nullptr, f.path(), ": no tensor ", name);
  return *t;
}

std::vector<float> f32_of(const GgufFile& f, const GgufTensorInfo& t) {
  REQUIRE(t.dtype == DType::F32);
  std::vector<float> v(static_cast<size_t>(elements(t)));
  std::memcpy(v.data(), f.tensor_data(t), v.size() * 4);
  return v;
}

std::vector<float> safetensors_f32(const std::string& path, const std::string& key) {
  const SafetensorsFile sf = SafetensorsFile::open(path);
  const SafetensorsInfo* t = sf.find(key);
  REQUIRE_MESSAGE(t != nullptr, path, ": no tensor ", key);
  REQUIRE(t->dtype == DType::F32);
  std::vector<float> v((t->end - t->begin) / 4);
  std::memcpy(v.data(), sf.file()->data() + sf.data_offset() + t->begin, v.size() * 4);
  return v;
}

// Quantizes every F32 tensor of `f32_file` whose counterpart in `q_file` has a type in `types` and
// requires byte equality. Returns the number of tensors compared.
int check_requantize(const std::string& f32_file, const std::string& q_file, std::vector<DType> types) {
  const GgufFile src = GgufFile::open(kFix + "/" + f32_file), dst = GgufFile::open(kFix + "/" + q_file);
  int compared = 0;
  for (const GgufTensorInfo& q : dst.tensors()) {
    const std::string& name = q.name;
    const DType t = q.dtype;
    if (std::find(types.begin(), types.end(), t) == types.end()) continue;
    const GgufTensorInfo& f = info(src, name);
    const int64_t cols = f.ne[0], rows = elements(f) / cols;
    const auto ours = quantize(qtype(t), f32_of(src, f), rows, cols);
    const auto theirs = bytes_of(dst, q);
    REQUIRE(theirs.size() == ours.size());
    size_t first_diff = ours.size();
    for (size_t i = 0; i < ours.size(); ++i)
      if (ours[i] != theirs[i]) {
        first_diff = i;
        break;
      }
    INFO(q_file, " ", name, " (", dtype_name(t), ") first differing byte ", first_diff, " of ", ours.size());
    CHECK(first_diff == ours.size());
    ++compared;
  }
  return compared;
}

}  // namespace

TEST_CASE("fixtures: Q8_0 / Q4_0 quantizers reproduce tiny-llama's llama.cpp bytes for every tensor") {
  if (!have("tiny-llama/gguf/tiny-llama-f32.gguf")) return;
  CHECK(check_requantize("tiny-llama/gguf/tiny-llama-f32.gguf", "tiny-llama/gguf/tiny-llama-q8_0.gguf", {DType::Q8_0}) == 14);
  CHECK(check_requantize("tiny-llama/gguf/tiny-llama-f32.gguf", "tiny-llama/gguf/tiny-llama-q4_0.gguf", {DType::Q4_0}) == 14);
}

TEST_CASE("fixtures: Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0 quantizers reproduce kquant's llama.cpp bytes") {
  if (!have("kquant/model-f32.gguf")) return;
  for (const auto& [file, t] : std::vector<std::pair<std::string, DType>>{{"q4_0", DType::Q4_0},
                                                                          {"q4_1", DType::Q4_1},
                                                                          {"q5_0", DType::Q5_0},
                                                                          {"q5_1", DType::Q5_1},
                                                                          {"q8_0", DType::Q8_0}})
    CHECK(check_requantize("kquant/model-f32.gguf", "kquant/model-" + file + ".gguf", {t}) == 16);
}

TEST_CASE("fixtures: dequantization of every kquant type equals gguf-py's to 1e-6 relative") {
  if (!have("kquant/dequant.safetensors")) return;
  const GgufFile f32 = GgufFile::open(kFix + "/kquant/model-f32.gguf");
  for (std::string file : {"q2_k", "q3_k_m", "q4_0", "q4_1", "q4_k_m", "q5_0", "q5_1", "q5_k_m", "q6_k", "q8_0"}) {
    const GgufFile g = GgufFile::open(kFix + "/kquant/model-" + file + ".gguf");
    const std::string name = "blk.0.attn_q.weight";
    const GgufTensorInfo& q = info(g, name);
    const QType& qt = qtype(q.dtype);
    const int64_t cols = q.ne[0], rows = elements(q) / cols;
    const auto ours = dequantize(qt, bytes_of(g, q), rows, cols);
    const auto want = safetensors_f32(kFix + "/kquant/dequant.safetensors", file + "." + name);
    REQUIRE(want.size() == ours.size());
    float amax = 0;
    for (float v : want) amax = std::max(amax, std::fabs(v));
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, double(std::fabs(ours[i] - want[i])));
    INFO(file, " ", dtype_name(qt.t), " max |diff| ", worst, " max |ref| ", amax);
    CHECK(worst <= 1e-6 * amax);
    // Every other 2-D tensor of the file decodes to something close to the f32 original.
    for (const GgufTensorInfo& t : g.tensors()) {
      if (t.n_dims != 2 || t.dtype == DType::F32) continue;
      const std::string& tn = t.name;
      const QType& tt = qtype(t.dtype);
      const int64_t c = t.ne[0], r = elements(t) / c;
      const auto y = dequantize(tt, bytes_of(g, t), r, c);
      const auto x = f32_of(f32, info(f32, tn));
      double e = 0, s = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        e += double(x[i] - y[i]) * (x[i] - y[i]);
        s += double(x[i]) * x[i];
      }
      INFO(file, " ", tn);
      CHECK(std::sqrt(e / s) < 0.35);
    }
  }
}

TEST_CASE("fixtures: K-quant quantizers against llama.cpp (reported, not required to be byte-equal)") {
  if (!have("kquant/model-f32.gguf")) return;
  const GgufFile f32 = GgufFile::open(kFix + "/kquant/model-f32.gguf");
  for (std::string file : {"q2_k", "q3_k_m", "q4_k_m", "q5_k_m", "q6_k"}) {
    const GgufFile g = GgufFile::open(kFix + "/kquant/model-" + file + ".gguf");
    const GgufTensorInfo& q = info(g, "blk.0.attn_q.weight");
    const QType& qt = qtype(q.dtype);
    const auto x = f32_of(f32, info(f32, "blk.0.attn_q.weight"));
    const auto theirs = dequantize(qt, bytes_of(g, q), 256, 256);
    const auto ours = dequantize(qt, quantize(qt, x, 256, 256), 256, 256);
    double e_t = 0, e_o = 0, s = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      e_t += double(x[i] - theirs[i]) * (x[i] - theirs[i]);
      e_o += double(x[i] - ours[i]) * (x[i] - ours[i]);
      s += double(x[i]) * x[i];
    }
    const double rt = std::sqrt(e_t / s), ro = std::sqrt(e_o / s);
    MESSAGE(file, ": rel RMSE llama.cpp ", rt, ", edgellm ", ro);
    CHECK(ro < 1.35 * rt);  // our RTN search stays within 35% of llama.cpp's error
  }
}
