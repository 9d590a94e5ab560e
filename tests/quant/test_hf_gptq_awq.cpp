// Reading Hugging Face GPTQ (v1/v2, 2/3/4/8 bits, act-order g_idx) and AutoAWQ GEMM checkpoints. The packers
// here follow the published layouts word by word (AutoGPTQ's three-word 3-bit scheme, AWQ's nibble order)
// on known integer weights; the loaded group-int weights must decode to exactly those values, and the model's
// logits equal those of the same model written in f32. Not a test of GPTQ/AWQ quantization (test_gptq_awq).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "kernels/linear.h"
#include "models/hf_quant.h"
#include "models/save_gguf.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/safetensors.h"
#include "tests/test_util.h"

using namespace edgellm;
namespace fs = std::filesystem;

using edgellm::test::OneThread;
using edgellm::test::rel_max_diff;

namespace {

constexpr int64_t C = 128, F = 256, L = 2, NH = 4, KVH = 2, HD = 32, V = 512;

struct Case {
  const char* name;
  bool awq;
  int bits, group;
  bool sym, desc_act, v2;
};

// AutoGPTQ's packing of a sequence of b-bit values into int32 words (qweight columns, qzeros rows).
std::vector<uint32_t> pack_gptq(const std::vector<uint32_t>& v, int b) {
  std::vector<uint32_t> w(v.size() * b / 32, 0);
  size_t i = 0, row = 0;
  while (row < w.size()) {
    if (b != 3) {
      for (int j = 0; j < 32 / b; ++j) w[row] |= v[i + j] << (b * j);
      i += 32 / b;
      ++row;
    } else {  // 32 values in three words: ten, one split 2 + 1, ten, one split 1 + 2, ten
      for (int j = 0; j < 10; ++j) w[row] |= v[i + j] << (3 * j);
      i += 10;
      w[row] |= v[i] << 30;
      ++row;
      w[row] |= (v[i] >> 2) & 1u;
      ++i;
      for (int j = 0; j < 10; ++j) w[row] |= v[i + j] << (3 * j + 1);
      i += 10;
      w[row] |= v[i] << 31;
      ++row;
      w[row] |= (v[i] >> 1) & 3u;
      ++i;
      for (int j = 0; j < 10; ++j) w[row] |= v[i + j] << (3 * j + 2);
      i += 10;
      ++row;
    }
  }
  return w;
}

// AutoAWQ GEMM: eight 4-bit values of consecutive outputs per word, in the order [0, 2, 4, 6, 1, 3, 5, 7].
std::vector<uint32_t> pack_awq(const std::vector<uint32_t>& v) {
  static const int order[8] = {0, 2, 4, 6, 1, 3, 5, 7};
  std::vector<uint32_t> w(v.size() / 8, 0);
  for (size_t c = 0; c < w.size(); ++c)
    for (int i = 0; i < 8; ++i) w[c] |= v[c * 8 + order[i]] << (4 * i);
  return w;
}

Tensor i32_tensor(const std::vector<uint32_t>& v, const Shape& s) {
  Tensor t = Tensor::empty(s, DType::I32);
  std::memcpy(t.raw(), v.data(), v.size() * 4);
  return t;
}

std::string config_json(const std::string& quant) {
  return "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": " + std::to_string(C) +
         ", \"intermediate_size\": " + std::to_string(F) + ", \"num_hidden_layers\": " + std::to_string(L) +
         ", \"num_attention_heads\": " + std::to_string(NH) + ", \"num_key_value_heads\": " + std::to_string(KVH) +
         ", \"head_dim\": " + std::to_string(HD) + ", \"vocab_size\": " + std::to_string(V) +
         ", \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, "
         "\"tie_word_embeddings\": false, \"bos_token_id\": 1, \"eos_token_id\": 2" +
         (quant.empty() ? "" : ", \"quantization_config\": " + quant) + "}";
}

void write_dir(const std::string& dir, const std::string& config, const SafetensorsWriter& w) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string tok = std::string(EDGELLM_FIXTURES_DIR) + "/tiny-llama/model/";
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model"})
    fs::copy_file(tok + f, dir + "/" + f);
  std::ofstream(dir + "/config.json") << config;
  w.write(dir + "/model.safetensors");
}

