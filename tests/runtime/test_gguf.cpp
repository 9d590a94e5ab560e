// GGUF reader and writer against llama.cpp's fixture files: metadata values, tensor
// names/types/shapes/sizes from kquant/dequant.json, F32 data equal to model.safetensors, round trip.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/sha256.h"
#include "runtime/mmap_file.h"
#include "runtime/safetensors.h"

using namespace edgellm;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& rel) { return std::string(EDGELLM_FIXTURES_DIR) + "/" + rel; }

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "edgellm_test_gguf";
  fs::create_directories(dir);
  return (dir / name).string();
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

}  // namespace

TEST_CASE("gguf: the test's sha256 is right") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string m56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha256_hex(m56) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("gguf: tiny-llama-f32 metadata") {
  const GgufFile f = GgufFile::open(fixture("tiny-llama/gguf/tiny-llama-f32.gguf"));
  CHECK(f.version() == 3);
  CHECK(f.alignment() == 32);
  CHECK(f.data_offset() % 32 == 0);
  CHECK(f.get_string("general.architecture") == "llama");
  CHECK(f.get_u32("llama.context_length") == 256);
  CHECK(f.get_u32("llama.embedding_length") == 64);
  CHECK(f.get_u32("llama.feed_forward_length") == 176);
  CHECK(f.get_u32("llama.block_count") == 2);
  CHECK(f.get_u32("llama.attention.head_count") == 4);
  CHECK(f.get_u32("llama.attention.head_count_kv") == 2);
  CHECK(f.get_f32("llama.rope.freq_base") == 10000.0f);
  const float eps = f.get_f32("llama.attention.layer_norm_rms_epsilon");
  CHECK(eps == 9.99999975e-06f);
  CHECK(f.find("llama.attention.layer_norm_rms_epsilon")->type() == GgufType::F32);
  CHECK(f.get_string("tokenizer.ggml.model") == "llama");
  CHECK(f.get_strings("tokenizer.ggml.tokens").size() == 512);
  CHECK(f.get_f32_array("tokenizer.ggml.scores").size() == 512);
  CHECK(f.get_i32_array("tokenizer.ggml.token_type").size() == 512);
  CHECK(f.get_strings("tokenizer.ggml.tokens")[1] == "<s>");
  CHECK(f.get_u32("tokenizer.ggml.bos_token_id") == 1);
  CHECK(f.get_u32("tokenizer.ggml.eos_token_id") == 2);
  CHECK(f.get_bool("tokenizer.ggml.add_bos_token") == true);
  // Defaults apply only to missing keys; a present key of the wrong type throws.
  CHECK(f.get_u32("no.such.key", 7) == 7);
  CHECK(f.get_bool("tokenizer.ggml.add_space_prefix", true) == true);
  CHECK_THROWS_AS(f.get_u32("no.such.key"), FormatError);
  CHECK_THROWS_AS(f.get_string("llama.block_count"), FormatError);
  CHECK_THROWS_AS(f.get_u32("general.architecture", 3), FormatError);
  CHECK_THROWS_AS(f.get_f32("llama.block_count"), FormatError);
  CHECK_THROWS_AS(f.get_strings("tokenizer.ggml.scores"), FormatError);
  try {
    f.get_string("llama.block_count");
  } catch (const FormatError& e) {
    CHECK(e.field() == "llama.block_count");
    CHECK(std::string(e.what()).find("tiny-llama-f32.gguf") != std::string::npos);
  }
  CHECK_THROWS_AS(f.tensor("blk.9.attn_q.weight"), FormatError);
}

