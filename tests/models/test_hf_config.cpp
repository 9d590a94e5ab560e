// Hugging Face config.json parsing: the fixture models, transformers 4 and 5 rope fields,
// Llama 3 rope scaling, and errors that name the file and the field.
#include <doctest/doctest.h>

#include "models/hf_config.h"
#include "runtime/error.h"

using namespace edgellm;

namespace {

std::string fixture(const std::string& rel) { return std::string(EDGELLM_FIXTURES_DIR) + "/" + rel; }

void expect_error(const std::string& text, const std::string& field) {
  CAPTURE(text);
  bool thrown = false;
  try {
    parse_hf_config(text, "some/config.json");
  } catch (const FormatError& e) {
    thrown = true;
    CAPTURE(std::string(e.what()));
    CHECK(e.field() == field);
    CHECK(std::string(e.what()).find("some/config.json") != std::string::npos);
  }
  CHECK(thrown);
}

const char* kLlama3 = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
  "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
  "num_key_value_heads": 8, "vocab_size": 128256, "max_position_embeddings": 131072,
  "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "tie_word_embeddings": false,
  "torch_dtype": "bfloat16"})";

}  // namespace

TEST_CASE("hf_config: tiny-llama (transformers 5 rope_parameters)") {
  const HFConfig c = load_hf_config(fixture("tiny-llama/model"));
  CHECK(c.model_type == "llama");
  CHECK(c.architectures == std::vector<std::string>{"LlamaForCausalLM"});
  CHECK(c.hidden_size == 64);
  CHECK(c.intermediate_size == 176);
  CHECK(c.num_hidden_layers == 2);
  CHECK(c.num_attention_heads == 4);
  CHECK(c.num_key_value_heads == 2);
  CHECK(c.head_dim == 16);
  CHECK(c.vocab_size == 512);
  CHECK(c.max_position_embeddings == 256);
  CHECK(c.rms_norm_eps == 1e-5);
  CHECK(c.rope_theta == 10000.0);
  CHECK(c.rope_scaling.type.empty());
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK_FALSE(c.qkv_bias);
  CHECK_FALSE(c.o_bias);
  CHECK(c.bos_token_ids == std::vector<int64_t>{1});
  CHECK(c.eos_token_ids == std::vector<int64_t>{2});
  CHECK(c.torch_dtype == "float32");
}

TEST_CASE("hf_config: tiny-qwen2 (tied, q/k/v bias, theta 1e6)") {
  const HFConfig c = load_hf_config(fixture("tiny-qwen2/model/config.json"));
  CHECK(c.model_type == "qwen2");
  CHECK(c.head_dim == 16);
  CHECK(c.rope_theta == 1000000.0);
  CHECK(c.tie_word_embeddings);
  CHECK(c.qkv_bias);
  CHECK_FALSE(c.o_bias);
}

TEST_CASE("hf_config: Llama 3.1 style rope scaling and eos lists") {
  const HFConfig c = parse_hf_config(kLlama3, "llama3/config.json");
  CHECK(c.head_dim == 128);
  CHECK(c.rope_theta == 500000.0);
  CHECK(c.rope_scaling.type == "llama3");
  CHECK(c.rope_scaling.factor == 8.0);
  CHECK(c.rope_scaling.low_freq_factor == 1.0);
  CHECK(c.rope_scaling.high_freq_factor == 4.0);
  CHECK(c.rope_scaling.original_max_position_embeddings == 8192);
  CHECK(c.eos_token_ids == std::vector<int64_t>{128001, 128008, 128009});
  CHECK(c.torch_dtype == "bfloat16");
  // transformers 5 writes the same scaling into rope_parameters.
  const HFConfig t5 = parse_hf_config(R"({"model_type":"llama","hidden_size":2048,"intermediate_size":8192,
    "num_hidden_layers":16,"num_attention_heads":32,"num_key_value_heads":8,"vocab_size":128256,
    "rope_parameters":{"rope_type":"llama3","rope_theta":500000.0,"factor":32.0,"low_freq_factor":1.0,
    "high_freq_factor":4.0,"original_max_position_embeddings":8192},"tie_word_embeddings":true})",
                                      "llama32/config.json");
  CHECK(t5.head_dim == 64);
  CHECK(t5.rope_theta == 500000.0);
  CHECK(t5.rope_scaling.type == "llama3");
  CHECK(t5.rope_scaling.factor == 32.0);
  CHECK(t5.rope_scaling.original_max_position_embeddings == 8192);
  CHECK(t5.tie_word_embeddings);
  // Mistral with explicit head_dim different from hidden/heads, and defaults.
  const HFConfig m = parse_hf_config(R"({"model_type":"mistral","hidden_size":5120,"intermediate_size":14336,
    "num_hidden_layers":40,"num_attention_heads":32,"num_key_value_heads":8,"head_dim":128,"vocab_size":131072,
    "rope_theta":1000000.0,"attention_bias":null,"bos_token_id":null})",
                                     "mistral/config.json");
  CHECK(m.head_dim == 128);
  CHECK(m.rms_norm_eps == 1e-6);
  CHECK(m.bos_token_ids.empty());
  CHECK(m.max_position_embeddings == 2048);
}

TEST_CASE("hf_config: errors name the file and the field") {
  expect_error("{not json", "config");
  expect_error("[1,2]", "config");
  expect_error(R"({"hidden_size": 64})", "model_type");
  expect_error(R"({"model_type": "bert"})", "model_type");
  expect_error(R"({"model_type": "gpt2"})", "n_embd");  // GPT-2 names its sizes its own way
  const std::string base = R"("model_type":"llama","intermediate_size":176,"num_hidden_layers":2,)"
                           R"("num_attention_heads":4,"vocab_size":512)";
  parse_hf_config("{" + base + R"(,"hidden_size":64})", "ok");  // control
  expect_error("{" + base + "}", "hidden_size");
  expect_error("{" + base + R"(,"hidden_size":"64"})", "hidden_size");
  expect_error("{" + base + R"(,"hidden_size":-64})", "hidden_size");
  expect_error("{" + base + R"(,"hidden_size":99999999999999})", "hidden_size");
  expect_error("{" + base + R"(,"hidden_size":66})", "num_attention_heads");
  expect_error("{" + base + R"(,"hidden_size":64,"num_key_value_heads":3})", "num_key_value_heads");
  expect_error("{" + base + R"(,"hidden_size":64,"head_dim":15})", "head_dim");
  expect_error("{" + base + R"(,"hidden_size":64,"rms_norm_eps":0})", "rms_norm_eps");
  expect_error("{" + base + R"(,"hidden_size":64,"tie_word_embeddings":"yes"})", "tie_word_embeddings");
  expect_error("{" + base + R"(,"hidden_size":64,"rope_parameters":{"rope_theta":"big"}})",
               "rope_parameters.rope_theta");
  expect_error("{" + base + R"(,"hidden_size":64,"rope_scaling":{"rope_type":"llama3","factor":8}})",
               "rope_scaling.original_max_position_embeddings");
  expect_error("{" + base + R"(,"hidden_size":64,"eos_token_id":[2,"x"]})", "eos_token_id[1]");
}
