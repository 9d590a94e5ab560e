// The families beyond Llama (issue 21) on Vulkan: the family shaders (LayerNorm, GELU/GeGLU, soft-cap, partial
// RoPE; windowed and soft-capped attention is in test_vulkan_ops) against their CPU scalar twins on ragged shapes;
// then each family's
// fixture model (../shared/fixtures/families) on the device: logits against transformers' within 1e-4 of the
// largest, and KV-cache decode against the device's own full forward. Not training (test_vulkan_train.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "kernels/attention.h"
#include "kernels/kernel_table.h"
#include "models/load_model.h"
#include "models/runner.h"
#include "models/vulkan/llama_vulkan.h"
#include "runtime/safetensors.h"
#include "vk_test_util.h"
#include "family_fixtures.h"

using namespace edgellm;
using edgellm::test::family_dir;
using edgellm::test::fixture_ids;
using namespace edgellm::vktest;

namespace {

const KernelTable& S() { return *kernels_for(Isa::Scalar); }

}  // namespace

TEST_CASE("vulkan family shaders: LayerNorm, GELU, GeGLU and soft-cap against the scalar kernels") {
  for (uint32_t rows : {1u, 7u, 33u})
    for (uint32_t C : {1u, 64u, 257u, 1000u}) {
      auto x = randv(size_t(rows) * C, rows * 5 + C, -2, 3);  // a mean far from 0: the two-pass variance matters
      for (float& v : x) v += 4.0f;
      const auto w = randv(C, C + 1), bias = randv(C, C + 2);
      std::vector<float> y(x.size()), rstd(rows);
      S().layernorm_forward(y.data(), rstd.data(), x.data(), w.data(), bias.data(), rows, C, 1e-5f);
      vk::Buffer bx = up(x), bw = up(w), bb = up(bias), by = ctx().alloc(x.size() * 4), br = ctx().alloc(rows * 4);
      vk::Batch b(ctx());
      vk::layernorm_forward(b, {&by, 0}, &br, {&bx, 0}, bw, bb, rows, C, 1e-5f);
      vk::layernorm_forward(b, {&bx, 0}, nullptr, {&bx, 0}, bw, bb, rows, C, 1e-5f);  // in place
      b.submit();
      INFO("layernorm rows=" << rows << " C=" << C);
      CHECK(worst(down(by, y.size()), y, 1e-5, 1e-4) <= 1);
      CHECK(worst(down(br, rows), rstd, 1e-5, 1e-4) <= 1);
      CHECK(worst(down(bx, y.size()), y, 1e-5, 1e-4) <= 1);
    }
  for (uint32_t n : {1u, 7u, 257u, 100003u}) {
    const auto a = randv(n, n, -12, 12), u = randv(n, n + 1);
    std::vector<float> g(n), gg(n), sc(n);
    S().gelu_forward(g.data(), a.data(), n);
    S().gelu_forward(gg.data(), a.data(), n);
    S().mul_forward(gg.data(), gg.data(), u.data(), n);
    S().softcap_forward(sc.data(), a.data(), 5.0f, n);
    vk::Buffer ba = up(a), bu = up(u), bg = ctx().alloc(n * 4), bgg = ctx().alloc(n * 4), bs = up(a);
    vk::Batch b(ctx());
    vk::gelu_forward(b, {&bg, 0}, {&ba, 0}, n);
    vk::geglu_forward(b, {&bgg, 0}, {&ba, 0}, {&bu, 0}, n);
    vk::softcap_forward(b, {&bs, 0}, {&bs, 0}, n, 5.0f);  // in place
    b.submit();
    INFO("n=" << n);
    CHECK(worst(down(bg, n), g, 1e-6, 1e-5) <= 1);
    CHECK(worst(down(bgg, n), gg, 1e-6, 1e-5) <= 1);
    CHECK(worst(down(bs, n), sc, 1e-6, 1e-5) <= 1);
  }
}

TEST_CASE("vulkan family shaders: partial rotary RoPE, forward and backward, both pairings") {
  const uint32_t T = 5, NH = 3, HD = 32, D = 24;  // Phi-3's 0.75 of a head
  for (RopePairing pr : {RopePairing::Interleaved, RopePairing::NeoX}) {
    const auto x = randv(size_t(T) * NH * HD, 11), cs = randv(size_t(T) * D / 2, 12), sn = randv(cs.size(), 13);
    const auto dx0 = randv(x.size(), 14);
    std::vector<float> y = x, dx = dx0;
    for (uint32_t t = 0; t < T; ++t)  // each head's first D dims as a head of D, as CpuBlockOps::rope does
      for (uint32_t h = 0; h < NH; ++h) {
        const size_t o = (size_t(t) * NH + h) * HD;
        S().rope_forward(y.data() + o, x.data() + o, cs.data() + t * D / 2, sn.data() + t * D / 2, 1, 1, D, pr);
        S().rope_backward(dx.data() + o, x.data() + o, cs.data() + t * D / 2, sn.data() + t * D / 2, 1, 1, D, pr);
      }
    vk::Buffer bx = up(x), bc = up(cs), bs = up(sn), bdx = up(dx0);
    vk::Batch b(ctx());
    vk::rope(b, {&bdx, 0}, NH * HD, {&bx, 0}, NH * HD, bc, bs, T, NH, HD, pr, true, D);
    vk::rope(b, {&bx, 0}, NH * HD, {&bx, 0}, NH * HD, bc, bs, T, NH, HD, pr, false, D);
    b.submit();
    CHECK(worst(down(bx, x.size()), y, 1e-6, 1e-5) <= 1);
    CHECK(worst(down(bdx, x.size()), dx, 1e-6, 1e-5) <= 1);
  }
}

namespace {

void check_family(const std::string& family) {
  Model m = load_model(family_dir(family) + "/model");
  use_vulkan(m.llama);
  edgellm::test::check_family_logits(m, family, "vulkan");
}

}  // namespace

TEST_CASE("vulkan families: Llama 3.2 (llama3 rope scaling, explicit head_dim, tied)") { check_family("llama32"); }
TEST_CASE("vulkan families: Qwen3 (QK-norm, head_dim != hidden/heads)") { check_family("qwen3"); }
TEST_CASE("vulkan families: SmolLM3 (layers without RoPE)") { check_family("smollm3"); }
TEST_CASE("vulkan families: Phi-3 (fused qkv and gate_up, partial rotary)") { check_family("phi3"); }
TEST_CASE("vulkan families: Gemma 2 (GeGLU, post-norms, soft-caps, alternating sliding window)") { check_family("gemma2"); }
TEST_CASE("vulkan families: Gemma 3 (QK-norm, sliding/global layers, two RoPE bases)") { check_family("gemma3"); }
TEST_CASE("vulkan families: GPT-2 (LayerNorm with bias, learned positions, GELU, biases, tied)") { check_family("gpt2"); }
TEST_CASE("vulkan families: the hold-out models (other dimensions and options)") {
  for (const std::string& family : edgellm::test::holdout_families()) check_family(family);
}
