// Shapes, initialization and the streaming row packer of the study's pretraining.
// Not a data generator: the text comes from pretrain_example() (bench/study/pretrain_data.h).
#include "bench/study/pretrain.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "models/arch.h"
#include "models/sampler.h"
#include "runtime/parse_meter.h"
#include "runtime/error.h"

namespace edgellm::study {

const std::vector<std::string>& pretrain_sizes() {
  static const std::vector<std::string> s = {"s", "m", "l"};
  return s;
}

const std::vector<std::string>& pretrain_archs() {
  static const std::vector<std::string> a = {"llama", "qwen3"};
  return a;
}

LlamaConfig pretrain_config(const std::string& size, int64_t vocab, const std::string& arch) {
  LlamaConfig c;
  c.arch = arch;
  c.name = "edgellm-study-" + size;
  c.vocab = vocab;
  c.tied_embeddings = true;
  c.max_ctx = 512;
  c.bos_id = 1, c.eos_id = 2;
  int64_t head_dim = 32;
  if (size == "s") {
    c.dim = 128, c.n_layers = 4, c.n_heads = 4, c.ffn_dim = 384;
  } else if (size == "m") {
    c.dim = 192, c.n_layers = 6, c.n_heads = 6, c.ffn_dim = 512;
  } else if (size == "l") {
    c.dim = 384, c.n_layers = 10, c.n_heads = 6, c.ffn_dim = 1024, head_dim = 64;
  } else {
    fail("unknown pretraining size '{}': expected s, m or l", size);
  }
  if (arch == "llama") {
    c.rope_pairing = RopePairing::Interleaved;  // llama.cpp's order: GGUF export moves no rows
  } else if (arch == "qwen3") {
    c.name += "-qwen3";
    c.block = arch_by_name("qwen3").block;  // QK-norm
    c.rope_pairing = RopePairing::NeoX;     // Qwen3's GGUF keeps rotate-half rows: export moves none
  } else {
    fail("unknown pretraining architecture '{}': expected llama or qwen3", arch);
  }
  c.n_kv_heads = c.n_heads;
  c.head_dim = head_dim;
  c.validate("pretrain size " + size);
  return c;
}

int64_t pretrain_params(const LlamaConfig& c) {
  const int64_t C = c.dim, F = c.ffn_dim;
  const int64_t per_layer = 2 * C                                      // attention and MLP norms
                            + C * c.q_dim() + 2 * C * c.kv_dim() + c.q_dim() * C  // q, k, v, o
                            + 3 * C * F                                 // gate, up, down
                            + (c.block.qk_norm ? 2 * c.head_dim : 0);   // q and k norms, shared by the heads
  return c.vocab * C + c.n_layers * per_layer + C;  // tied embedding, the blocks, the final norm
}

int64_t tokens_for(const LlamaConfig& c, double tokens_per_param) {
  EDGE_CHECK(tokens_per_param > 0 && tokens_per_param <= 1e6, "--tokens-per-param must be in (0, 1e6], got {}",
             tokens_per_param);
  return static_cast<int64_t>(std::llround(tokens_per_param * static_cast<double>(pretrain_params(c))));
}

namespace {

Tensor normal_tensor(const std::string& name, Shape shape, uint64_t seed, float stddev) {
  Tensor t = Tensor::empty(shape);
  float* p = t.data<float>();
  Rng rng(seed);
  for (int64_t i = 0; i < t.numel(); i += 2) {
    const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    p[i] = stddev * static_cast<float>(r * std::cos(2 * M_PI * u2));
    if (i + 1 < t.numel()) p[i + 1] = stddev * static_cast<float>(r * std::sin(2 * M_PI * u2));
  }
  t.name = name;
  return t;
}

Tensor ones(const std::string& name, int64_t n) {
  Tensor t = Tensor::empty({n});
  std::fill(t.data<float>(), t.data<float>() + n, 1.0f);
  t.name = name;
  return t;
}

}  // namespace

LlamaModel init_pretrain_model(const LlamaConfig& c, uint64_t seed) {
  LlamaModel m;
  m.config = c;
  m.source = "pretrain:" + c.name;
  uint64_t stream = seed * 1000003ULL + 17;
  auto mat = [&](const std::string& name, int64_t out, int64_t in) {
    return normal_tensor(name, {out, in}, ++stream, 0.02f);
  };
  m.weights.tok_embd = mat("token_embd.weight", c.vocab, c.dim);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LlamaLayer L;
    L.attn_norm = ones(p + "attn_norm.weight", c.dim);
    L.wq = mat(p + "attn_q.weight", c.q_dim(), c.dim);
    L.wk = mat(p + "attn_k.weight", c.kv_dim(), c.dim);
    L.wv = mat(p + "attn_v.weight", c.kv_dim(), c.dim);
    L.wo = mat(p + "attn_output.weight", c.dim, c.q_dim());
    if (c.block.qk_norm) {
      L.q_norm = ones(p + "attn_q_norm.weight", c.head_dim);
      L.k_norm = ones(p + "attn_k_norm.weight", c.head_dim);
    }
    L.ffn_norm = ones(p + "ffn_norm.weight", c.dim);
    L.w_gate = mat(p + "ffn_gate.weight", c.ffn_dim, c.dim);
    L.w_up = mat(p + "ffn_up.weight", c.ffn_dim, c.dim);
    L.w_down = mat(p + "ffn_down.weight", c.dim, c.ffn_dim);
    m.weights.layers.push_back(std::move(L));
  }
  m.weights.out_norm = ones("output_norm.weight", c.dim);
  m.weights.output = m.weights.tok_embd;
  m.validate();
  return m;
}

