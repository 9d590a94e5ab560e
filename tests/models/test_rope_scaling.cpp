// RoPE scaling (linear, dynamic, yarn, longrope) against transformers' logits in tests/fixtures/rope_scaling,
// made by tests/fixtures/gen_rope_scaling.py (skipped with a message while that folder is absent), and each
// scaling's round trip through GGUF's rope.scaling.* keys and rope_factors_* tensors. Llama 3 scaling is
// checked by the families fixture (test_families.cpp).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "models/load_model.h"
#include "models/runner.h"
#include "models/save_gguf.h"
#include "runtime/safetensors.h"

using namespace edgellm;

namespace {

const std::string kDir = std::string(EDGELLM_REPO_FIXTURES_DIR) + "/rope_scaling";

std::vector<float> logits_of(const LlamaModel& m, const std::vector<int32_t>& ids) {
  const int64_t T = static_cast<int64_t>(ids.size());
  KvCache cache(m.config, T);
  std::vector<float> out(static_cast<size_t>(T * m.config.vocab));
  llama_forward(m, cache, ids.data(), T, out.data(), true);
  return out;
}

// max |a − b| / max |b|
double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(double(a[i]) - b[i]));
    den = std::max(den, std::abs(double(b[i])));
  }
  return num / den;
}

}  // namespace

TEST_CASE("RoPE scaling: logits equal transformers' past the original context") {
  if (!std::filesystem::exists(kDir + "/reference.json")) {
    MESSAGE("tests/fixtures/rope_scaling is absent: skipped. Make it with "
            "`python3 tests/fixtures/gen_rope_scaling.py tests/fixtures/rope_scaling` (torch + transformers)");
    return;
  }
  const std::pair<const char*, RopeScalingKind> cases[] = {{"linear", RopeScalingKind::Linear},
                                                            {"dynamic", RopeScalingKind::Dynamic},
                                                            {"yarn", RopeScalingKind::Yarn},
                                                            {"yarn_mscale", RopeScalingKind::Yarn},
                                                            {"longrope", RopeScalingKind::LongRope}};
  for (const auto& c : cases) {
    const std::string name = c.first;
    CAPTURE(name);
    const std::string dir = kDir + "/" + name;
    const LlamaModel m = load_llama_hf(dir);
    CHECK(m.config.rope_scaling == c.second);
    const SafetensorsFile ref = SafetensorsFile::open(dir + "/reference.safetensors");
    const Tensor ids_t = ref.tensor("input_ids"), logits_t = ref.tensor("logits");
    REQUIRE(ids_t.dtype() == DType::I32);
    const std::vector<int32_t> ids(ids_t.data<int32_t>(), ids_t.data<int32_t>() + ids_t.numel());
    const std::vector<float> want(logits_t.data<float>(), logits_t.data<float>() + logits_t.numel());
    // The scaling is exercised: the input runs past the original context (max_position_embeddings for linear and
    // dynamic, which have no original_max_position_embeddings of their own).
    const bool own_orig = c.second != RopeScalingKind::Linear && c.second != RopeScalingKind::Dynamic;
    REQUIRE(static_cast<int64_t>(ids.size()) > (own_orig ? m.config.rope_orig_ctx : m.config.max_ctx));
    const double err = rel_err(logits_of(m, ids), want);
    MESSAGE(name << ": max |Δlogit| / max |logit| = " << err);
    CHECK(err < 1e-4);
  }
}

TEST_CASE("RoPE scaling: the tables follow transformers' rules") {
  LlamaConfig c;
  c.dim = 64, c.n_heads = 4, c.n_kv_heads = 4, c.head_dim = 16, c.max_ctx = 16, c.rope_orig_ctx = 16;
  const std::vector<float> plain = c.rope_inv_freq();
  SUBCASE("dynamic: unscaled within max_position_embeddings, a larger base beyond") {
    c.rope_scaling = RopeScalingKind::Dynamic;
    c.rope_factor = 4;
    CHECK(c.rope_inv_freq(false, 16) == plain);
    const std::vector<float> grown = c.rope_inv_freq(false, 40);
    CHECK(grown[0] == plain[0]);
    for (size_t i = 1; i < grown.size(); ++i) CHECK(grown[i] < plain[i]);
    // base' = θ·(4·40/16 − 3)^(16/14): the last pair's frequency, in closed form
    const double base = 10000.0 * std::pow(4.0 * 40 / 16 - 3, 16.0 / 14);
    CHECK(grown.back() == doctest::Approx(std::pow(base, -14.0 / 16)).epsilon(1e-5));
  }
  SUBCASE("longrope: short factors within the original context, long beyond; cos and sin scaled") {
    c.rope_scaling = RopeScalingKind::LongRope;
    c.rope_short_factors.assign(8, 2.0f);
    c.rope_long_factors.assign(8, 8.0f);
    c.rope_attn_factor = 1.25f;
    CHECK(c.rope_inv_freq(false, 16)[3] == doctest::Approx(plain[3] / 2));
    CHECK(c.rope_inv_freq(false, 17)[3] == doctest::Approx(plain[3] / 8));
    std::vector<float> cs(8), sn(8);
    rope_tables(c, 0, 1, cs.data(), sn.data());
    CHECK(cs[0] == doctest::Approx(1.25));  // position 0: cos 1 × the attention factor
  }
  SUBCASE("yarn: high frequencies kept, low ones divided by the factor") {
    c.rope_scaling = RopeScalingKind::Yarn;
    c.rope_factor = 4;
    c.rope_orig_ctx = 4096;
    const std::vector<float> y = c.rope_inv_freq();
    CHECK(y[0] == plain[0]);
    CHECK(y.back() == doctest::Approx(plain.back() / 4));
  }
}

TEST_CASE("RoPE scaling survives a GGUF round trip") {
  Model m = load_model("builtin:tiny");
  LlamaConfig& c = m.llama.config;
  const int64_t half = c.rope_dims() / 2;
  const std::string path = (std::filesystem::temp_directory_path() / "edgellm_test_rope_scaling.gguf").string();
  std::vector<int32_t> ids;
  for (int32_t i = 0; i < 40; ++i) ids.push_back(1 + (i * 7) % 100);
  for (RopeScalingKind kind : {RopeScalingKind::Linear, RopeScalingKind::Dynamic, RopeScalingKind::Yarn,
                               RopeScalingKind::LongRope}) {
    CAPTURE(static_cast<int>(kind));
    c.rope_scaling = kind;
    c.rope_factor = 4;
    c.rope_orig_ctx = 16;
    c.max_ctx = kind == RopeScalingKind::Dynamic ? 16 : 64;
    c.rope_attn_factor = kind == RopeScalingKind::Yarn ? 1.2f : kind == RopeScalingKind::LongRope ? 1.1f : 1.0f;
    c.rope_yarn_beta_fast = 8, c.rope_yarn_beta_slow = 2;
    c.rope_long_factors.assign(static_cast<size_t>(half), 3.0f);
    c.rope_short_factors.assign(static_cast<size_t>(half), 1.5f);
    c.rope_long_factors[1] = 5.0f;
    save_llama_gguf(m, path);
    const LlamaModel back = load_llama(path);
    CHECK(back.config.rope_scaling == kind);
    CHECK(back.config.rope_attention_factor() == doctest::Approx(c.rope_attention_factor()));
    for (int64_t len : {8, 40}) CHECK(back.config.rope_inv_freq(false, len) == c.rope_inv_freq(false, len));
    CHECK(rel_err(logits_of(back, ids), logits_of(m.llama, ids)) < 1e-5);
  }
  std::filesystem::remove(path);
}