TEST_CASE("gguf: tiny-llama-f32 tensors equal model.safetensors (Q/K rows permuted per head)") {
  const GgufFile g = GgufFile::open(fixture("tiny-llama/gguf/tiny-llama-f32.gguf"));
  const SafetensorsFile s = SafetensorsFile::open(fixture("tiny-llama/model/model.safetensors"));
  CHECK(g.tensors().size() == 21);
  CHECK(s.tensors().size() == 21);
  const GgufTensorInfo* q = g.find_tensor("blk.0.attn_q.weight");
  REQUIRE(q);
  CHECK(q->ne[0] == 64);
  CHECK(q->ne[1] == 64);
  const GgufTensorInfo* k = g.find_tensor("blk.0.attn_k.weight");
  REQUIRE(k);
  CHECK(k->shape == Shape{32, 64});
  CHECK(k->ne[0] == 64);
  CHECK(k->ne[1] == 32);
  CHECK(g.find_tensor("blk.1.ffn_down.weight")->shape == Shape{64, 176});
  CHECK(g.find_tensor("output_norm.weight")->shape == Shape{64});

  struct Pair {
    const char* gguf;
    const char* hf;
  };
  const Pair same[] = {{"token_embd.weight", "model.embed_tokens.weight"},
                       {"output.weight", "lm_head.weight"},
                       {"output_norm.weight", "model.norm.weight"},
                       {"blk.1.attn_v.weight", "model.layers.1.self_attn.v_proj.weight"},
                       {"blk.1.attn_output.weight", "model.layers.1.self_attn.o_proj.weight"},
                       {"blk.0.ffn_gate.weight", "model.layers.0.mlp.gate_proj.weight"},
                       {"blk.0.ffn_up.weight", "model.layers.0.mlp.up_proj.weight"},
                       {"blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"},
                       {"blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"},
                       {"blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight"}};
  for (const auto& p : same) {
    CAPTURE(p.gguf);
    const Tensor a = g.tensor(p.gguf), b = s.tensor(p.hf);
    CHECK(a.shape() == b.shape());
    CHECK(a.dtype() == DType::F32);
    CHECK(same_bytes(a, b));
  }
  // attn_q / attn_k: within each head of d = 16 rows, HF row j -> GGUF row 2j, HF row d/2+j -> 2j+1.
  const int d = 16;
  for (const auto& entry :
       {std::tuple{"blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight", 4},
        std::tuple{"blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight", 2}}) {
    // (no structured binding: clang 14 cannot capture one in CAPTURE)
    const char *gname = std::get<0>(entry), *hname = std::get<1>(entry);
    const int heads = std::get<2>(entry);
    CAPTURE(gname);
    const Tensor a = g.tensor(gname), b = s.tensor(hname);
    REQUIRE(a.shape() == b.shape());
    const int64_t cols = a.dim(1);
    bool ok = true;
    for (int h = 0; h < heads; ++h)
      for (int j = 0; j < d / 2; ++j)
        for (int half = 0; half < 2; ++half) {
          const int64_t hf_row = h * d + half * (d / 2) + j, g_row = h * d + 2 * j + half;
          ok = ok && std::memcmp(a.data<float>() + g_row * cols, b.data<float>() + hf_row * cols, cols * 4) == 0;
        }
    CHECK(ok);
  }
}

TEST_CASE("gguf: tiny-qwen2-f32 metadata and biases") {
  const GgufFile g = GgufFile::open(fixture("tiny-qwen2/gguf/tiny-qwen2-f32.gguf"));
  const SafetensorsFile s = SafetensorsFile::open(fixture("tiny-qwen2/model/model.safetensors"));
  CHECK(g.get_string("general.architecture") == "qwen2");
  CHECK(g.get_u32("qwen2.context_length") == 256);
  CHECK(g.get_u32("qwen2.attention.head_count") == 4);
  CHECK(g.get_u32("qwen2.attention.head_count_kv") == 2);
  CHECK(g.get_f32("qwen2.rope.freq_base") == 1000000.0f);
  CHECK(g.get_f32("qwen2.attention.layer_norm_rms_epsilon") == 9.99999975e-06f);
  CHECK_FALSE(g.has("qwen2.rope.dimension_count"));
  CHECK(g.find_tensor("output.weight") == nullptr);
  CHECK(g.get_strings("tokenizer.ggml.tokens").size() == 512);
  // No permutation for qwen2: every tensor equals its HF twin.
  CHECK(same_bytes(g.tensor("blk.0.attn_q.weight"), s.tensor("model.layers.0.self_attn.q_proj.weight")));
  CHECK(same_bytes(g.tensor("blk.0.attn_q.bias"), s.tensor("model.layers.0.self_attn.q_proj.bias")));
  CHECK(same_bytes(g.tensor("blk.1.attn_k.bias"), s.tensor("model.layers.1.self_attn.k_proj.bias")));
  CHECK(g.tensor("blk.1.attn_v.bias").shape() == Shape{32});
}