std::vector<std::string> tokenizer_sample(const PretrainMix& mix, const std::vector<std::string>& general,
                                          int64_t n_examples) {
  std::vector<std::string> out;
  for (int64_t k = 0; k < n_examples; ++k)
    for (const Segment& s : pretrain_example(mix, k, 0.5, general)) out.push_back(s.text);
  return out;
}

Example encode_example(const PretrainExample& ex, const Tokenizer& tok) {
  Example e;
  e.ids.push_back(tok.bos_id());
  e.target.push_back(0);
  for (const Segment& s : ex) {
    const std::vector<int32_t> ids = tok.encode(s.text);
    e.ids.insert(e.ids.end(), ids.begin(), ids.end());
    e.target.insert(e.target.end(), ids.size(), s.scored ? 1 : 0);
  }
  return e;
}

// ---- the stream ---------------------------------------------------------------------------------

PretrainStream::PretrainStream(PretrainMix mix, const Tokenizer& tok, std::vector<std::string> general,
                               int64_t seq_len, int64_t total_tokens, int32_t window)
    : mix_(std::move(mix)), tok_(tok), general_(std::move(general)), T_(seq_len),
      total_tokens_(std::max<int64_t>(1, total_tokens)), window_(std::max(1, window)) {
  EDGE_CHECK(T_ >= 8, "pretraining rows need at least 8 tokens, got {}", T_);
  EDGE_CHECK(tok_.bos_id() >= 0, "the pretraining tokenizer needs a BOS token");
  refill();
}

PretrainStream::Pending PretrainStream::make(int64_t k, double progress) {
  Pending p{k, progress, encode_example(pretrain_example(mix_, k, progress, general_), tok_)};
  if (static_cast<int64_t>(p.ex.ids.size()) > T_) {
    p.ex.ids.resize(static_cast<size_t>(T_));
    p.ex.target.resize(static_cast<size_t>(T_));
    ++cut_;
  }
  return p;
}

void PretrainStream::refill() {
  while (static_cast<int32_t>(pending_.size()) < window_) {
    const double progress = std::min(1.0, static_cast<double>(gen_tokens_) / static_cast<double>(total_tokens_));
    pending_.push_back(make(next_k_++, progress));
    gen_tokens_ += static_cast<int64_t>(pending_.back().ex.ids.size());
  }
}

