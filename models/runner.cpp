// Loading a model with its tokenizer, and the loops of generate / logits / perplexity.
#include "models/runner.h"

#include <algorithm>
#include <any>
#include <cmath>
#include <filesystem>

#include "models/builtin.h"
#include "models/load_model.h"
#include "models/tokenizer_gguf.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/mmap_file.h"

namespace edgellm {

std::unique_ptr<Tokenizer> builtin_tokenizer(int64_t vocab) {
  EDGE_CHECK(vocab >= 259, "a built-in tokenizer needs a vocabulary of at least 259, got {}", vocab);
  TokenizerVocab v = byte_fallback_vocab("built-in tokenizer");
  for (int64_t i = 259; i < vocab; ++i) {
    v.tokens.push_back(fmt::format("<unused{}>", i - 259));
    v.types.push_back(static_cast<int32_t>(TokenType::Unused));
    v.scores.push_back(0.0f);
  }
  v.add_bos = true;
  // Plain bytes: no dummy prefix and no ▁ escaping, so decode(encode(s)) == s for any s.
  v.add_space_prefix = false;
  v.escape_whitespaces = false;
  return make_tokenizer(v);
}

void check_model_files(const LlamaModel& m) {
  for (const auto& k : m.keep)
    if (const auto* f = std::any_cast<std::shared_ptr<MappedFile>>(&k); f && *f && !(*f)->still_whole())
      fail("{}: the model file was truncated or removed after it was opened ({} bytes were mapped); reload it",
           (*f)->path(), (*f)->size());
}

Model load_model(const std::string& spec) {
  Model m;
  if (spec.rfind("builtin:", 0) == 0) {
    std::string rest = spec.substr(8), preset = rest;
    uint64_t seed = 42;
    if (auto colon = rest.find(':'); colon != std::string::npos) {
      preset = rest.substr(0, colon);
      const std::string s = rest.substr(colon + 1);
      if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19)
        fail("{}: the seed after '{}:' must be a decimal number", spec, preset);
      seed = std::stoull(s);
    }
    m.llama = make_builtin_model(builtin_config(preset), seed);
    m.tokenizer = builtin_tokenizer(m.llama.config.vocab);
    return m;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(spec, ec)) {
    m.llama = load_llama_hf(spec);
    // A SentencePiece tokenizer.model carries the real piece scores (tokenizer.json only implies them
    // through merge ranks); GGUF export then matches llama.cpp's converter. Llama 3 ships a tiktoken
    // file under that name, which is not a ModelProto: fall back to tokenizer.json then.
    const std::string spm = (fs::path(spec) / "tokenizer.model").string();
    if (fs::exists(spm, ec)) {
      try {
        m.tokenizer = load_sentencepiece_model(spm);
      } catch (const Error&) {
        m.tokenizer = nullptr;
      }
    }
    if (!m.tokenizer) m.tokenizer = load_tokenizer(spec);
  } else {
    if (!fs::exists(spec, ec)) fail("{}: no such file or directory", spec);
    GgufFile f = GgufFile::open(spec);
    m.llama = load_llama_gguf(f);
    m.tokenizer = make_tokenizer(tokenizer_vocab_from_gguf(f));
  }
  if (m.tokenizer->vocab_size() > m.llama.config.vocab)
    fail_format(spec, "tokenizer", "the tokenizer has {} tokens but the model's vocabulary is {}",
                m.tokenizer->vocab_size(), m.llama.config.vocab);
  check_model_files(m.llama);
  return m;
}

std::vector<int32_t> generate(const Model& m, KvCache& cache, const std::vector<int32_t>& prompt, int n,
                              Sampler& sampler, const std::function<bool(int32_t)>& on_token, bool ignore_eos) {
  const int64_t V = m.llama.config.vocab;
  std::vector<float> logits(static_cast<size_t>(V));
  std::vector<int32_t> history = prompt, out;
  EDGE_CHECK(!prompt.empty(), "generate needs a prompt of at least one token");
  check_model_files(m.llama);
  llama_forward(m.llama, cache, prompt.data(), static_cast<int64_t>(prompt.size()), logits.data(), false);
  for (int i = 0; i < n; ++i) {
    const int32_t id = sampler.sample(logits.data(), V, history);
    out.push_back(id);
    history.push_back(id);
    if (on_token && !on_token(id)) break;
    if (!ignore_eos && id == m.llama.config.eos_id) break;
    if (i + 1 == n || cache.len >= cache.capacity) break;
    llama_forward(m.llama, cache, &id, 1, logits.data(), false);
  }
  return out;
}