// Builds both checkpoints of one random model: `qdir` quantized per `c`, `fdir` the same values in f32.
// Returns the expected f32 weight of every linear, by GGUF name.
std::map<std::string, std::vector<float>> make_model(const Case& c, const std::string& qdir, const std::string& fdir) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  SafetensorsWriter wq, wf;
  auto floats = [&](const std::string& name, const Shape& s, float scale, float offset) {
    Tensor t = Tensor::empty(s);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = offset + scale * u(rng);
    wq.add(name, t);
    wf.add(name, t);
  };
  floats("model.embed_tokens.weight", {V, C}, 1.0f, 0.0f);
  floats("model.norm.weight", {C}, 0.1f, 1.0f);
  floats("lm_head.weight", {V, C}, 0.1f, 0.0f);
  std::map<std::string, std::vector<float>> expect;
  const int b = c.bits, G = c.group, qmax = (1 << b) - 1;
  for (int64_t l = 0; l < L; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".", g = "blk." + std::to_string(l) + ".";
    floats(p + "input_layernorm.weight", {C}, 0.1f, 1.0f);
    floats(p + "post_attention_layernorm.weight", {C}, 0.1f, 1.0f);
    struct Lin { const char* hf; const char* gg; int64_t N, K; };
    for (const Lin& lin : {Lin{"self_attn.q_proj", "attn_q", NH * HD, C}, Lin{"self_attn.k_proj", "attn_k", KVH * HD, C},
                           Lin{"self_attn.v_proj", "attn_v", KVH * HD, C}, Lin{"self_attn.o_proj", "attn_output", C, NH * HD},
                           Lin{"mlp.gate_proj", "ffn_gate", F, C}, Lin{"mlp.up_proj", "ffn_up", F, C},
                           Lin{"mlp.down_proj", "ffn_down", C, F}}) {
      const int64_t N = lin.N, K = lin.K, ng = K / G;
      std::vector<uint32_t> q(K * N), z(ng * N);  // q (K, N) and z (ng, N): HF's (in, out) orientation
      std::vector<uint16_t> s(ng * N);
      std::vector<int32_t> gidx(K);
      for (auto& v : q) v = static_cast<uint32_t>(rng() % (qmax + 1));
      for (auto& v : s) v = f32_to_f16(0.005f + 0.01f * (u(rng) + 1.0f));
      for (auto& v : z) v = c.sym ? (1u << (b - 1)) : static_cast<uint32_t>((c.v2 || c.awq ? 0 : 1) + rng() % (c.v2 || c.awq ? qmax + 1 : qmax));
      std::vector<int32_t> perm(K);
      std::iota(perm.begin(), perm.end(), 0);
      if (c.desc_act) std::shuffle(perm.begin(), perm.end(), rng);
      for (int64_t i = 0; i < K; ++i) gidx[perm[i]] = static_cast<int32_t>(i / G);
      std::vector<float> W(N * K);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t k = 0; k < K; ++k) {
          const int64_t gg = gidx[k];
          W[n * K + k] = f16_to_f32(s[gg * N + n]) * (static_cast<float>(q[k * N + n]) - static_cast<float>(z[gg * N + n]));
        }
      const std::string pre = p + lin.hf;
      Tensor sc = Tensor::empty({ng, N}, DType::F16);
      std::memcpy(sc.raw(), s.data(), s.size() * 2);
      wq.add(pre + ".scales", sc);
      if (c.awq) {
        std::vector<uint32_t> qw, qz;
        for (int64_t k = 0; k < K; ++k) {
          const auto w = pack_awq(std::vector<uint32_t>(q.begin() + k * N, q.begin() + (k + 1) * N));
          qw.insert(qw.end(), w.begin(), w.end());
        }
        for (int64_t gg = 0; gg < ng; ++gg) {
          const auto w = pack_awq(std::vector<uint32_t>(z.begin() + gg * N, z.begin() + (gg + 1) * N));
          qz.insert(qz.end(), w.begin(), w.end());
        }
        wq.add(pre + ".qweight", i32_tensor(qw, {K, N / 8}));
        wq.add(pre + ".qzeros", i32_tensor(qz, {ng, N / 8}));
      } else {
        const int64_t R = K * b / 32;
        std::vector<uint32_t> qw(R * N), qz;
        for (int64_t n = 0; n < N; ++n) {
          std::vector<uint32_t> col(K);
          for (int64_t k = 0; k < K; ++k) col[k] = q[k * N + n];
          const auto w = pack_gptq(col, b);
          for (int64_t r = 0; r < R; ++r) qw[r * N + n] = w[r];
        }
        for (int64_t gg = 0; gg < ng; ++gg) {
          std::vector<uint32_t> row(N);
          for (int64_t n = 0; n < N; ++n) row[n] = (z[gg * N + n] - (c.v2 ? 0u : 1u)) & static_cast<uint32_t>(qmax);
          const auto w = pack_gptq(row, b);
          qz.insert(qz.end(), w.begin(), w.end());
        }
        wq.add(pre + ".qweight", i32_tensor(qw, {R, N}));
        wq.add(pre + ".qzeros", i32_tensor(qz, {ng, N * b / 32}));
        Tensor gi = Tensor::empty({K}, DType::I32);
        std::memcpy(gi.raw(), gidx.data(), K * 4);
        wq.add(pre + ".g_idx", gi);
      }
      Tensor wt = Tensor::empty({N, K});
      std::memcpy(wt.raw(), W.data(), W.size() * 4);
      wf.add(pre + ".weight", wt);
      expect[g + lin.gg + ".weight"] = std::move(W);
    }
  }
  std::string quant;
  if (c.awq)
    quant = "{\"quant_method\": \"awq\", \"bits\": 4, \"group_size\": " + std::to_string(G) +
            ", \"zero_point\": true, \"version\": \"gemm\"}";
  else
    quant = "{\"quant_method\": \"gptq\", \"bits\": " + std::to_string(b) + ", \"group_size\": " + std::to_string(G) +
            ", \"desc_act\": " + (c.desc_act ? "true" : "false") + ", \"sym\": " + (c.sym ? "true" : "false") +
            (c.v2 ? ", \"checkpoint_format\": \"gptq_v2\"" : "") + "}";
  write_dir(qdir, config_json(quant), wq);
  write_dir(fdir, config_json(""), wf);
  return expect;
}

