// Group-int as a weight type of whole models: GPTQ results stay packed, run through matmul_gint (few rows)
// and dequantized tiles (many rows), and survive a GGUF round trip. Not the kernels' ISA checks (tests/kernels).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "kernels/linear.h"
#include "kernels/lut_gemv.h"
#include "models/save_gguf.h"
#include "quant/quantize_model.h"
#include "runtime/gguf.h"
#include "runtime/parallel.h"
#include "tests/test_util.h"

using namespace edgellm;
using namespace edgellm::quant;

using edgellm::test::OneThread;
using edgellm::test::rel_max_diff;

namespace {

// An f32 copy of W (any dtype), decoded row by row.
Tensor dequantized(const Tensor& W) {
  Tensor f = Tensor::empty(W.shape());
  for (int64_t r = 0; r < W.shape().rows(); ++r) dequantize_row(f.data<float>() + r * W.shape().cols(), W, r);
  f.name = W.name;
  return f;
}

std::vector<int32_t> some_ids(int64_t n, int64_t vocab) {
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < n; ++i) ids.push_back(static_cast<int32_t>((i * 7919 + 13) % vocab));
  return ids;
}

}  // namespace

TEST_CASE("GPTQ group-int models (int3g128, int2g64, uint4g32, int8g64): packed, saved, reloaded; logits equal the "
          "dequantized-f32 model's") {
  OneThread one;
  const std::string path =
      (std::filesystem::temp_directory_path() / ("edgellm_gint_model_" + std::to_string(getpid()) + ".gguf")).string();
  for (const char* name : {"int3g128", "int2g64", "uint4g32", "int8g64"}) {
    const std::string type = name;
    CAPTURE(type);
    Model m = load_model("builtin:small");
    ModelQuantOptions o;
    o.method = QuantMethod::Gptq;
    REQUIRE(parse_quant_spec(type, o.spec));
    o.max_tokens = 256;
    o.seq_len = 64;
    quantize_model(m, builtin_calibration_text(), o);
    const DType want = gint_dtype(o.spec.bits, o.spec.group);
    for (const auto& L : m.llama.weights.layers)
      for (int k = 0; k < kNumLinearKinds; ++k) CHECK(L.weight(static_cast<LinearKind>(k)).dtype() == want);

    // The reference: the same model with every linear decoded to f32.
    Model ref = load_model("builtin:small");
    for (size_t l = 0; l < ref.llama.weights.layers.size(); ++l)
      for (int k = 0; k < kNumLinearKinds; ++k)
        ref.llama.weights.layers[l].weight(static_cast<LinearKind>(k)) =
            dequantized(m.llama.weights.layers[l].weight(static_cast<LinearKind>(k)));
    // 40 tokens: the linears see M >= 32 rows (dequantized tiles + GEMM); 5 tokens: the fused matmul_gint.
    for (int64_t T : {40, 5}) {
      CAPTURE(T);
      const std::vector<int32_t> ids = some_ids(T, m.llama.config.vocab);
      const std::vector<float> lq = all_logits(m, ids), lr = all_logits(ref, ids);
      CHECK(rel_max_diff(lq, lr) < 1e-4);
    }

    // GGUF: the linears keep their packed bytes under edgellm's type id; logits are reproduced.
    save_llama_gguf(m, path);
    {
      const GgufFile f = GgufFile::open(path);
      REQUIRE(f.find_tensor("blk.1.ffn_down.weight"));
      CHECK(f.find_tensor("blk.1.ffn_down.weight")->dtype == want);
      CHECK(f.find_tensor("token_embd.weight")->dtype == DType::F32);
    }
    Model back = load_model(path);
    const Tensor& a = m.llama.weights.layers[1].w_down;
    const Tensor& b = back.llama.weights.layers[1].w_down;
    REQUIRE(b.dtype() == want);
    CHECK(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
    for (int64_t T : {40, 5}) {
      const std::vector<int32_t> ids = some_ids(T, m.llama.config.vocab);
      CHECK(rel_max_diff(all_logits(back, ids), all_logits(m, ids)) < 1e-5);
    }
  }
  std::filesystem::remove(path);
}

TEST_CASE("linear through a group-int weight: forward (both paths) and input gradient match the f32 decode") {
  OneThread one;
  const int64_t N = 97, K = 256;  // two dequantized row tiles of the input gradient (64 rows each)
  Tensor Wf = Tensor::empty({N, K});
  for (int64_t i = 0; i < N * K; ++i) Wf.data<float>()[i] = std::sin(0.37f * static_cast<float>(i)) * 0.1f;
  for (DType t : {DType::GINT3_G128, DType::GINT2_G32, DType::GINT8_G64, DType::GINT4_G64}) {
    CAPTURE(dtype_name(t));
    const Tensor W = convert_matrix(Wf, t);
    REQUIRE(W.dtype() == t);
    const Tensor D = dequantized(W);
    for (int64_t M : {1, 7, 33}) {
      CAPTURE(M);
      std::vector<float> x(M * K), dy(M * N);
      for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * static_cast<float>(i));
      for (size_t i = 0; i < dy.size(); ++i) dy[i] = std::sin(0.23f * static_cast<float>(i));
      std::vector<float> y(M * N), yr(M * N), dx(M * K, 0.5f), dxr(M * K, 0.5f);
      linear_forward(y.data(), x.data(), W, nullptr, M);
      linear_forward(yr.data(), x.data(), D, nullptr, M);
      if (lut_gemv_selected(t, M)) {
        // Decode of 2/3-bit weights takes the LUT GEMV: int8 activations per 32 (measured 0.33-0.36% here);
        // the exact path still matches the f32 decode.
        CHECK(rel_max_diff(y, yr) < 1e-2);
        linear_forward(y.data(), x.data(), W, nullptr, M, QuantMath::Exact);
      }
      CHECK(rel_max_diff(y, yr) < 1e-5);
      linear_backward_input(dx.data(), dy.data(), W, M);
      linear_backward_input(dxr.data(), dy.data(), D, M);
      CHECK(rel_max_diff(dx, dxr) < 1e-5);
      // accumulate = false overwrites: the NaNs already there must not leak through either path
      std::vector<float> dxo(M * K, NAN), dxro(M * K, NAN);
      linear_backward_input(dxo.data(), dy.data(), W, M, false);
      linear_backward_input(dxro.data(), dy.data(), D, M, false);
      CHECK(rel_max_diff(dxo, dxro) < 1e-5);
      for (size_t i = 0; i < dxo.size(); ++i) dxo[i] += 0.5f;
      CHECK(rel_max_diff(dxo, dx) < 1e-5);
    }
  }
}
