// llama.cpp file types: names in any case, the label of a pure file, and llama-quantize's per-tensor recipe,
// checked against the type counts llama.cpp's loader prints for Llama-2-7B files (226 matrices).
#include <doctest/doctest.h>

#include <map>

#include "models/file_type.h"

using namespace edgellm;

namespace {

// Llama-2-7B's shape: 32 blocks, dim 4096, FFN 11008, 32 heads, no GQA.
LlamaConfig llama2_7b() {
  LlamaConfig c;
  c.n_layers = 32, c.dim = 4096, c.ffn_dim = 11008, c.n_heads = 32, c.n_kv_heads = 32, c.head_dim = 128;
  c.vocab = 32000;
  return c;
}

std::map<std::string, int> type_counts(const char* ftype, const LlamaConfig& c) {
  const FileTypeInfo ft = *file_type_from_name(ftype);
  std::map<std::string, int> n;
  auto add = [&](const std::string& name) { ++n[std::string(dtype_name(file_type_tensor_type(ft, name, c)))]; };
  add("token_embd.weight");
  add("output.weight");
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (const char* m : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"})
      add("blk." + std::to_string(l) + "." + m + ".weight");
  return n;
}

}  // namespace

TEST_CASE("file types: names in any case; a pure K-quant file gets no mix's label") {
  REQUIRE(file_type_from_name("Q4_K_M"));
  CHECK(file_type_from_name("q4_k_m")->ftype == FileType::Q4_K_M);
  CHECK(file_type_from_name("q4_K_m")->base == DType::Q4_K);
  CHECK(static_cast<uint32_t>(file_type_from_name("Q3_K_S")->ftype) == 11);
  CHECK(static_cast<uint32_t>(file_type_from_name("bf16")->ftype) == 32);
  CHECK_FALSE(file_type_from_name("q4_k"));
  CHECK_FALSE(file_type_from_name("q4_k_x"));
  CHECK(pure_file_type(DType::Q4_0) == FileType::Q4_0);
  CHECK(pure_file_type(DType::Q6_K) == FileType::Q6_K);
  CHECK_FALSE(pure_file_type(DType::Q4_K));  // all-Q4_K is neither Q4_K_M nor Q4_K_S
  CHECK_FALSE(pure_file_type(DType::GINT4_G32));
}

TEST_CASE("file types: llama-quantize's mixes on Llama-2-7B give llama.cpp's tensor type counts") {
  const LlamaConfig c = llama2_7b();
  using M = std::map<std::string, int>;
  CHECK(type_counts("Q4_K_M", c) == M{{"q4_k", 193}, {"q6_k", 33}});
  CHECK(type_counts("Q5_K_M", c) == M{{"q5_k", 193}, {"q6_k", 33}});
  CHECK(type_counts("Q4_K_S", c) == M{{"q4_k", 217}, {"q5_k", 8}, {"q6_k", 1}});
  CHECK(type_counts("Q5_K_S", c) == M{{"q5_k", 225}, {"q6_k", 1}});
  CHECK(type_counts("Q3_K_S", c) == M{{"q3_k", 225}, {"q6_k", 1}});
  CHECK(type_counts("Q3_K_M", c) == M{{"q3_k", 129}, {"q4_k", 92}, {"q5_k", 4}, {"q6_k", 1}});
  CHECK(type_counts("Q3_K_L", c) == M{{"q3_k", 129}, {"q5_k", 96}, {"q6_k", 1}});
  CHECK(type_counts("Q4_0", c) == M{{"q4_0", 225}, {"q6_k", 1}});
  CHECK(type_counts("Q8_0", c) == M{{"q8_0", 226}});
  CHECK(type_counts("F16", c) == M{{"f16", 226}});
  // Which blocks: the first and last eighth and every third between get Q6_K attn_v/ffn_down in Q4_K_M.
  const FileTypeInfo km = *file_type_from_name("Q4_K_M");
  CHECK(file_type_tensor_type(km, "blk.3.attn_v.weight", c) == DType::Q6_K);
  CHECK(file_type_tensor_type(km, "blk.4.attn_v.weight", c) == DType::Q4_K);
  CHECK(file_type_tensor_type(km, "blk.6.ffn_down.weight", c) == DType::Q6_K);
  CHECK(file_type_tensor_type(km, "blk.28.ffn_down.weight", c) == DType::Q6_K);
  CHECK(file_type_tensor_type(km, "blk.27.ffn_up.weight", c) == DType::Q4_K);
}

TEST_CASE("file types: rows that are not a multiple of 256 take llama.cpp's fallbacks") {
  LlamaConfig c = llama2_7b();
  c.ffn_dim = 11008 + 32;  // ffn_down rows: a multiple of 32, not of 256
  const FileTypeInfo km = *file_type_from_name("Q4_K_M");
  CHECK(file_type_tensor_type(km, "blk.0.ffn_down.weight", c) == DType::Q8_0);  // Q6_K → Q8_0
  CHECK(file_type_tensor_type(km, "blk.4.ffn_down.weight", c) == DType::Q5_0);  // Q4_K → Q5_0
  CHECK(file_type_tensor_type(*file_type_from_name("Q5_K_S"), "blk.4.ffn_down.weight", c) == DType::Q5_1);
  c.ffn_dim = 11008 + 8;  // not even a multiple of 32
  CHECK(file_type_tensor_type(km, "blk.4.ffn_down.weight", c) == DType::F16);
  c.dim = 4096 + 32;  // output rows: Q8_0 when the K-quant block does not fit
  CHECK(file_type_tensor_type(km, "output.weight", c) == DType::Q8_0);
}
