/* A C program using edgellm's C API end to end: load the built-in model, tokenize, evaluate, sample
 * greedily, generate with a callback, and check that errors come back as codes, not crashes.
 * CI compiles it as C (not C++) and runs it; it exits non-zero on any failed check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "edgellm/edgellm.h"

static int on_token(int32_t id, const char* piece, void* user) {
  int* count = (int*)user;
  (void)piece;
  CHECK(id >= 0);
  return ++*count < 5; /* stop after 5 tokens */
}

int main(int argc, char** argv) {
  const char* spec = argc > 1 ? argv[1] : "builtin:tiny";
  edgellm_set_threads(2);

  CHECK(edgellm_model_vocab_size(NULL) == -1 && strcmp(edgellm_last_error(), "model is NULL") == 0);
  CHECK(edgellm_context_length(NULL) == -1 && strcmp(edgellm_last_error(), "ctx is NULL") == 0);
  CHECK(edgellm_model_load("/nonexistent/model.gguf") == NULL);
  CHECK(strstr(edgellm_last_error(), "/nonexistent/model.gguf") != NULL);

  edgellm_model* model = edgellm_model_load(spec);
  CHECK(model != NULL);
  if (!model) return 1;
  const int32_t vocab = edgellm_model_vocab_size(model);
  CHECK(vocab > 0);

  int32_t ids[64];
  const int32_t n = edgellm_tokenize(model, "Hello, edge!", 1, ids, 64);
  CHECK(n > 1 && n <= 64);
  CHECK(ids[0] == edgellm_model_bos(model));
  char text[128];
  CHECK(edgellm_detokenize(model, ids, n, text, sizeof text) == (int32_t)strlen("Hello, edge!"));
  CHECK(strcmp(text, "Hello, edge!") == 0);

  edgellm_context* ctx = edgellm_context_new(model, 64);
  CHECK(ctx != NULL);
  float* logits = (float*)malloc(sizeof(float) * (size_t)vocab);
  CHECK(edgellm_eval(ctx, ids, n, logits) == 0);
  CHECK(edgellm_context_length(ctx) == n);

  edgellm_sampler_params p = edgellm_sampler_default_params();
  p.temperature = 0; /* greedy */
  edgellm_sampler* greedy = edgellm_sampler_new(&p);
  const int32_t tok = edgellm_sample(greedy, ctx, logits);
  int32_t best = 0;
  for (int32_t i = 1; i < vocab; ++i)
    if (logits[i] > logits[best]) best = i;
  CHECK(tok == best);

  /* Evaluating past the cache's capacity is an error code, not a crash. */
  int32_t many[80];
  memset(many, 0, sizeof many);
  CHECK(edgellm_eval(ctx, many, 80, NULL) == -1);
  CHECK(strstr(edgellm_last_error(), "context") != NULL);

  edgellm_context_reset(ctx);
  int count = 0;
  const int32_t produced = edgellm_generate(ctx, "Once upon", 16, greedy, on_token, &count);
  CHECK(produced == 5 && count == 5);

  free(logits);
  edgellm_sampler_free(greedy);
  edgellm_context_free(ctx);
  edgellm_model_free(model);
  if (failures == 0) printf("c_api example: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
