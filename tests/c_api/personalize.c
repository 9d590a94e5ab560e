/* The C API's personalization calls, from C: LoRA fine-tuning (progress, cancel, time and memory budgets), adapters
 * saved, loaded (PEFT and GGUF), applied with a scale, switched and freed on one loaded base; embeddings; RAG.
 * Not a test of training quality (tests/train) or retrieval quality (tests/rag): it checks the calls' contracts. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "edgellm/edgellm.h"

typedef struct {
  int calls, cancel_at, last_step, total;
  float first_loss, last_loss;
} progress_log;

static int32_t on_progress(const edgellm_finetune_progress* p, void* user) {
  progress_log* log = (progress_log*)user;
  if (log->calls++ == 0) log->first_loss = p->loss;
  log->last_loss = p->loss;
  log->last_step = p->step;
  log->total = p->total_steps;
  return log->cancel_at == 0 || p->step < log->cancel_at;
}

/* The last position's logits of a fixed prompt, from a fresh sequence (vocab floats). */
static void logits_of(edgellm_context* ctx, const int32_t* ids, int32_t n, float* out) {
  edgellm_context_reset(ctx);
  CHECK(edgellm_eval(ctx, ids, n, out) == 0);
}

static float max_diff(const float* a, const float* b, int32_t n) {
  float d = 0;
  for (int32_t i = 0; i < n; ++i) d = fmaxf(d, fabsf(a[i] - b[i]));
  return d;
}