TEST_CASE("gguf: kquant files match dequant.json (names, types, ne, bytes)") {
  const auto j = nlohmann::json::parse(read_file(fixture("kquant/dequant.json")));
  int files = 0;
  for (const auto& item : j["files"].items()) {
    const std::string fname = item.key();  // (no structured binding: clang 14 cannot capture one)
    const auto& info = item.value();
    CAPTURE(fname);
    const GgufFile g = GgufFile::open(fixture("kquant/" + fname));
    CHECK(g.file()->size() == info["file_size"].get<uint64_t>());
    CHECK(g.get_u32("general.file_type") == info["general.file_type"].get<uint32_t>());
    CHECK(g.tensors().size() == info["tensors"].size());
    for (const auto& titem : info["tensors"].items()) {
      const std::string tname = titem.key();
      const auto& t = titem.value();
      CAPTURE(tname);
      const GgufTensorInfo* ti = g.find_tensor(tname);
      REQUIRE(ti);
      std::string type(dtype_name(ti->dtype));
      for (auto& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      CHECK(type == t["type"].get<std::string>());
      const auto ne = t["ne"].get<std::vector<int64_t>>();
      REQUIRE(ne.size() == static_cast<size_t>(ti->n_dims));
      for (size_t d = 0; d < ne.size(); ++d) {
        CHECK(ti->ne[d] == ne[d]);
        CHECK(ti->shape[static_cast<int>(ne.size() - 1 - d)] == ne[d]);
      }
      CHECK(ti->nbytes == t["n_bytes"].get<uint64_t>());
      const Tensor view = g.tensor(*ti);
      CHECK(view.nbytes() == ti->nbytes);
      CHECK(sha256_hex(std::string_view(reinterpret_cast<const char*>(view.raw()), view.nbytes())) == t["sha256"].get<std::string>());
    }
    ++files;
  }
  CHECK(files == 11);
}

TEST_CASE("gguf: tiny-llama q8_0/q4_0/f16 tensor types match manifest.json") {
  const auto m = nlohmann::json::parse(read_file(fixture("manifest.json")));
  int files = 0;
  for (const auto& item : m["gguf"]["files"].items()) {
    const std::string rel = item.key();  // (no structured binding: clang 14 cannot capture one)
    const auto& info = item.value();
    CAPTURE(rel);
    const GgufFile g = GgufFile::open(fixture(rel));
    CHECK(g.file()->size() == info["bytes"].get<uint64_t>());
    if (info["general.file_type"].is_null()) CHECK_FALSE(g.has("general.file_type"));
    else CHECK(g.get_u32("general.file_type") == info["general.file_type"].get<uint32_t>());
    CHECK(g.tensors().size() == info["tensor_type_by_name"].size());
    for (const auto& titem : info["tensor_type_by_name"].items()) {
      const std::string tname = titem.key();
      const auto& type = titem.value();
      CAPTURE(tname);
      const GgufTensorInfo* ti = g.find_tensor(tname);
      REQUIRE(ti);
      std::string ours(dtype_name(ti->dtype));
      for (auto& c : ours) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      CHECK(ours == type.get<std::string>());
    }
    ++files;
  }
  CHECK(files == 7);
}

TEST_CASE("gguf: writer round trip keeps metadata and tensor bytes") {
  for (const char* rel : {"tiny-llama/gguf/tiny-llama-q4_0.gguf", "kquant/model-q4_k_m.gguf",
                          "tiny-qwen2/gguf/tiny-qwen2-f16.gguf"}) {
    CAPTURE(rel);
    const GgufFile a = GgufFile::open(fixture(rel));
    const std::string out = temp_path("roundtrip.gguf");
    GgufWriter::from(a).write(out);
    const GgufFile b = GgufFile::open(out);
    CHECK(b.version() == a.version());
    REQUIRE(b.metadata().size() == a.metadata().size());
    for (size_t i = 0; i < a.metadata().size(); ++i) {
      CAPTURE(a.metadata()[i].first);
      CHECK(b.metadata()[i].first == a.metadata()[i].first);
      CHECK(b.metadata()[i].second == a.metadata()[i].second);
    }
    REQUIRE(b.tensors().size() == a.tensors().size());
    for (size_t i = 0; i < a.tensors().size(); ++i) {
      const auto& ta = a.tensors()[i];
      const auto& tb = b.tensors()[i];
      CAPTURE(ta.name);
      CHECK(tb.name == ta.name);
      CHECK(tb.dtype == ta.dtype);
      CHECK(tb.shape == ta.shape);
      CHECK(tb.offset == ta.offset);  // same alignment rule as llama.cpp's writer
      CHECK(same_bytes(a.tensor(ta), b.tensor(tb)));
    }
    // The header is byte-identical too: both writers lay the file out the same way.
    const size_t hdr = static_cast<size_t>(a.data_offset());
    CHECK(b.data_offset() == a.data_offset());
    CHECK(std::memcmp(a.file()->data(), b.file()->data(), hdr) == 0);
  }
}

TEST_CASE("gguf: a tensor shape that disagrees with the expected one names the tensor") {
  const GgufFile g = GgufFile::open(fixture("tiny-llama/gguf/tiny-llama-f32.gguf"));
  CHECK(g.tensor("blk.0.attn_k.weight", Shape{32, 64}).dtype() == DType::F32);
  try {
    g.tensor("blk.0.attn_k.weight", Shape{64, 64});
    FAIL("expected a shape error");
  } catch (const FormatError& e) {
    CHECK(e.field() == "blk.0.attn_k.weight");
    CHECK(std::string(e.what()).find("[32, 64]") != std::string::npos);
  }
}

TEST_CASE("gguf: F16 files hold the round-to-nearest f16 of the F32 files") {
  for (const char* m : {"tiny-llama", "tiny-qwen2"}) {
    CAPTURE(m);
    const GgufFile a = GgufFile::open(fixture(std::string(m) + "/gguf/" + m + "-f32.gguf"));
    const GgufFile b = GgufFile::open(fixture(std::string(m) + "/gguf/" + m + "-f16.gguf"));
    REQUIRE(a.tensors().size() == b.tensors().size());
    int f16 = 0;
    for (const auto& ta : a.tensors()) {
      CAPTURE(ta.name);
      const GgufTensorInfo* tb = b.find_tensor(ta.name);
      REQUIRE(tb);
      CHECK(tb->shape == ta.shape);
      const Tensor x = a.tensor(ta), y = b.tensor(*tb);
      if (tb->dtype == DType::F32) {
        CHECK(ta.n_dims == 1);  // only 1-D norms and biases stay f32
        CHECK(same_bytes(x, y));
        continue;
      }
      REQUIRE(tb->dtype == DType::F16);
      ++f16;
      int64_t bad = 0;
      for (int64_t i = 0; i < x.numel(); ++i) bad += f32_to_f16(x.data<float>()[i]) != y.data<uint16_t>()[i];
      CHECK(bad == 0);
    }
    CHECK(f16 == (std::string(m) == "tiny-llama" ? 16 : 15));  // qwen2: tied, no output.weight
  }
}
