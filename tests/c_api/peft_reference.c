/* Adapters switched on one loaded base, from C, against references: the tiny-llama GGUF base gives transformers'
 * logits, with peft's adapter (PEFT directory, then the same adapter as llama.cpp LoRA GGUF) peft's logits, and
 * with the adapter removed transformers' again. Fixtures from $EDGELLM_FIXTURES (CTest sets it). Not a loader test
 * (tests/train/test_lora_io.cpp covers the formats); it checks that switching never needs a reload. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "edgellm/edgellm.h"

/* Reads tensor `name` (n elements of `elem` bytes) from a safetensors file into out; 0 on success. Enough of the
 * format for the fixtures: the header's "name":{...,"data_offsets":[begin,end]} entry. */
static int read_tensor(const char* path, const char* name, void* out, size_t n, size_t elem) {
  FILE* f = fopen(path, "rb");
  if (!f) return -1;
  uint64_t header_len = 0;
  int ok = fread(&header_len, 8, 1, f) == 1 && header_len < (1u << 20);
  char* header = ok ? calloc(1, (size_t)header_len + 1) : NULL;
  ok = ok && header && fread(header, 1, (size_t)header_len, f) == header_len;
  char key[128];
  snprintf(key, sizeof key, "\"%s\"", name);
  const char* at = ok ? strstr(header, key) : NULL;
  const char* offsets = at ? strstr(at, "\"data_offsets\"") : NULL;
  unsigned long long begin = 0, end = 0;
  ok = offsets && sscanf(offsets, "\"data_offsets\":[%llu,%llu]", &begin, &end) == 2 && end - begin == n * elem;
  ok = ok && fseek(f, (long)(8 + header_len + begin), SEEK_SET) == 0 && fread(out, elem, n, f) == n;
  free(header);
  fclose(f);
  return ok ? 0 : -1;
}

/* ‖a − b‖ / ‖b‖ over n floats. */
static double rel_err(const float* a, const float* b, int32_t n) {
  double num = 0, den = 0;
  for (int32_t i = 0; i < n; ++i) {
    num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    den += (double)b[i] * b[i];
  }
  return sqrt(num / (den > 0 ? den : 1e-300));
}

int main(void) {
  const char* fx = getenv("EDGELLM_FIXTURES");
  if (!fx) {
    fprintf(stderr, "c_api_peft_reference: set EDGELLM_FIXTURES to the fixtures folder\n");
    return 2;
  }
  enum { T = 7, V = 512 };
  /* Under tiny-llama/: the GGUF base, transformers' and peft's logits, peft's adapter and its LoRA GGUF. */
  static const char* files[] = {"gguf/tiny-llama-f32.gguf", "references/logits.safetensors",
                                "lora/logits.safetensors", "lora/adapter", "gguf/tiny-llama-lora-f32.gguf"};
  char paths[5][512];
  for (int i = 0; i < 5; ++i) snprintf(paths[i], sizeof paths[i], "%s/tiny-llama/%s", fx, files[i]);
  const char *base_path = paths[0], *refs = paths[1], *lora_refs = paths[2], *peft = paths[3], *lora_gguf = paths[4];
  int64_t ids64[T];
  static float want_base[T * V], want_lora[T * V];
  CHECK(read_tensor(refs, "input_ids_len7", ids64, T, 8) == 0);
  CHECK(read_tensor(refs, "logits_len7", want_base, T * V, 4) == 0);
  CHECK(read_tensor(lora_refs, "logits_len7", want_lora, T * V, 4) == 0);
  if (failures) return 1;
  int32_t ids[T];
  for (int i = 0; i < T; ++i) ids[i] = (int32_t)ids64[i];

  edgellm_model* model = edgellm_model_load(base_path);
  CHECK(model != NULL && edgellm_model_vocab_size(model) == V);
  if (!model) return 1;
  edgellm_context* ctx = edgellm_context_new(model, 16);
  edgellm_adapter* from_peft = edgellm_adapter_load(model, peft);
  edgellm_adapter* from_gguf = edgellm_adapter_load(model, lora_gguf);
  CHECK(ctx != NULL && from_peft != NULL && from_gguf != NULL);
  if (failures) return 1;

  /* The last position's logits under each choice, in an order that switches every time. */
  const edgellm_adapter* order[] = {NULL, from_peft, NULL, from_gguf, from_peft, NULL};
  float got[V];
  for (size_t i = 0; i < sizeof order / sizeof order[0]; ++i) {
    CHECK(edgellm_adapter_apply(model, order[i], 1.0f) == 0);
    edgellm_context_reset(ctx);
    CHECK(edgellm_eval(ctx, ids, T, got) == 0);
    const float* want = (order[i] ? want_lora : want_base) + (T - 1) * V;
    const double e = rel_err(got, want, V);
    printf("step %zu (%s): |got - reference| / |reference| = %.2e\n", i,
           order[i] == from_peft ? "peft adapter" : order[i] == from_gguf ? "LoRA GGUF" : "base", e);
    CHECK(e < 1e-5);
  }
  /* The adapter moves the logits well beyond that tolerance, so the checks above tell the cases apart. */
  CHECK(rel_err(want_lora + (T - 1) * V, want_base + (T - 1) * V, V) > 1e-3);

  edgellm_adapter_free(from_peft);
  edgellm_adapter_free(from_gguf);
  edgellm_context_free(ctx);
  edgellm_model_free(model);
  if (failures == 0) printf("c_api peft reference: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