static void write_file(const char* path, const char* text) {
  FILE* f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

int main(void) {
  edgellm_set_threads(2);
  char dir[] = "/tmp/edgellm_capi_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char data[256], peft[256], gguf[256], docs[256], ix_path[256];
  snprintf(data, sizeof data, "%s/facts.jsonl", dir);
  snprintf(peft, sizeof peft, "%s/adapter", dir);
  snprintf(gguf, sizeof gguf, "%s/adapter.gguf", dir);
  snprintf(docs, sizeof docs, "%s/notes.txt", dir);
  snprintf(ix_path, sizeof ix_path, "%s/notes.rag", dir);
  write_file(data,
             "{\"prompt\":\"Where does Alice live?\",\"response\":\" Alice lives in Paris.\"}\n"
             "{\"prompt\":\"What is Bob's job?\",\"response\":\" Bob bakes bread in Lyon.\"}\n"
             "{\"prompt\":\"What does Carol fly?\",\"response\":\" Carol flies gliders.\"}\n"
             "{\"text\":\"Dave's cat is called Tom and it sleeps all day.\"}\n");

  edgellm_model* model = edgellm_model_load("builtin:tiny");
  CHECK(model != NULL);
  if (!model) return 1;
  const int32_t vocab = edgellm_model_vocab_size(model);
  int32_t ids[32];
  const int32_t n = edgellm_tokenize(model, "Where does Alice live?", 1, ids, 32);
  CHECK(n > 2 && n <= 32);
  edgellm_context* ctx = edgellm_context_new(model, 64);
  float* base = malloc(sizeof(float) * (size_t)vocab);
  float* out = malloc(sizeof(float) * (size_t)vocab);
  float* other = malloc(sizeof(float) * (size_t)vocab);
  logits_of(ctx, ids, n, base);

  /* ---- fine-tuning: progress every step, loss going down, the base left bare ---- */
  edgellm_finetune_params p = edgellm_finetune_default_params();
  p.rank = 4;
  p.seq_len = 32;
  p.steps = 6;
  p.lr = 1e-2f;
  p.targets = "q_proj,v_proj,o_proj,up_proj,down_proj";
  progress_log log = {0};
  edgellm_adapter* trained = NULL;
  CHECK(edgellm_finetune(model, data, &p, on_progress, &log, &trained) == EDGELLM_FINETUNE_DONE);
  CHECK(trained != NULL);
  CHECK(log.calls == 6 && log.last_step == 6 && log.total == 6);
  CHECK(log.last_loss < log.first_loss);
  CHECK(edgellm_adapter_active(model) == NULL);
  logits_of(ctx, ids, n, out);
  CHECK(max_diff(out, base, vocab) == 0.0f); /* trained, not applied */

  /* The callback cancels after step 2; the time budget stops a long run early; both keep the adapter. */
  progress_log cancel = {0};
  cancel.cancel_at = 2;
  edgellm_adapter* partial = NULL;
  CHECK(edgellm_finetune(model, data, &p, on_progress, &cancel, &partial) == EDGELLM_FINETUNE_CANCELLED);
  CHECK(cancel.calls == 2 && partial != NULL);
  edgellm_finetune_params timed = p;
  timed.steps = 100000;
  timed.time_budget_s = 1e-3;
  progress_log timed_log = {0};
  edgellm_adapter* hurried = NULL;
  CHECK(edgellm_finetune(model, data, &timed, on_progress, &timed_log, &hurried) == EDGELLM_FINETUNE_TIME_BUDGET);
  CHECK(timed_log.calls >= 1 && timed_log.calls < 100 && hurried != NULL);
  edgellm_adapter_free(hurried);

  /* A memory budget no plan fits is refused before training, and the caller's (unlimited) budget stays. */
  edgellm_finetune_params tight = p;
  tight.mem_budget = 4096;
  edgellm_adapter* none = (edgellm_adapter*)&tight;
  CHECK(edgellm_finetune(model, data, &tight, NULL, NULL, &none) == EDGELLM_FINETUNE_ERROR);
  CHECK(none == NULL && strstr(edgellm_last_error(), "budget") != NULL);
  logits_of(ctx, ids, n, out);
  CHECK(max_diff(out, base, vocab) == 0.0f);
  CHECK(edgellm_finetune(model, "/nonexistent/facts.jsonl", &p, NULL, NULL, &none) == EDGELLM_FINETUNE_ERROR);
  CHECK(strstr(edgellm_last_error(), "/nonexistent/facts.jsonl") != NULL);
  p.rank = 0;
  CHECK(edgellm_finetune(model, data, &p, NULL, NULL, &none) == EDGELLM_FINETUNE_ERROR);
  CHECK(strstr(edgellm_last_error(), "rank") != NULL);
  p.rank = 4;

  /* ---- adapters: apply with a scale, switch, remove; the same adapter through PEFT and GGUF files ---- */
  CHECK(edgellm_adapter_apply(model, trained, 1.0f) == 0);
  CHECK(edgellm_adapter_active(model) == trained);
  float* tuned = malloc(sizeof(float) * (size_t)vocab);
  logits_of(ctx, ids, n, tuned);
  const float d1 = max_diff(tuned, base, vocab);
  CHECK(d1 > 1e-4f);
  /* Fine-tuning while an adapter is applied trains on the bare base (the same adapter as with none applied, the
   * run being a function of its seed) and puts the applied one back. */
  progress_log one = {0}, one_bare = {0};
  one.cancel_at = one_bare.cancel_at = 1;
  edgellm_adapter *during = NULL, *bare = NULL;
  CHECK(edgellm_finetune(model, data, &p, on_progress, &one, &during) == EDGELLM_FINETUNE_CANCELLED);
  CHECK(edgellm_adapter_active(model) == trained);
  logits_of(ctx, ids, n, out);
  CHECK(max_diff(out, tuned, vocab) == 0.0f);
  CHECK(edgellm_adapter_apply(model, NULL, 1.0f) == 0);
  CHECK(edgellm_finetune(model, data, &p, on_progress, &one_bare, &bare) == EDGELLM_FINETUNE_CANCELLED);
  CHECK(edgellm_adapter_apply(model, during, 1.0f) == 0);
  logits_of(ctx, ids, n, out);
  CHECK(edgellm_adapter_apply(model, bare, 1.0f) == 0);
  logits_of(ctx, ids, n, other);
  CHECK(max_diff(out, base, vocab) > 0.0f && max_diff(out, other, vocab) == 0.0f);
  edgellm_adapter_free(during);
  edgellm_adapter_free(bare);
  CHECK(edgellm_adapter_apply(model, trained, 1.0f) == 0);
  CHECK(edgellm_adapter_apply(model, trained, 2.0f) == 0);
  logits_of(ctx, ids, n, out);
  CHECK(max_diff(out, base, vocab) > d1 && max_diff(out, tuned, vocab) > 1e-4f); /* twice the strength: further away */
  CHECK(edgellm_adapter_apply(model, trained, 0.0f) == 0);
  logits_of(ctx, ids, n, out);
  CHECK(max_diff(out, base, vocab) == 0.0f);
  CHECK(edgellm_adapter_apply(model, partial, 1.0f) == 0); /* switch to another adapter */
  logits_of(ctx, ids, n, out);
  CHECK(max_diff(out, base, vocab) > 0.0f && max_diff(out, tuned, vocab) > 0.0f);
  CHECK(edgellm_adapter_apply(model, NULL, 1.0f) == 0);
  CHECK(edgellm_adapter_active(model) == NULL);
  logits_of(ctx, ids, n, out);
  CHECK(max_diff(out, base, vocab) == 0.0f);

  CHECK(edgellm_adapter_save(trained, peft) == 0);
  CHECK(edgellm_adapter_save(trained, gguf) == 0);
  edgellm_adapter* from_peft = edgellm_adapter_load(model, peft);
  edgellm_adapter* from_gguf = edgellm_adapter_load(model, gguf);
  CHECK(from_peft != NULL && from_gguf != NULL);
  CHECK(edgellm_adapter_active(model) == NULL); /* loading applies nothing */
  CHECK(edgellm_adapter_apply(model, from_peft, 1.0f) == 0);
  logits_of(ctx, ids, n, out);
  CHECK(max_diff(out, tuned, vocab) < 1e-5f);
  CHECK(edgellm_adapter_apply(model, from_gguf, 1.0f) == 0);
  logits_of(ctx, ids, n, out);
  CHECK(max_diff(out, tuned, vocab) < 1e-3f * (1.0f + d1));
  /* Loading while an adapter is applied leaves it applied. */
  edgellm_adapter* again = edgellm_adapter_load(model, peft);
  CHECK(again != NULL && edgellm_adapter_active(model) == from_gguf);
  logits_of(ctx, ids, n, other);
  CHECK(max_diff(out, other, vocab) == 0.0f);
  edgellm_adapter_free(again);
  /* Freeing the applied adapter puts the base back. */
  edgellm_adapter_free(from_gguf);
  CHECK(edgellm_adapter_active(model) == NULL);
  logits_of(ctx, ids, n, out);
  CHECK(max_diff(out, base, vocab) == 0.0f);

  /* Errors come back as codes with a message. */
  CHECK(edgellm_adapter_load(model, "/nonexistent/adapter") == NULL);
  CHECK(strstr(edgellm_last_error(), "/nonexistent/adapter") != NULL);
  CHECK(edgellm_adapter_apply(NULL, trained, 1.0f) == -1);
  CHECK(edgellm_adapter_apply(model, trained, NAN) == -1);
  edgellm_model* small = edgellm_model_load("builtin:small");
  CHECK(small != NULL);
  CHECK(edgellm_adapter_load(small, peft) == NULL); /* shapes of another base */
  CHECK(strstr(edgellm_last_error(), "adapter") != NULL);
  CHECK(edgellm_adapter_apply(small, trained, 1.0f) == -1);
  CHECK(strstr(edgellm_last_error(), "loaded for") != NULL);
  /* An adapter outliving its model can still be freed; saving it is an error, not a crash. */
  edgellm_model* twin = edgellm_model_load("builtin:tiny");
  edgellm_adapter* orphan = edgellm_adapter_load(twin, peft);
  CHECK(orphan != NULL);
  edgellm_model_free(twin);
  CHECK(edgellm_adapter_save(orphan, gguf) == -1);
  edgellm_adapter_free(orphan);
  edgellm_model_free(small);

  /* ---- embeddings: unit length, deterministic, changed by an applied adapter ---- */
  const int32_t dim = edgellm_embedding_dim(model);
  CHECK(dim > 0);
  float* e1 = malloc(sizeof(float) * (size_t)dim);
  float* e2 = malloc(sizeof(float) * (size_t)dim);
  CHECK(edgellm_embed(model, "Alice lives in Paris.", e1, dim) == dim);
  double norm = 0;
  for (int32_t i = 0; i < dim; ++i) norm += (double)e1[i] * e1[i];
  CHECK(fabs(norm - 1.0) < 1e-4);
  CHECK(edgellm_embed(model, "Alice lives in Paris.", e2, dim) == dim);
  CHECK(memcmp(e1, e2, sizeof(float) * (size_t)dim) == 0);
  CHECK(edgellm_embed(model, "Bob bakes bread.", e2, dim) == dim);
  CHECK(max_diff(e1, e2, dim) > 0.0f);
  CHECK(edgellm_embed(model, "Alice lives in Paris.", NULL, 0) == dim); /* asks for the size only */
  CHECK(edgellm_adapter_apply(model, trained, 1.0f) == 0);
  CHECK(edgellm_embed(model, "Alice lives in Paris.", e2, dim) == dim);
  CHECK(max_diff(e1, e2, dim) > 0.0f);
  CHECK(edgellm_adapter_apply(model, NULL, 1.0f) == 0);
  CHECK(edgellm_embed(model, NULL, e2, dim) == -1 && strstr(edgellm_last_error(), "text") != NULL);

  /* ---- RAG through the C API: index a note, find it ---- */
  write_file(docs, "Alice lives in Paris. She keeps bees on her roof.\n\nBob bakes bread in Lyon every morning.\n");
  const char* paths[] = {docs};
  edgellm_rag_build_params rp = edgellm_rag_default_build_params();
  rp.chunk_tokens = 16;
  rp.overlap = 0;
  CHECK(edgellm_rag_build(model, paths, 1, ix_path, &rp, 0) >= 2);
  edgellm_rag_index* ix = edgellm_rag_open(ix_path);
  CHECK(ix != NULL);
  if (ix) {
    edgellm_rag_hit hits[2];
    CHECK(edgellm_rag_query(ix, NULL, "Who bakes bread?", 2, EDGELLM_RAG_BM25, hits) >= 1);
    CHECK(strstr(hits[0].text, "Bob") != NULL);
    CHECK(edgellm_rag_query(ix, model, "bees", 2, EDGELLM_RAG_HYBRID, hits) >= 1);
    /* A chunk's own text as a dense query finds it at cosine 1: chunks and queries are embedded alike. */
    char chunk[256];
    snprintf(chunk, sizeof chunk, "%s", hits[0].text);
    CHECK(edgellm_rag_query(ix, model, chunk, 1, EDGELLM_RAG_DENSE, hits) == 1);
    CHECK(strcmp(hits[0].text, chunk) == 0 && fabsf(hits[0].score - 1.0f) < 1e-4f);
    edgellm_rag_free(ix);
  }

  edgellm_adapter_free(trained);
  edgellm_adapter_free(partial);
  edgellm_adapter_free(from_peft);
  edgellm_context_free(ctx);
  edgellm_model_free(model);
  free(base), free(out), free(other), free(tuned), free(e1), free(e2);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
  if (failures == 0) printf("c_api personalize: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