std::string context_warning(const LlamaConfig& c, int64_t n_tokens, const std::string& what) {
  if (n_tokens <= c.max_ctx) return "";
  return fmt::format("warning: {} runs {} positions but the model was trained at a context of {}; its output "
                     "past position {} is unreliable",
                     what, n_tokens, c.max_ctx, c.max_ctx);
}

std::vector<float> all_logits(const Model& m, const std::vector<int32_t>& ids) {
  const int64_t T = static_cast<int64_t>(ids.size());
  EDGE_CHECK(T > 0, "logits need at least one token");
  check_model_files(m.llama);
  KvCache cache(m.llama.config, T);
  std::vector<float> logits(static_cast<size_t>(T * m.llama.config.vocab));
  llama_forward(m.llama, cache, ids.data(), T, logits.data(), true);
  return logits;
}

PerplexityResult perplexity(const Model& m, const std::string& text, int64_t n_ctx,
                            const std::function<void(const PerplexityResult&)>& progress, int64_t n_batch) {
  EDGE_CHECK(n_ctx >= 4, "perplexity needs a context of at least 4 tokens, got {}", n_ctx);
  check_model_files(m.llama);
  EncodeOptions opt;
  opt.add_bos = m.tokenizer->add_bos_default();
  const ChargedVector<int32_t> tokens = m.tokenizer->encode_long(text, opt, "perplexity: the text's tokens");
  const int64_t n_chunk = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (static_cast<int64_t>(tokens.size()) < 2 * n_ctx)
    fail("perplexity with a context of {} needs at least {} tokens; the text has {}", n_ctx, 2 * n_ctx,
         tokens.size());
  const int64_t V = m.llama.config.vocab, first = n_ctx / 2;
  KvCache cache(m.llama.config, n_ctx);
  std::vector<float> logits(static_cast<size_t>(n_ctx * V));
  PerplexityResult r;
  r.total_chunks = n_chunk;
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  for (int64_t c = 0; c < n_chunk; ++c) {
    std::vector<int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
    if (opt.add_bos) chunk[0] = m.tokenizer->bos_id();
    cache.clear();
    const int64_t step = n_batch > 0 ? std::min(n_batch, n_ctx) : n_ctx;
    for (int64_t p = 0; p < n_ctx; p += step) {
      const int64_t n = std::min(step, n_ctx - p);
      llama_forward(m.llama, cache, chunk.data() + p, n, logits.data() + p * V, true);
    }
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      const float* l = logits.data() + j * V;
      float mx = l[0];
      for (int64_t i = 1; i < V; ++i) mx = std::max(mx, l[i]);
      double sum = 0;
      for (int64_t i = 0; i < V; ++i) sum += std::exp(static_cast<double>(l[i] - mx));
      const int32_t target = tokens[static_cast<size_t>(c * n_ctx + j + 1)];
      const double v = -(static_cast<double>(l[target] - mx) - std::log(sum));
      nll += v;
      nll2 += v * v;
      ++count;
    }
    r.running.push_back(std::exp(nll / static_cast<double>(count)));
    r.chunks = c + 1;
    r.scored = count;
    r.ppl = r.running.back();
    if (progress) progress(r);
  }
  const double mean = nll / static_cast<double>(count);
  double var = nll2 / static_cast<double>(count) - mean * mean;
  r.ppl = std::exp(mean);
  r.ppl_err = var > 0 && count > 1 ? std::sqrt(var / static_cast<double>(count - 1)) * r.ppl : 0.0;
  return r;
}

}  // namespace edgellm