std::string tmp(const std::string& what) {
  return (fs::temp_directory_path() / ("edgellm_hfq_" + what + "_" + std::to_string(getpid()))).string();
}

}  // namespace

TEST_CASE("GPTQ (2/3/4/8 bits, v1/v2, act-order g_idx) and AWQ GEMM checkpoints load as exact group-int weights") {
  OneThread one;
  const Case cases[] = {
      {"gptq int4 g32 asym v1", false, 4, 32, false, false, false},
      {"gptq int3 g128 sym act-order v1", false, 3, 128, true, true, false},
      {"gptq int2 g64 asym act-order v2", false, 2, 64, false, true, true},
      {"gptq int8 g128 sym v1", false, 8, 128, true, false, false},
      {"awq int4 g64", true, 4, 64, false, false, false},
  };
  const std::string qdir = tmp("q"), fdir = tmp("f"), gguf = tmp("g") + ".gguf";
  for (const Case& c : cases) {
    CAPTURE(std::string(c.name));
    const auto expect = make_model(c, qdir, fdir);
    const Model mq = load_model(qdir), mf = load_model(fdir);
    for (int64_t l = 0; l < L; ++l)
      for (int k = 0; k < kNumLinearKinds; ++k) {
        const Tensor& W = mq.llama.weights.layers[l].weight(static_cast<LinearKind>(k));
        CAPTURE(W.name);
        REQUIRE(W.dtype() == gint_dtype(c.bits, c.group));
        CHECK(static_cast<bool>(W.in_perm) == (c.desc_act && W.shape().cols() > c.group));  // one group: no order
        const std::vector<float>& E = expect.at(W.name);
        const int64_t K = W.shape().cols();
        std::vector<float> row(K);
        int64_t bad = 0;
        for (int64_t n = 0; n < W.shape().rows(); ++n) {
          dequantize_row(row.data(), W, n);
          for (int64_t j = 0; j < K; ++j) bad += row[j] != E[n * K + j];
        }
        CHECK(bad == 0);
      }
    for (int64_t T : {40, 5}) {
      CAPTURE(T);
      std::vector<int32_t> ids;
      for (int64_t i = 0; i < T; ++i) ids.push_back(static_cast<int32_t>((i * 131 + 7) % V));
      CHECK(rel_max_diff(all_logits(mq, ids), all_logits(mf, ids)) < 1e-4);
      // As GGUF (edgellm's group-int ids, column orders as `.in_perm` tensors) the logits stay the same.
      save_llama_gguf(mq, gguf);
      const Model back = load_model(gguf);
      CHECK(static_cast<bool>(back.llama.weights.layers[1].w_down.in_perm) == c.desc_act);
      CHECK(rel_max_diff(all_logits(back, ids), all_logits(mq, ids)) < 1e-5);
    }
  }
  fs::remove_all(qdir);
  fs::remove_all(fdir);
  fs::remove(gguf);
}

TEST_CASE("HF quantized checkpoints edgellm cannot represent fail with the file and field named") {
  const std::string dir = tmp("bad");
  fs::remove_all(dir);
  fs::create_directories(dir);
  // A pair, not a structured binding: clang 14 cannot capture bindings in CAPTURE's lambda.
  for (const auto& c : std::vector<std::pair<std::string, std::string>>{
           {"{\"quant_method\": \"gptq\", \"bits\": 4, \"group_size\": -1}", "group_size"},
           {"{\"quant_method\": \"gptq\", \"bits\": 5, \"group_size\": 128}", "bits"},
           {"{\"quant_method\": \"awq\", \"bits\": 4, \"group_size\": 128, \"version\": \"gemv\"}", "version"},
           {"{\"quant_method\": \"bitsandbytes\"}", "quant_method"},
           // 2^32 + 4: read as int it wrapped to 4 and was accepted as 4 bits.
           {"{\"quant_method\": \"gptq\", \"bits\": 4294967300, \"group_size\": 128}", "bits"},
           {"{\"quant_method\": \"gptq\", \"bits\": 4, \"group_size\": 18446744073709551615}", "group_size"}}) {
    const std::string& quant = c.first;
    CAPTURE(quant);
    std::ofstream(dir + "/config.json") << config_json(quant);
    CHECK_THROWS_WITH_AS(hf_quant_config(dir), doctest::Contains(c.second.c_str()), Error);
  }
  fs::remove_all(dir);
}
