// GPTQ and AWQ on single linear layers with correlated, outlier-heavy inputs, against RTN on the same grid.
// Not a model-level test (tests/quant/test_quantize_model.cpp runs the pipeline on a tiny model).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "quant/awq.h"
#include "quant/gptq.h"

using namespace edgellm;
using namespace edgellm::quant;

namespace {

struct Layer {
  int64_t N, K, n;
  std::vector<float> W;  // (N, K)
  std::vector<float> X;  // (n, K) calibration inputs
  std::vector<double> H; // (K, K) 2 XᵀX / n
  std::vector<float> absmean; // (K)
};

// X = Z·L (strong correlations between channels) with a few channels scaled up (activation outliers).
Layer make_layer(int64_t N, int64_t K, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Layer l{N, K, n, {}, {}, {}, {}};
  l.W.resize(N * K);
  for (auto& v : l.W) v = nd(rng) * 0.05f;
  std::vector<float> Z(n * K), L(K * K);
  for (auto& v : Z) v = nd(rng);
  for (int64_t i = 0; i < K * K; ++i) L[i] = nd(rng) / std::sqrt(float(K)) + ((i % (K + 1)) == 0 ? 0.3f : 0.0f);
  l.X.resize(n * K);
  gemm_f32(Trans::N, Trans::N, n, K, K, 1.0f, Z.data(), K, L.data(), K, 0.0f, l.X.data(), K);
  for (int64_t k = 0; k < K; k += 37)  // outlier channels
    for (int64_t t = 0; t < n; ++t) l.X[t * K + k] *= 12.0f;
  l.H.assign(K * K, 0.0);
  hessian_accumulate(l.H.data(), l.X.data(), n, K, 2.0 / double(n));
  l.absmean.assign(K, 0.0f);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t k = 0; k < K; ++k) l.absmean[k] += std::fabs(l.X[t * K + k]) / float(n);
  return l;
}

double err_of(const Layer& l, const std::vector<float>& Wq) {
  return relative_output_error(l.W.data(), Wq.data(), l.X.data(), l.N, l.K, l.n);
}

double awq_err(const Layer& l, const QuantSpec& spec) {
  const std::vector<float> s =
      awq_search_scales({{l.W.data(), l.N}}, l.K, l.absmean.data(), l.X.data(), l.n, spec);
  const QuantizedMatrix q = awq_quantize(l.W.data(), l.N, l.K, s.data(), l.X.data(), l.n, spec);
  return err_of(l, awq_effective_weight(q, s.data()));
}

}  // namespace

TEST_CASE("GPTQ and AWQ reconstruct a correlated linear layer better than RTN at 3 and 4 bits") {
  const Layer l = make_layer(96, 256, 1024, 7);
  struct Case { const char* name; QuantSpec spec; };
  const Case cases[] = {
      {"int4g128 sym", {4, 128, true, false}},  {"uint4g128 asym", {4, 128, false, false}},
      {"int3g128 sym", {3, 128, true, false}},  {"uint3g64 asym", {3, 64, false, false}},
      {"q4_0", {4, 32, true, true}},            {"q4_1", {4, 32, false, true}},
  };
  for (const Case& c : cases) {
    const double rtn = err_of(l, rtn_quantize(l.W.data(), l.N, l.K, c.spec).values);
    const double gptq = err_of(l, gptq_quantize(l.W.data(), l.N, l.K, l.H.data(), c.spec).values);
    GptqOptions ao;
    ao.act_order = true;
    const double gptq_ao = err_of(l, gptq_quantize(l.W.data(), l.N, l.K, l.H.data(), c.spec, ao).values);
    const double awq = awq_err(l, c.spec);
    std::printf("%-15s rel. output error: RTN %.5f  GPTQ %.5f (x%.3f)  GPTQ act-order %.5f (x%.3f)  AWQ %.5f (x%.3f)\n",
                c.name, rtn, gptq, gptq / rtn, gptq_ao, gptq_ao / rtn, awq, awq / rtn);
    CAPTURE(c.name);
    CHECK(gptq < rtn);
    CHECK(awq < rtn);
    CHECK(gptq_ao <= gptq * 1.02);
  }
}

TEST_CASE("GPTQ into GGUF block types: the written bytes decode to exactly the values GPTQ chose") {
  const Layer l = make_layer(8, 128, 256, 11);
  for (const char* name : {"q4_0", "q4_1", "q8_0", "int4g32", "uint3g64", "int2g128", "uint8g128"}) {
    QuantSpec spec;
    REQUIRE(parse_quant_spec(name, spec));
    for (bool ao : {false, true}) {
      GptqOptions o;
      o.act_order = ao;
      const QuantizedMatrix q = gptq_quantize(l.W.data(), l.N, l.K, l.H.data(), spec, o);
      std::vector<float> dec(l.N * l.K);
      decode_quantized(q, dec.data());
      CAPTURE(name);
      CAPTURE(ao);
      CHECK(std::memcmp(dec.data(), q.values.data(), dec.size() * sizeof(float)) == 0);
    }
  }
  QuantSpec q40;
  REQUIRE(parse_quant_spec("q4_0", q40));
  CHECK(Grid(q40).kind == GridKind::Q4_0);
  CHECK(Grid(q40).gguf_type() == DType::Q4_0);
}

TEST_CASE("GPTQ and AWQ are deterministic; dead input channels give zero weights, no NaN") {
  Layer l = make_layer(16, 128, 256, 3);
  for (int64_t t = 0; t < l.n; ++t) l.X[t * l.K + 5] = 0.0f;  // channel 5 never fires
  std::fill(l.H.begin(), l.H.end(), 0.0);
  hessian_accumulate(l.H.data(), l.X.data(), l.n, l.K, 2.0 / double(l.n));
  QuantSpec spec{3, 64, false, false};
  GptqOptions o;
  o.act_order = true;
  const QuantizedMatrix a = gptq_quantize(l.W.data(), l.N, l.K, l.H.data(), spec, o);
  const QuantizedMatrix b = gptq_quantize(l.W.data(), l.N, l.K, l.H.data(), spec, o);
  CHECK(a.data == b.data);
  for (int64_t r = 0; r < l.N; ++r) CHECK(std::fabs(a.values[r * l.K + 5]) <= 1e-2f);
  for (float v : a.values) REQUIRE(std::isfinite(v));
  l.absmean[5] = 0.0f;
  const std::vector<float> s1 = awq_search_scales({{l.W.data(), l.N}}, l.K, l.absmean.data(), l.X.data(), l.n, spec);
  const std::vector<float> s2 = awq_search_scales({{l.W.data(), l.N}}, l.K, l.absmean.data(), l.X.data(), l.n, spec);
  CHECK(s1 == s2);
  for (float v : s1) REQUIRE((std::isfinite(v) && v > 0));
}

TEST_CASE("quant spec names") {
  QuantSpec s;
  CHECK(parse_quant_spec("int3g128", s));
  CHECK((s.bits == 3 && s.group == 128 && s.symmetric && !s.prefer_gguf));
  CHECK(parse_quant_spec("uint2g64", s));
  CHECK((s.bits == 2 && s.group == 64 && !s.symmetric));
  CHECK_FALSE(parse_quant_spec("q4_k", s));
  CHECK_FALSE(parse_quant_spec("intg", s));
  CHECK_THROWS(Grid(QuantSpec{5, 128, true, false}));
}
