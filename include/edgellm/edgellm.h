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

/* The message of the last failed call on this thread ("" if none). Owned by the library: valid until the next
 * edgellm call on this thread. */
EDGELLM_API const char* edgellm_last_error(void);

/* Threads for parallel kernels (0 = all cores); memory budget in bytes for runtime allocations (0 = none). */
EDGELLM_API void edgellm_set_threads(int32_t n);
EDGELLM_API void edgellm_set_mem_budget(size_t bytes);
/* Exact peak of budgeted bytes so far. */
EDGELLM_API size_t edgellm_mem_peak(void);

/* path: a .gguf file, a Hugging Face directory, or "builtin:<tiny|small|110m|1.1b>". NULL on error. Owned by the
 * caller: edgellm_model_free, after the model's contexts (which point into it) are freed. */
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

/* A sequence with its KV cache of n_ctx positions (0 = the model's context length). Owned by the caller:
 * edgellm_context_free, before its model. */
EDGELLM_API edgellm_context* edgellm_context_new(const edgellm_model* model, int32_t n_ctx);
EDGELLM_API void edgellm_context_free(edgellm_context* ctx);
/* Forgets the sequence (the KV cache is kept allocated). */
EDGELLM_API void edgellm_context_reset(edgellm_context* ctx);
EDGELLM_API int32_t edgellm_context_length(const edgellm_context* ctx);
/* Appends n_ids tokens and evaluates them; if logits is not NULL it receives the last position's logits
 * (vocab floats). Returns 0, or -1 on error (e.g. context full). */
EDGELLM_API int32_t edgellm_eval(edgellm_context* ctx, const int32_t* ids, int32_t n_ids, float* logits);

EDGELLM_API edgellm_sampler_params edgellm_sampler_default_params(void);
/* params NULL: the defaults. Owned by the caller: edgellm_sampler_free. */
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

/* ---- Personalization: LoRA adapters on a loaded base, fine-tuning (train/c_api.cpp) -------------------- */

/* A LoRA adapter loaded for one model, held beside it: applying, switching or removing one never reloads the base.
 * Owned by the caller: free it with edgellm_adapter_free (before or after its model; once the model is freed the
 * adapter can only be freed). Contexts keep keys and values computed under the previous adapter: reset them after
 * a switch. Applying, loading, freeing and fine-tuning change the model's layers: never while another thread
 * evaluates, generates or embeds with that model. */
typedef struct edgellm_adapter edgellm_adapter;

/* path: a PEFT directory (adapter_config.json + adapter_model.safetensors) or a llama.cpp LoRA .gguf. Checks every
 * tensor's shape against the model (the message names the file and tensor). Does not apply it. NULL on error. */
EDGELLM_API edgellm_adapter* edgellm_adapter_load(edgellm_model* model, const char* path);
/* Puts adapter on its model with scale times its trained strength (alpha/r): 1 as trained, 0.5 half, 0 the base's
 * outputs. Replaces the adapter applied before. NULL adapter: the bare base. Returns 0, or -1 on error (e.g. an
 * adapter loaded for another model). */
EDGELLM_API int32_t edgellm_adapter_apply(edgellm_model* model, const edgellm_adapter* adapter, float scale);
/* The adapter on the model now, or NULL (the pointer edgellm_adapter_apply was given; not a new reference). */
EDGELLM_API const edgellm_adapter* edgellm_adapter_active(const edgellm_model* model);
/* Writes the adapter as a PEFT directory, or as a llama.cpp LoRA GGUF when path ends in ".gguf". 0, or -1. */
EDGELLM_API int32_t edgellm_adapter_save(const edgellm_adapter* adapter, const char* path);
/* Frees the adapter; if it is applied, its model goes back to the bare base. NULL is a no-op. */
EDGELLM_API void edgellm_adapter_free(edgellm_adapter* adapter);

typedef struct edgellm_finetune_params {
  int32_t rank;         /* LoRA rank r */
  float alpha;          /* LoRA alpha (strength alpha/r) */
  const char* targets;  /* comma-separated PEFT module names, e.g. "q_proj,v_proj"; NULL: q_proj,v_proj */
  float lr;             /* AdamW learning rate */
  int32_t steps;        /* optimizer steps; 0: one epoch */
  int32_t batch;        /* rows per step */
  int32_t seq_len;      /* tokens per row */
  uint64_t seed;        /* data order and LoRA initialization */
  double time_budget_s; /* stop after this much training time; 0: none */
  size_t mem_budget;    /* bytes for the whole run (weights held, adapter, optimizer, activations); 0: none.
                           A budget too small for any plan is refused before training, with the smallest estimate */
} edgellm_finetune_params;

typedef struct edgellm_finetune_progress {
  int32_t step, total_steps; /* after step (1-based) of total_steps */
  float loss;                /* the step's mean cross-entropy */
  double elapsed_s, eta_s;   /* training time so far, estimated time left */
  size_t peak_bytes;         /* peak of budgeted memory so far */
} edgellm_finetune_progress;

/* Called after every optimizer step; return 0 to stop after it (the adapter trained so far is kept). */
typedef int32_t (*edgellm_progress_callback)(const edgellm_finetune_progress* progress, void* user);

typedef enum edgellm_finetune_status {
  EDGELLM_FINETUNE_ERROR = -1,
  EDGELLM_FINETUNE_DONE = 0,        /* every step ran */
  EDGELLM_FINETUNE_TIME_BUDGET = 1, /* stopped at the time budget */
  EDGELLM_FINETUNE_CANCELLED = 2    /* the progress callback returned 0 */
} edgellm_finetune_status;

EDGELLM_API edgellm_finetune_params edgellm_finetune_default_params(void);
/* Trains a LoRA adapter on the bare base from data_path (JSONL records of {"text"}, {"prompt","response"} or
 * {"messages"}, the last in the chat template the model's files declare; see the README's Data format; or plain
 * text) and stores it in *out (owned by the caller, not applied). The adapter applied before is put back afterwards;
 * the memory budget set by edgellm_set_mem_budget is restored. Returns an edgellm_finetune_status; on error
 * *out is NULL. Writes no files (edgellm_adapter_save does). */
EDGELLM_API int32_t edgellm_finetune(edgellm_model* model, const char* data_path, const edgellm_finetune_params* params,
                                     edgellm_progress_callback progress, void* user, edgellm_adapter** out);

/* ---- Embeddings (rag/c_api.cpp) ------------------------------------------------------------------------- */

/* The length of an embedding: the model's hidden size. -1 on error. */
EDGELLM_API int32_t edgellm_embedding_dim(const edgellm_model* model);
/* The text's embedding, as dense retrieval computes it (rag/dense.h): the final normed hidden states averaged over
 * the positions after BOS, L2-normalised, with the applied adapter if any. Writes min(dim, out_size) floats to out
 * and returns dim, or -1 on error. */
EDGELLM_API int32_t edgellm_embed(const edgellm_model* model, const char* text, float* out, int32_t out_size);

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
/* Opens (maps and checks) an index file. NULL on error (bad checksum, truncated: the message names the section).
 * Owned by the caller: edgellm_rag_free. */
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
