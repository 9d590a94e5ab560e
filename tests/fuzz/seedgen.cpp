// Writes small valid inputs for the fuzz targets with edgellm's own writers (seed corpora are generated,
// not committed): tiny GGUF models, metadata-only copies of given GGUF files, a safetensors file, sharded
// safetensors directories, Hugging Face model directories (f16, bf16, GPTQ, AWQ), GPT-2 encoder.json + vocab.bpe,
// RAG indexes, PEFT and LoRA GGUF adapters and a training checkpoint for builtin:tiny.
// Not a fixture generator: nothing here is a reference output; validity is all a seed needs.
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "models/builtin.h"
#include "models/runner.h"
#include "models/save_gguf.h"
#include "fuzz_files.h"
#include "fuzz_train_setup.h"
#include "rag/index.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/mmap_file.h"
#include "runtime/safetensors.h"
#include "train/llama_grad.h"
#include "train/lora_io.h"

using namespace edgellm;
namespace fs = std::filesystem;

namespace {

// A Llama small enough that a whole file is a few KiB (vocab 300 covers <unk> <s> </s> + 256 bytes).
void write_tiny_gguf(const std::string& path, int64_t dim, DType wt) {
  LlamaConfig c = builtin_config("tiny");
  c.vocab = 300, c.dim = dim, c.ffn_dim = 2 * dim, c.n_layers = 1, c.n_heads = 2, c.n_kv_heads = 1, c.max_ctx = 64;
  c.head_dim = dim / 2;
  Model m;
  m.llama = make_builtin_model(c, 7);
  m.tokenizer = builtin_tokenizer(c.vocab);
  save_llama_gguf(m, path, wt);
}

// Every metadata key of `src` (the tokenizer and hyperparameters) and no tensor.
void write_metadata_only(const std::string& src, const std::string& path) {
  GgufFile f = GgufFile::open(src);
  GgufWriter w;
  for (const auto& [k, v] : f.metadata())
    if (k != "general.alignment") w.set(k, v);
  w.write(path);
}

void write_safetensors(const std::string& path) {
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  std::vector<Tensor> keep;
  const std::pair<const char*, DType> kinds[] = {{"a.f32", DType::F32}, {"b.f16", DType::F16}, {"c.bf16", DType::BF16},
                                                 {"d.i32", DType::I32}, {"e.i8", DType::I8}};
  int64_t rows = 1;
  for (const auto& [name, dt] : kinds) {
    keep.push_back(Tensor::zeros(Shape{rows, 3}, dt));
    w.add(name, keep.back());
    ++rows;
  }
  w.write(path);
}

void write_rag(const std::string& path, const Model& m, bool dense, bool int8) {
  rag::RagIndex ix;
  ix.settings.chunk_tokens = 16;
  ix.settings.overlap = 2;
  ix.settings.dense = dense;
  ix.settings.int8 = int8;
  ix.settings.embed_model = dense ? "builtin:tiny" : "";
  std::vector<rag::Document> docs = {
      {"alice.txt", "Alice lives in Paris. She bakes bread and flies kites on Sundays.", "{}"},
      {"notes/bob.md", "Bob bakes sourdough in Lyon.\n\nHe is a pilot too.", R"({"source":"notes"})"},
  };
  rag::add_documents(ix, std::move(docs), m);
  rag::save_index(ix, path);
}

// A GPT-2 style byte-level BPE tokenizer.json: 256 byte pieces (bytes_to_unicode), a few merges, a special token.
void write_byte_bpe_json(const std::string& path, const std::string& split_regex) {
  nlohmann::json vocab = nlohmann::json::object();
  int shifted = 256, id = 0;
  std::vector<std::string> byte_piece(256);
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(shifted++);
    std::string s;
    if (cp < 0x80) s += static_cast<char>(cp);
    else s += static_cast<char>(0xC0 | (cp >> 6)), s += static_cast<char>(0x80 | (cp & 0x3F));
    byte_piece[b] = s;
    vocab[s] = id++;
  }
  const std::string sp = byte_piece[' '];
  const std::vector<std::pair<std::string, std::string>> merges = {{sp, "t"}, {"h", "e"}, {sp + "t", "he"}, {"l", "l"}, {"e", "ll"}};
  nlohmann::json m = nlohmann::json::array();
  for (const auto& [a, b] : merges) {
    vocab[a + b] = id++;
    m.push_back(a + " " + b);
  }
  nlohmann::json pre = split_regex.empty()
      ? nlohmann::json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}
      : nlohmann::json{{"type", "Sequence"}, {"pretokenizers", {{{"type", "Split"}, {"pattern", {{"Regex", split_regex}}},
                                                                 {"behavior", "Isolated"}},
                                                                {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  nlohmann::json j = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", m}, {"ignore_merges", false}}},
                      {"pre_tokenizer", pre},
                      {"decoder", {{"type", "ByteLevel"}}},
                      {"added_tokens", {{{"id", id}, {"content", "<|endoftext|>"}, {"special", true}}}}};
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail("seedgen: cannot write {}", path);
  const std::string text = j.dump(1);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
}

std::string slurp(const fs::path& p) { return read_file(p.string()); }

void write_bytes(const fs::path& p, const std::string& s) {
  std::FILE* f = std::fopen(p.string().c_str(), "wb");
  if (!f) fail("seedgen: cannot write {}", p.string());
  std::fwrite(s.data(), 1, s.size(), f);
  std::fclose(f);
}

// PEFT adapters for builtin:tiny as save_peft_adapter writes them (LoRA from LlamaGrad's init, B nonzero
// after one step), joined into the fuzz_peft_adapter input: config, separator, safetensors.
void write_peft_seed(const fs::path& dir, const fs::path& out, bool rslora) {
  fuzz::TrainSetup s;
  s.trainer.train_step();
  LoraConfig c = fuzz::train_config().setup.lora_config;
  save_peft_adapter(s.model.llama, c, "builtin:tiny", dir.string());
  std::string config = slurp(dir / "adapter_config.json");
  if (rslora) config.replace(config.find("\"use_rslora\": false"), 19, "\"use_rslora\": true ");
  write_bytes(out, config + std::string(fuzz::kPeftSeparator) + slurp(dir / "adapter_model.safetensors"));
}

// LoRA GGUFs for builtin:tiny as save_lora_gguf writes them: the fuzz::TrainSetup adapter (q/v, r 2) after one
// step, and one on all seven modules of layer 1 (r 1) with alpha 0, which llama.cpp reads as scale 1.
void write_lora_gguf_seeds(const fs::path& dir) {
  fuzz::TrainSetup s;
  s.trainer.train_step();
  save_lora_gguf(s.model.llama, fuzz::train_config().setup.lora_config.alpha, (dir / "tiny-qv.gguf").string());
  Model m = load_model("builtin:tiny");
  LlamaLayer& L = m.llama.weights.layers[1];
  for (int kk = 0; kk < kNumLinearKinds; ++kk) {
    const Tensor& W = L.weight(static_cast<LinearKind>(kk));
    LoraPair& lp = L.lora[kk];
    lp.A = Tensor::zeros(Shape{1, W.shape().cols()});
    lp.B = Tensor::zeros(Shape{W.shape().rows(), 1});
    for (int64_t i = 0; i < W.shape().cols(); ++i) lp.A.data<float>()[i] = 0.01f * static_cast<float>(i % 7);
    for (int64_t o = 0; o < W.shape().rows(); ++o) lp.B.data<float>()[o] = 0.02f * static_cast<float>(o % 5) - 0.04f;
  }
  save_lora_gguf(m.llama, 0.0f, (dir / "tiny-all-l1-alpha0.gguf").string());
}

// A sharded checkpoint packed as fuzz_safetensors_dir reads it: the index JSON (metadata.total_size, weight_map
// onto shard-k.safetensors), then kShardSeparator and each shard as SafetensorsWriter writes it.
void write_sharded_seed(const fs::path& out, const std::vector<std::vector<std::pair<std::string, Tensor>>>& shards,
                        bool with_index) {
  const fs::path tmp = out.parent_path() / "tmp-shard.safetensors";
  nlohmann::json weight_map = nlohmann::json::object();
  uint64_t total = 0;
  std::string packed;
  for (size_t k = 0; k < shards.size(); ++k) {
    SafetensorsWriter w;
    if (k == 0) w.set_metadata("format", "pt");
    for (const auto& [name, t] : shards[k]) {
      w.add(name, t);
      weight_map[name] = fuzz::shard_name(static_cast<int>(k) + 1);
      total += t.nbytes();
    }
    w.write(tmp.string());
    packed += std::string(fuzz::kShardSeparator) + slurp(tmp);
  }
  fs::remove(tmp);
  const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  write_bytes(out, (with_index ? index.dump(2) : "") + packed);
}

void write_sharded_seeds(const fs::path& dir) {
  auto t = [](int64_t r, int64_t k, DType dt) { return Tensor::zeros(Shape{r, k}, dt); };
  // Hugging Face Llama names (dims shrunk), two shards; again without the index (the directory scan).
  const std::vector<std::vector<std::pair<std::string, Tensor>>> hf = {
      {{"model.embed_tokens.weight", t(16, 8, DType::F32)}, {"model.layers.0.input_layernorm.weight", Tensor::zeros(Shape{8})},
       {"model.layers.0.self_attn.q_proj.weight", t(8, 8, DType::F16)}},
      {{"model.layers.0.self_attn.k_proj.weight", t(4, 8, DType::F16)}, {"model.norm.weight", Tensor::zeros(Shape{8})},
       {"lm_head.weight", t(16, 8, DType::BF16)}}};
  write_sharded_seed(dir / "hf-llama-2-shards.bin", hf, true);
  write_sharded_seed(dir / "no-index-2-shards.bin", hf, false);
  // Three shards of mixed dtypes, one of them a single tensor.
  write_sharded_seed(dir / "mixed-3-shards.bin",
                     {{{"a.f32", t(2, 3, DType::F32)}, {"b.i8", t(3, 5, DType::I8)}},
                      {{"c.i32", t(1, 4, DType::I32)}},
                      {{"d.bf16", t(4, 2, DType::BF16)}, {"e.f16", t(1, 1, DType::F16)}, {"f.i64", t(2, 2, DType::I64)}}},
                     true);
}

// A checkpoint of the fuzz::TrainSetup run after one step (what fuzz_checkpoint resumes).
void write_checkpoint_seed(const fs::path& out) {
  fuzz::TrainSetup s;
  s.trainer.train_step();
  s.trainer.save_checkpoint(out.string());
}

// Hugging Face model directories packed as fuzz_hf_model reads them (config.json, then named files): Llama in
// f16, Qwen2 (q/k/v biases, tied embeddings) in bf16, GPTQ 4-bit act-order (g_idx), GPTQ 3-bit described only by
// the older quantize_config.json, AWQ 4-bit GEMM. Values are random: only names, shapes and dtypes must be valid.
void write_hf_model_seeds(const fs::path& dir) {
  constexpr int64_t C = 32, F = 64, NH = 2, KVH = 2, HD = 16, V = 48, G = 32;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  auto floats = [&](const Shape& shape, DType dt) {
    Tensor t = Tensor::empty(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
    return t.to(dt);
  };
  auto words = [&](const Shape& shape, const std::function<int32_t(int64_t)>& value) {
    Tensor t = Tensor::empty(shape, DType::I32);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<int32_t>()[i] = value(i);
    return t;
  };
  struct Quant {
    const char* method = "";  // "", "gptq" or "awq"
    int bits = 4;
    bool act_order = false;
  };
  auto write_seed = [&](const std::string& name, const std::string& type, bool qwen_bias, bool tied, DType dt, Quant q,
                        bool older_quant_file) {
    SafetensorsWriter w;
    w.add("model.embed_tokens.weight", floats({V, C}, dt));
    w.add("model.norm.weight", floats({C}, dt));
    if (!tied) w.add("lm_head.weight", floats({V, C}, dt));
    const std::string p = "model.layers.0.";
    w.add(p + "input_layernorm.weight", floats({C}, dt));
    w.add(p + "post_attention_layernorm.weight", floats({C}, dt));
    const std::pair<const char*, std::pair<int64_t, int64_t>> linears[] = {
        {"self_attn.q_proj", {NH * HD, C}}, {"self_attn.k_proj", {KVH * HD, C}}, {"self_attn.v_proj", {KVH * HD, C}},
        {"self_attn.o_proj", {C, NH * HD}}, {"mlp.gate_proj", {F, C}},           {"mlp.up_proj", {F, C}},
        {"mlp.down_proj", {C, F}}};
    for (const auto& [lin, nk] : linears) {
      const auto [N, K] = nk;
      const std::string pre = p + lin;
      if (qwen_bias && std::string(lin).ends_with("_proj") && std::string(lin).find("self_attn") == 0 &&
          std::string(lin) != "self_attn.o_proj")
        w.add(pre + ".bias", floats({N}, dt));
      auto random_word = [&](int64_t) { return static_cast<int32_t>(rng()); };
      if (!*q.method) {
        w.add(pre + ".weight", floats({N, K}, dt));
      } else if (std::string(q.method) == "awq") {
        w.add(pre + ".qweight", words({K, N / 8}, random_word));
        w.add(pre + ".qzeros", words({K / G, N / 8}, random_word));
        w.add(pre + ".scales", floats({K / G, N}, DType::F16));
      } else {
        w.add(pre + ".qweight", words({K * q.bits / 32, N}, random_word));
        w.add(pre + ".qzeros", words({K / G, N * q.bits / 32}, random_word));
        w.add(pre + ".scales", floats({K / G, N}, DType::F16));
        const int64_t ng = K / G;
        w.add(pre + ".g_idx", words({K}, [&](int64_t k) { return static_cast<int32_t>(q.act_order ? k % ng : k / G); }));
      }
    }
    nlohmann::json cfg = {{"architectures", {type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}},
                          {"model_type", type}, {"hidden_size", C}, {"intermediate_size", F}, {"num_hidden_layers", 1},
                          {"num_attention_heads", NH}, {"num_key_value_heads", KVH}, {"head_dim", HD},
                          {"vocab_size", V}, {"max_position_embeddings", 64}, {"rms_norm_eps", 1e-5},
                          {"rope_theta", 10000.0}, {"tie_word_embeddings", tied}, {"bos_token_id", 1},
                          {"eos_token_id", 2}, {"torch_dtype", dt == DType::F16 ? "float16" : dt == DType::BF16 ? "bfloat16" : "float32"}};
    nlohmann::json qc;
    if (*q.method) {
      qc = {{"quant_method", q.method}, {"bits", q.bits}, {"group_size", G}};
      if (std::string(q.method) == "gptq") qc.update({{"desc_act", q.act_order}, {"sym", true}, {"checkpoint_format", "gptq"}});
      else qc.update({{"version", "gemm"}, {"zero_point", true}});
      if (!older_quant_file) cfg["quantization_config"] = qc;
    }
    const fs::path tmp = dir / "tmp-model.safetensors";
    w.write(tmp.string());
    std::vector<std::pair<std::string, std::string>> files = {{"config.json", cfg.dump(1)}, {"model.safetensors", slurp(tmp)}};
    if (older_quant_file) files.push_back({"quantize_config.json", qc.dump(1)});
    fs::remove(tmp);
    write_bytes(dir / name, fuzz::join_files(files));
  };
  write_seed("llama-f16.hf", "llama", false, false, DType::F16, {}, false);
  write_seed("qwen2-bf16-tied.hf", "qwen2", true, true, DType::BF16, {}, false);
  write_seed("llama-gptq4-act-order.hf", "llama", false, false, DType::F16, {"gptq", 4, true}, false);
  write_seed("llama-gptq3-quantize-config.hf", "llama", false, false, DType::F16, {"gptq", 3, false}, true);
  write_seed("llama-awq4.hf", "llama", false, false, DType::F16, {"awq", 4, false}, false);
}

// GPT-2's encoder.json + vocab.bpe as fuzz_gpt2_tokenizer reads them: the byte-level vocabulary of
// write_byte_bpe_json, with and without the "#version" header line, CRLF line ends in one.
void write_gpt2_seeds(const fs::path& dir) {
  const nlohmann::json j = nlohmann::json::parse(slurp(dir / "../tokenizer_json/byte-bpe-gpt2.json"));
  nlohmann::json enc = j["model"]["vocab"];
  enc["<|endoftext|>"] = enc.size();
  std::string bpe;
  for (const auto& m : j["model"]["merges"]) bpe += m.get<std::string>() + "\n";
  write_bytes(dir / "gpt2.bin", fuzz::join_files({{"encoder.json", enc.dump()}, {"vocab.bpe", "#version: 0.2\n" + bpe}}));
  std::string crlf;
  for (const auto& m : j["model"]["merges"]) crlf += m.get<std::string>() + "\r\n";
  write_bytes(dir / "gpt2-crlf.bin", fuzz::join_files({{"encoder.json", enc.dump(1)}, {"vocab.bpe", crlf}}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: seedgen OUT_DIR [FIXTURE.gguf ...]\n");
    return 2;
  }
  const fs::path out = argv[1];
  for (const char* d : {"gguf", "safetensors", "rag_index", "tokenizer_json", "peft_adapter", "checkpoint", "lora_gguf",
                        "safetensors_dir", "hf_model", "gpt2_tokenizer", "tmp"})
    fs::create_directories(out / d);
  write_tiny_gguf((out / "gguf/tiny-f32.gguf").string(), 8, DType::F32);
  write_tiny_gguf((out / "gguf/tiny-q4_0.gguf").string(), 32, DType::Q4_0);
  write_tiny_gguf((out / "gguf/tiny-q8_0.gguf").string(), 32, DType::Q8_0);
  for (int i = 2; i < argc; ++i)
    write_metadata_only(argv[i], (out / "gguf" / ("meta-" + fs::path(argv[i]).filename().string())).string());
  write_byte_bpe_json((out / "tokenizer_json/byte-bpe-gpt2.json").string(), "");
  write_byte_bpe_json((out / "tokenizer_json/byte-bpe-llama3.json").string(),
                      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");
  write_safetensors((out / "safetensors/tiny.safetensors").string());
  Model m = load_model("builtin:tiny");
  write_rag((out / "rag_index/bm25.rag").string(), m, false, false);
  write_rag((out / "rag_index/f32.rag").string(), m, true, false);
  write_rag((out / "rag_index/i8.rag").string(), m, true, true);
  write_peft_seed(out / "tmp/peft", out / "peft_adapter/tiny-qv.peft", false);
  write_peft_seed(out / "tmp/peft", out / "peft_adapter/tiny-qv-rslora.peft", true);
  write_checkpoint_seed(out / "checkpoint/tiny-lora-adamw.safetensors");
  write_lora_gguf_seeds(out / "lora_gguf");
  write_sharded_seeds(out / "safetensors_dir");
  write_hf_model_seeds(out / "hf_model");
  write_gpt2_seeds(out / "gpt2_tokenizer");
  fs::remove_all(out / "tmp");
  return 0;
}
