// The architecture registry (models/arch.h): names from config.json and GGUF resolve to one family, and every
// block option the block walk lacks is refused naming its field; a sliding window runs on the CPU past its width.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "models/arch.h"
#include "models/block.h"
#include "models/builtin.h"
#include "models/hf_config.h"
#include "runtime/error.h"

using namespace edgellm;

namespace {

std::string family_config(const std::string& family) {
  const std::string path = std::string(EDGELLM_FIXTURES_DIR) + "/families/" + family + "/model/config.json";
  std::ifstream f(path);
  REQUIRE_MESSAGE(f.good(), path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The field named by the FormatError that parsing `text` throws, or "" if it parses.
std::string refused_field(const std::string& text) {
  try {
    parse_hf_config(text, "x/config.json");
  } catch (const FormatError& e) {
    CHECK(std::string(e.what()).find("x/config.json") != std::string::npos);
    return e.field();
  }
  return "";
}

const std::string kBase = R"("model_type":"llama","hidden_size":64,"intermediate_size":176,"num_hidden_layers":2,)"
                          R"("num_attention_heads":4,"vocab_size":512)";

}  // namespace

TEST_CASE("arch: HF model_type, architectures and GGUF names resolve through one table") {
  CHECK(std::string(arch_from_hf("qwen2", {}, "c").name) == "qwen2");
  CHECK(arch_from_hf("qwen2", {}, "c").qkv_bias);
  CHECK_FALSE(arch_from_hf("llama", {}, "c").qkv_bias);
  // An unknown model_type with a known class resolves by the class.
  CHECK(std::string(arch_from_hf("my-finetune", {"Other", "MistralForCausalLM"}, "c").name) == "mistral");
  CHECK_THROWS_AS(arch_from_hf("bert", {"BertModel"}, "c"), FormatError);
  // GGUF: llama.cpp writes Mistral as "llama"; edgellm's older files say "mistral".
  CHECK(std::string(arch_from_gguf("llama", "f").name) == "llama");
  CHECK(std::string(arch_from_gguf("mistral", "f").name) == "mistral");
  CHECK(arch_from_gguf("llama", "f").gguf_rope == RopePairing::Interleaved);
  CHECK(arch_from_gguf("qwen2", "f").gguf_rope == RopePairing::NeoX);
  CHECK(std::string(arch_from_gguf("gemma3", "f").name) == "gemma3_text");
  try {
    arch_from_gguf("bert", "f.gguf");
    FAIL("bert resolved");
  } catch (const FormatError& e) {
    CHECK(e.field() == "general.architecture");
  }
  CHECK(std::string(arch_by_name("mistral").gguf) == "llama");
  CHECK_THROWS(arch_by_name("nope"));
}

TEST_CASE("arch: the families' configs parse into their options; what is not implemented is refused naming the field") {
  // The fixtures of issue 21's families, made by transformers.
  for (const char* f : {"llama32", "qwen3", "gemma2", "gemma3", "phi3", "smollm3", "gpt2"})
    CHECK(refused_field(family_config(f)) == "");
  const HFConfig gpt2 = parse_hf_config(family_config("gpt2"), "gpt2");
  CHECK(gpt2.hidden_size == 64);  // n_embd
  CHECK(gpt2.intermediate_size == 256);  // n_inner null: 4 · n_embd
  CHECK(gpt2.block.norm == NormKind::LayerNorm);
  std::string by_layer = family_config("gpt2");
  const std::string key = R"("scale_attn_by_inverse_layer_idx": false)";
  REQUIRE(by_layer.find(key) != std::string::npos);
  by_layer.replace(by_layer.find(key), key.size(), R"("scale_attn_by_inverse_layer_idx": true)");
  CHECK(refused_field(by_layer) == "scale_attn_by_inverse_layer_idx");
  const HFConfig g2 = parse_hf_config(family_config("gemma2"), "g2");
  CHECK(g2.block.attn_softcap == 50);
  CHECK(g2.block.final_softcap == 30);
  CHECK(g2.block.mlp == MlpKind::GeluTanhGlu);
  CHECK(g2.sliding_layers == std::vector<uint8_t>{1, 0});
  const HFConfig g3 = parse_hf_config(family_config("gemma3"), "g3");
  CHECK(g3.rope_theta == 1e6);
  CHECK(g3.rope_local_theta == 10000);
  CHECK(g3.block.two_rope_bases);
  CHECK(g3.sliding_layers == std::vector<uint8_t>{1, 0, 1});
  const HFConfig s3 = parse_hf_config(family_config("smollm3"), "s3");
  CHECK(s3.rope_layers == std::vector<uint8_t>{1, 1, 1, 0});
  CHECK(parse_hf_config(family_config("phi3"), "p").block.partial_rotary == 0.75);
  // Options a config adds to a runnable family.
  CHECK(refused_field("{" + kBase + "}") == "");
  CHECK(refused_field("{" + kBase + R"(,"attn_logit_softcapping":50})") == "");
  CHECK(refused_field("{" + kBase + R"(,"partial_rotary_factor":1.5})") == "partial_rotary_factor");
  CHECK(refused_field("{" + kBase + R"(,"hidden_act":"gelu_pytorch_tanh"})") == "");
  CHECK(refused_field("{" + kBase + R"(,"hidden_act":"gelu"})") == "hidden_act");  // the erf form, outside Gemma
  CHECK(refused_field("{" + kBase + R"(,"hidden_act":"relu"})") == "hidden_act");
  CHECK(refused_field("{" + kBase + R"(,"no_rope_layers":[1]})") == "no_rope_layers");  // fewer than the layers
  CHECK(refused_field("{" + kBase + R"(,"sliding_window":4,"layer_types":["sliding_attention","chunked_attention"]})") ==
        "layer_types");
  CHECK(refused_field("{" + kBase + R"(,"sliding_window":4,"layer_types":["sliding_attention"]})") == "layer_types");
}

TEST_CASE("arch: a sliding window runs on the CPU past its width; walks without a window refuse there") {
  std::string mistral = kBase;
  mistral.replace(mistral.find("llama"), 5, "mistral");
  const HFConfig m = parse_hf_config("{" + mistral + R"(,"sliding_window":8})", "m");
  CHECK(m.model_type == "mistral");
  CHECK(m.block.sliding_window == 8);
  const HFConfig q = parse_hf_config("{" + kBase + R"(,"sliding_window":8,"use_sliding_window":false})", "q");
  CHECK(q.block.sliding_window == 0);
  LlamaConfig c;
  c.block = m.block;
  check_block_positions(c, 8);
  CHECK_THROWS_WITH(check_block_positions(c, 9), doctest::Contains("sliding_window"));
  c.block.sliding_window = 0;
  check_block_positions(c, 1 << 20);

  // The CPU inference forward applies the window, so a prompt reaching past it runs.
  LlamaConfig tc = builtin_config("tiny");
  tc.block.sliding_window = 4;
  const LlamaModel model = make_builtin_model(tc, 1);
  KvCache cache(tc, 16);
  const int32_t ids[5] = {1, 2, 3, 4, 5};
  std::vector<float> logits(static_cast<size_t>(tc.vocab));
  llama_forward(model, cache, ids, 4, logits.data(), false);
  CHECK(cache.len == 4);
  llama_forward(model, cache, ids + 4, 1, logits.data(), false);
  CHECK(cache.len == 5);
}