// One row: whole examples, first fit in stream order (the oldest pending one always fits an empty row).
void PretrainStream::produce(std::vector<int32_t>& ids, std::vector<int32_t>& targets) {
  std::vector<int32_t> toks;
  std::vector<uint8_t> scored;
  toks.reserve(static_cast<size_t>(T_));
  for (;;) {
    const int64_t room = T_ - static_cast<int64_t>(toks.size());
    auto it = std::find_if(pending_.begin(), pending_.end(),
                           [&](const Pending& p) { return static_cast<int64_t>(p.ex.ids.size()) <= room; });
    if (it == pending_.end()) break;
    toks.insert(toks.end(), it->ex.ids.begin(), it->ex.ids.end());
    scored.insert(scored.end(), it->ex.target.begin(), it->ex.target.end());
    pending_.erase(it);
    refill();
  }
  ids.assign(static_cast<size_t>(T_), tok_.eos_id() >= 0 ? tok_.eos_id() : tok_.bos_id());
  targets.assign(static_cast<size_t>(T_), -1);
  const size_t n = toks.size();
  for (size_t t = 0; t < n; ++t) {
    ids[t] = toks[t];
    if (t + 1 < n && scored[t + 1]) {
      targets[t] = toks[t + 1];
      ++scored_;
    }
  }
  padded_ += T_ - static_cast<int64_t>(n);
}

void PretrainStream::reset() {
  pending_.clear();
  recent_.clear();
  next_k_ = gen_tokens_ = next_row_ = 0;
  refill();
}

void PretrainStream::row(int64_t g, int32_t* ids, int32_t* targets) {
  EDGE_CHECK(g >= 0, "row index {} is negative", g);
  for (const auto& [r, v] : recent_)
    if (r == g) {
      std::copy(v.begin(), v.begin() + T_, ids);
      std::copy(v.begin() + T_, v.end(), targets);
      return;
    }
  if (g < next_row_) reset();  // an old row: replay the stream from its start
  std::vector<int32_t> a, b;
  while (next_row_ <= g) {
    produce(a, b);
    std::vector<int32_t> v(a);
    v.insert(v.end(), b.begin(), b.end());
    recent_.emplace_back(next_row_++, std::move(v));
    if (recent_.size() > 256) recent_.pop_front();
  }
  std::copy(a.begin(), a.end(), ids);
  std::copy(b.begin(), b.end(), targets);
}

std::string PretrainStream::state() const {
  nlohmann::json pend = nlohmann::json::array();
  for (const Pending& p : pending_) pend.push_back({p.k, p.progress});
  nlohmann::json j = {{"next_k", next_k_},          {"gen_tokens", gen_tokens_}, {"next_row", next_row_},
                      {"seq_len", T_},              {"total_tokens", total_tokens_}, {"window", window_},
                      {"mix_seed", mix_.seed},      {"pending", pend}};
  return j.dump();
}

void PretrainStream::restore(const std::string& text) {
  const std::string field = "data_state";
  nlohmann::json j;
  try {
    j = parse_json_metered(text, "checkpoint", field);
    auto expect = [&](const char* key, int64_t want) {
      if (j.at(key).get<int64_t>() != want)
        fail_format("checkpoint", field + "." + key, "the checkpoint has {} but this run has {}", json_brief(j.at(key)), want);
    };
    expect("seq_len", T_);
    expect("total_tokens", total_tokens_);
    expect("window", window_);
    if (j.at("mix_seed").get<uint64_t>() != mix_.seed)
      fail_format("checkpoint", field + ".mix_seed", "the checkpoint's mix seed differs from this run's");
    pending_.clear();
    recent_.clear();
    for (const auto& p : j.at("pending")) pending_.push_back(make(p.at(0).get<int64_t>(), p.at(1).get<double>()));
    next_k_ = j.at("next_k").get<int64_t>();
    gen_tokens_ = j.at("gen_tokens").get<int64_t>();
    next_row_ = j.at("next_row").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail_format("checkpoint", field, "{}", e.what());
  }
}

}  // namespace edgellm::study
