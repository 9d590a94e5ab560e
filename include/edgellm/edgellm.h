/* edgellm's C API: load a model, tokenize, evaluate, sample, generate with a callback.
 * Every call that can fail returns NULL or a negative number and sets edgellm_last_error() (per thread).
 * No function here aborts the process. Not thread-safe per context: use one context per thread.
 * This is the whole public interface: libedgellm.so exports these functions and nothing else. */
#ifndef EDGELLM_H
#define EDGELLM_H

#include <stddef.h>
#include <stdint.h>

/* Marks what the shared library exports. The library's other symbols stay local (cmake/libedgellm.map), so an
 * integrator's own fmt, json or C++ runtime never collides with the copies inside edgellm. */
#if defined(_WIN32)
#define EDGELLM_API
#else
#define EDGELLM_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edgellm_model edgellm_model;
typedef struct edgellm_context edgellm_context;
typedef struct edgellm_sampler edgellm_sampler;

typedef struct edgellm_sampler_params {
  float temperature;    /* <= 0: greedy */
  int32_t top_k;        /* <= 0: off */
  float top_p;          /* >= 1: off */
  float min_p;          /* <= 0: off */
  float repeat_penalty; /* 1: off */
  int32_t repeat_last_n;
  uint64_t seed;
} edgellm_sampler_params;

/* The message of the last failed call on this thread ("" if none). */
EDGELLM_API const char* edgellm_last_error(void);

/* Threads for parallel kernels (0 = all cores); memory budget in bytes for runtime allocations (0 = none). */
EDGELLM_API void edgellm_set_threads(int32_t n);
EDGELLM_API void edgellm_set_mem_budget(size_t bytes);
/* Exact peak of budgeted bytes so far. */
EDGELLM_API size_t edgellm_mem_peak(void);

/* path: a .gguf file, a Hugging Face directory, or "builtin:<tiny|small|110m|1.1b>". NULL on error. */
EDGELLM_API edgellm_model* edgellm_model_load(const char* path);
EDGELLM_API void edgellm_model_free(edgellm_model* model);
EDGELLM_API int32_t edgellm_model_vocab_size(const edgellm_model* model);
EDGELLM_API int32_t edgellm_model_bos(const edgellm_model* model);
EDGELLM_API int32_t edgellm_model_eos(const edgellm_model* model);

/* Writes up to max_ids ids; returns the number of ids the text needs (which may exceed max_ids: call
 * again with a larger buffer), or -1 on error. */
EDGELLM_API int32_t edgellm_tokenize(const edgellm_model* model, const char* text, int32_t add_bos, int32_t* ids, int32_t max_ids);
/* Writes the text of ids (NUL-terminated, truncated to buf_size); returns its full length in bytes, or -1. */
EDGELLM_API int32_t edgellm_detokenize(const edgellm_model* model, const int32_t* ids, int32_t n_ids, char* buf, int32_t buf_size);

/* A sequence with its KV cache of n_ctx positions (0 = the model's context length). */
EDGELLM_API edgellm_context* edgellm_context_new(const edgellm_model* model, int32_t n_ctx);
EDGELLM_API void edgellm_context_free(edgellm_context* ctx);
/* Forgets the sequence (the KV cache is kept allocated). */
EDGELLM_API void edgellm_context_reset(edgellm_context* ctx);
EDGELLM_API int32_t edgellm_context_length(const edgellm_context* ctx);
/* Appends n_ids tokens and evaluates them; if logits is not NULL it receives the last position's logits
 * (vocab floats). Returns 0, or -1 on error (e.g. context full). */
EDGELLM_API int32_t edgellm_eval(edgellm_context* ctx, const int32_t* ids, int32_t n_ids, float* logits);

EDGELLM_API edgellm_sampler_params edgellm_sampler_default_params(void);
EDGELLM_API edgellm_sampler* edgellm_sampler_new(const edgellm_sampler_params* params);
EDGELLM_API void edgellm_sampler_free(edgellm_sampler* sampler);
/* Picks a token from logits (vocab floats); the context's tokens feed the repetition penalty. */
EDGELLM_API int32_t edgellm_sample(edgellm_sampler* sampler, const edgellm_context* ctx, const float* logits);

/* Called with each new token and its text; return 0 to stop. */
typedef int32_t (*edgellm_token_callback)(int32_t id, const char* piece, void* user);
/* Tokenizes prompt (with BOS as the model wants), evaluates it and generates up to n_predict tokens,
 * stopping at EOS. Returns the number generated, or -1 on error. */
EDGELLM_API int32_t edgellm_generate(edgellm_context* ctx, const char* prompt, int32_t n_predict, edgellm_sampler* sampler,
                         edgellm_token_callback callback, void* user);

/* ---- RAG: index documents, open an index, retrieve (rag/c_api.cpp) -------------------------------- */

typedef struct edgellm_rag_index edgellm_rag_index;

typedef struct edgellm_rag_build_params {
  int32_t chunk_tokens; /* tokens per chunk (the model's tokenizer) */
  int32_t overlap;      /* tokens repeated between consecutive chunks */
  int32_t dense;        /* 1: store embeddings of the model's hidden states; 0: BM25 only */
  int32_t int8;         /* 1: store the embeddings as int8 with per-vector scales */
  float bm25_k1, bm25_b;
  const char* embed_model_spec; /* recorded as the embedding model (what to load for dense queries); NULL: the model's source */
} edgellm_rag_build_params;

typedef enum edgellm_rag_mode { EDGELLM_RAG_BM25 = 0, EDGELLM_RAG_DENSE = 1, EDGELLM_RAG_HYBRID = 2 } edgellm_rag_mode;

typedef struct edgellm_rag_hit {
  int32_t chunk;       /* chunk index in the index */
  float score;         /* BM25 score, cosine, or reciprocal-rank-fusion score */
  const char* doc_id;  /* valid until edgellm_rag_free */
  const char* text;    /* the chunk's text; valid until edgellm_rag_free */
} edgellm_rag_hit;

EDGELLM_API edgellm_rag_build_params edgellm_rag_default_build_params(void);
/* Indexes .txt/.md/.jsonl files and folders into out_path (written atomically); with append != 0 and an
 * existing out_path, adds the documents to it. Returns the index's chunk count, or -1 on error. */
EDGELLM_API int32_t edgellm_rag_build(const edgellm_model* model, const char* const* paths, int32_t n_paths, const char* out_path,
                          const edgellm_rag_build_params* params, int32_t append);
/* Opens (maps and checks) an index file. NULL on error (bad checksum, truncated: the message names the section). */
EDGELLM_API edgellm_rag_index* edgellm_rag_open(const char* path);
EDGELLM_API void edgellm_rag_free(edgellm_rag_index* index);
EDGELLM_API int32_t edgellm_rag_chunk_count(const edgellm_rag_index* index);
/* Writes up to k hits, best first; embed_model is required for DENSE and HYBRID (NULL for BM25).
 * Returns the number written, or -1 on error. Hits stay valid until the next query on this index. */
EDGELLM_API int32_t edgellm_rag_query(edgellm_rag_index* index, const edgellm_model* embed_model, const char* question, int32_t k,
                          edgellm_rag_mode mode, edgellm_rag_hit* hits);

#ifdef __cplusplus
}
#endif

#endif /* EDGELLM_H */
