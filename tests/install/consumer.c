/* An integrator's program, built against an installed edgellm (tools/test-install.sh builds it four ways:
 * find_package or pkg-config, shared or static). Only <edgellm/edgellm.h>; exits non-zero unless a real run works. */
#include <stdio.h>
#include <string.h>

#include <edgellm/edgellm.h>

static int on_token(int32_t id, const char* piece, void* user) {
  (void)id;
  fputs(piece, stdout);
  return ++*(int*)user < 4;
}

int main(void) {
  edgellm_set_threads(1);
  edgellm_model* model = edgellm_model_load("builtin:tiny");
  if (!model) {
    fprintf(stderr, "consumer: load failed: %s\n", edgellm_last_error());
    return 1;
  }
  int32_t ids[16];
  const int32_t n = edgellm_tokenize(model, "Hello", 1, ids, 16);
  edgellm_context* ctx = edgellm_context_new(model, 32);
  edgellm_sampler_params p = edgellm_sampler_default_params();
  p.temperature = 0;
  edgellm_sampler* sampler = edgellm_sampler_new(&p);
  int count = 0;
  const int32_t produced = ctx && sampler ? edgellm_generate(ctx, "Hello", 8, sampler, on_token, &count) : -1;
  printf("\nconsumer: %d prompt ids, %d generated\n", n, produced);
  const int ok = n >= 2 && ids[0] == edgellm_model_bos(model) && produced == 4;
  if (!ok) fprintf(stderr, "consumer: failed: %s\n", edgellm_last_error());
  edgellm_sampler_free(sampler);
  edgellm_context_free(ctx);
  edgellm_model_free(model);
  return ok ? 0 : 1;
}
