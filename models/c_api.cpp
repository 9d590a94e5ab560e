// The C API over models/runner.h. Every entry point catches exceptions and turns them into a
// return code and a per-thread error message: no C++ exception crosses into C.
#include <cstring>
#include <string>

#include "edgellm/edgellm.h"
#include "models/c_api_internal.h"
#include "models/runner.h"
#include "runtime/arena.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

struct edgellm_context {
  const edgellm_model* model;
  edgellm::KvCache cache;
  std::vector<int32_t> tokens;
  std::vector<float> logits;
};
struct edgellm_sampler {
  edgellm::Sampler s;
};

namespace {

thread_local std::string g_error;

using edgellm::capi::guarded;
using edgellm::capi::null_arg;

edgellm::SamplerParams to_cpp(const edgellm_sampler_params& p) {
  edgellm::SamplerParams s;
  s.temperature = p.temperature;
  s.top_k = p.top_k;
  s.top_p = p.top_p;
  s.min_p = p.min_p;
  s.repeat_penalty = p.repeat_penalty;
  s.repeat_last_n = p.repeat_last_n;
  s.seed = p.seed;
  return s;
}

}  // namespace

void edgellm::capi::set_last_error(std::string message) { g_error = std::move(message); }

extern "C" {

const char* edgellm_last_error(void) { return g_error.c_str(); }

void edgellm_set_threads(int32_t n) { edgellm::set_num_threads(n); }
void edgellm_set_mem_budget(size_t bytes) { edgellm::default_arena().set_budget(bytes); }
size_t edgellm_mem_peak(void) { return edgellm::default_arena().peak(); }

edgellm_model* edgellm_model_load(const char* path) {
  if (null_arg(path, "path")) return nullptr;
  return guarded<>(static_cast<edgellm_model*>(nullptr), [&] { return new edgellm_model{edgellm::load_model(path), nullptr, {}}; });
}
void edgellm_model_free(edgellm_model* model) {
  if (!model) return;
  for (edgellm_adapter* a : model->adapters) a->model = nullptr;
  delete model;
}
int32_t edgellm_model_vocab_size(const edgellm_model* m) {
  return null_arg(m, "model") ? -1 : static_cast<int32_t>(m->m.llama.config.vocab);
}
int32_t edgellm_model_bos(const edgellm_model* m) { return null_arg(m, "model") ? -1 : m->m.tokenizer->bos_id(); }
int32_t edgellm_model_eos(const edgellm_model* m) { return null_arg(m, "model") ? -1 : m->m.llama.config.eos_id; }

int32_t edgellm_tokenize(const edgellm_model* model, const char* text, int32_t add_bos, int32_t* ids, int32_t max_ids) {
  if (null_arg(model, "model") || null_arg(text, "text")) return -1;
  return guarded<>(int32_t{-1}, [&] {
    edgellm::EncodeOptions opt;
    opt.add_bos = add_bos != 0;
    const auto v = model->m.tokenizer->encode(text, opt);
    for (size_t i = 0; i < v.size() && static_cast<int32_t>(i) < max_ids; ++i) ids[i] = v[i];
    return static_cast<int32_t>(v.size());
  });
}

int32_t edgellm_detokenize(const edgellm_model* model, const int32_t* ids, int32_t n_ids, char* buf, int32_t buf_size) {
  if (null_arg(model, "model") || (n_ids > 0 && null_arg(ids, "ids"))) return -1;
  return guarded<>(int32_t{-1}, [&] {
    const std::string s = model->m.tokenizer->decode(std::span<const int32_t>(ids, static_cast<size_t>(std::max(n_ids, 0))));
    if (buf && buf_size > 0) {
      const size_t n = std::min(s.size(), static_cast<size_t>(buf_size - 1));
      std::memcpy(buf, s.data(), n);
      buf[n] = '\0';
    }
    return static_cast<int32_t>(s.size());
  });
}

edgellm_context* edgellm_context_new(const edgellm_model* model, int32_t n_ctx) {
  if (null_arg(model, "model")) return nullptr;
  return guarded<>(static_cast<edgellm_context*>(nullptr), [&] {
    const auto& c = model->m.llama.config;
    const int64_t cap = n_ctx > 0 ? n_ctx : c.max_ctx;
    return new edgellm_context{model, edgellm::KvCache(c, cap), {}, std::vector<float>(static_cast<size_t>(c.vocab))};
  });
}
void edgellm_context_free(edgellm_context* ctx) { delete ctx; }
void edgellm_context_reset(edgellm_context* ctx) {
  if (!ctx) return;
  ctx->cache.clear();
  ctx->tokens.clear();
}
int32_t edgellm_context_length(const edgellm_context* ctx) {
  return null_arg(ctx, "ctx") ? -1 : static_cast<int32_t>(ctx->cache.len);
}

int32_t edgellm_eval(edgellm_context* ctx, const int32_t* ids, int32_t n_ids, float* logits) {
  if (null_arg(ctx, "ctx") || null_arg(ids, "ids")) return -1;
  return guarded<>(int32_t{-1}, [&] {
    if (n_ids <= 0) throw edgellm::Error("edgellm_eval: n_ids must be positive");
    edgellm::llama_forward(ctx->model->m.llama, ctx->cache, ids, n_ids, ctx->logits.data(), false);
    ctx->tokens.insert(ctx->tokens.end(), ids, ids + n_ids);
    if (logits) std::memcpy(logits, ctx->logits.data(), ctx->logits.size() * sizeof(float));
    return int32_t{0};
  });
}

edgellm_sampler_params edgellm_sampler_default_params(void) {
  const edgellm::SamplerParams d;
  return {d.temperature, d.top_k, d.top_p, d.min_p, d.repeat_penalty, d.repeat_last_n, d.seed};
}
edgellm_sampler* edgellm_sampler_new(const edgellm_sampler_params* p) {
  const edgellm_sampler_params d = edgellm_sampler_default_params();
  return guarded<>(static_cast<edgellm_sampler*>(nullptr), [&] { return new edgellm_sampler{edgellm::Sampler(to_cpp(p ? *p : d))}; });
}
void edgellm_sampler_free(edgellm_sampler* s) { delete s; }

int32_t edgellm_sample(edgellm_sampler* sampler, const edgellm_context* ctx, const float* logits) {
  if (null_arg(sampler, "sampler") || null_arg(ctx, "ctx") || null_arg(logits, "logits")) return -1;
  return guarded<>(int32_t{-1}, [&] {
    return sampler->s.sample(logits, ctx->model->m.llama.config.vocab, ctx->tokens);
  });
}

int32_t edgellm_generate(edgellm_context* ctx, const char* prompt, int32_t n_predict, edgellm_sampler* sampler,
                         edgellm_token_callback callback, void* user) {
  if (null_arg(ctx, "ctx") || null_arg(prompt, "prompt") || null_arg(sampler, "sampler")) return -1;
  return guarded<>(int32_t{-1}, [&] {
    const edgellm::Model& m = ctx->model->m;
    edgellm::EncodeOptions opt;
    opt.add_bos = ctx->cache.len == 0 && m.tokenizer->add_bos_default();
    std::vector<int32_t> ids = m.tokenizer->encode(prompt, opt);
    if (ids.empty()) throw edgellm::Error("edgellm_generate: the prompt has no tokens");
    ctx->tokens.insert(ctx->tokens.end(), ids.begin(), ids.end());
    int32_t produced = 0;
    edgellm::generate(m, ctx->cache, ids, n_predict, sampler->s, [&](int32_t id) {
      ++produced;
      ctx->tokens.push_back(id);
      const std::string piece = m.tokenizer->token_to_piece(id);
      return callback ? callback(id, piece.c_str(), user) != 0 : true;
    });
    return produced;
  });
}

}  // extern "C"
