// The C API's RAG functions (declared in include/edgellm/edgellm.h): build, open, query, free an index; embeddings.
// Not a second implementation: every call forwards to rag/index.h and turns exceptions into -1/NULL.
#include <cstring>
#include <filesystem>

#include "edgellm/edgellm.h"
#include "models/c_api_internal.h"
#include "rag/dense.h"
#include "rag/index.h"
#include "runtime/error.h"

struct edgellm_rag_index {
  edgellm::rag::RagIndex ix;
  std::vector<edgellm::rag::Scored> last;  // keeps the hits' chunk indices of the last query
};

namespace {

using edgellm::capi::guarded;
using edgellm::capi::null_arg;

// "built-in:tiny" (a built-in model's source) -> "builtin:tiny" (what load_model takes).
std::string loadable_spec(const std::string& source) {
  if (source.rfind("built-in:", 0) == 0) return "builtin:" + source.substr(9);
  return source;
}

}  // namespace

extern "C" {

edgellm_rag_build_params edgellm_rag_default_build_params(void) {
  edgellm::rag::IndexSettings s;
  return edgellm_rag_build_params{static_cast<int32_t>(s.chunk_tokens), static_cast<int32_t>(s.overlap), 1, 0,
                                  s.bm25.k1, s.bm25.b, nullptr};
}

int32_t edgellm_rag_build(const edgellm_model* model, const char* const* paths, int32_t n_paths, const char* out_path,
                          const edgellm_rag_build_params* params, int32_t append) {
  if (null_arg(model, "model") || null_arg(paths, "paths") || null_arg(out_path, "out_path")) return -1;
  return guarded(int32_t{-1}, [&]() -> int32_t {
    namespace rag = edgellm::rag;
    const auto p = params ? *params : edgellm_rag_default_build_params();
    std::vector<std::string> files;
    for (int32_t i = 0; i < n_paths; ++i) {
      if (!paths[i]) edgellm::fail("paths[{}] is NULL", i);
      files.emplace_back(paths[i]);
    }
    rag::IndexSettings s;
    s.chunk_tokens = p.chunk_tokens;
    s.overlap = p.overlap;
    s.dense = p.dense != 0;
    s.int8 = p.int8 != 0;
    s.bm25 = {p.bm25_k1, p.bm25_b};
    s.embed_model = !s.dense ? "" : p.embed_model_spec ? p.embed_model_spec : loadable_spec(model->m.llama.source);
    const rag::RagIndex ix = rag::write_index(out_path, files, model->m, s, append != 0);
    return static_cast<int32_t>(ix.chunks.size());
  });
}

edgellm_rag_index* edgellm_rag_open(const char* path) {
  if (null_arg(path, "path")) return nullptr;
  return guarded(static_cast<edgellm_rag_index*>(nullptr),
                 [&] { return new edgellm_rag_index{edgellm::rag::load_index(path), {}}; });
}

void edgellm_rag_free(edgellm_rag_index* index) { delete index; }

int32_t edgellm_rag_chunk_count(const edgellm_rag_index* index) {
  if (null_arg(index, "index")) return -1;
  return static_cast<int32_t>(index->ix.chunks.size());
}

int32_t edgellm_rag_query(edgellm_rag_index* index, const edgellm_model* embed_model, const char* question, int32_t k,
                          edgellm_rag_mode mode, edgellm_rag_hit* hits) {
  if (null_arg(index, "index") || null_arg(question, "question") || null_arg(hits, "hits")) return -1;
  return guarded(int32_t{-1}, [&]() -> int32_t {
    namespace rag = edgellm::rag;
    EDGE_CHECK(k > 0, "k must be positive, got {}", k);
    rag::QueryOptions q;
    q.k = static_cast<size_t>(k);
    switch (mode) {
      case EDGELLM_RAG_BM25: q.mode = rag::Mode::Bm25; break;
      case EDGELLM_RAG_DENSE: q.mode = rag::Mode::Dense; break;
      case EDGELLM_RAG_HYBRID: q.mode = rag::Mode::Hybrid; break;
      default: edgellm::fail("unknown RAG mode {}", static_cast<int>(mode));
    }
    index->last = rag::retrieve(index->ix, question, q, embed_model ? &embed_model->m : nullptr);
    const auto& ix = index->ix;
    for (size_t i = 0; i < index->last.size(); ++i) {
      const auto& c = ix.chunks[index->last[i].chunk];
      hits[i] = {static_cast<int32_t>(index->last[i].chunk), index->last[i].score, ix.docs[c.doc].id.c_str(),
                 c.text.c_str()};
    }
    return static_cast<int32_t>(index->last.size());
  });
}

int32_t edgellm_embedding_dim(const edgellm_model* model) {
  if (null_arg(model, "model")) return -1;
  return static_cast<int32_t>(model->m.llama.config.dim);
}

int32_t edgellm_embed(const edgellm_model* model, const char* text, float* out, int32_t out_size) {
  if (null_arg(model, "model") || null_arg(text, "text") || (out_size > 0 && null_arg(out, "out"))) return -1;
  return guarded(int32_t{-1}, [&]() -> int32_t {
    const std::string texts[] = {text};
    const std::vector<float> v = edgellm::rag::embed_texts(model->m, texts);
    const size_t n = std::min(v.size(), static_cast<size_t>(std::max(out_size, 0)));
    if (n) std::memcpy(out, v.data(), n * sizeof(float));
    return static_cast<int32_t>(v.size());
  });
}

}  // extern "C"
