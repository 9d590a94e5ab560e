// A model ready for inference: the decoder, its tokenizer and the usual loops over them
// (generation with a callback, all-position logits, llama.cpp-compatible perplexity).
// Not a server (serve/ is): one sequence at a time, one KV cache.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/llama.h"
#include "models/sampler.h"
#include "models/tokenizer.h"

namespace edgellm {

struct Model {
  LlamaModel llama;
  // Shared, not owned alone: a server's worker slots are Models over one set of weights and one tokenizer
  // (a LlamaModel copy shares its tensors' storage; serve/ sets a different LoRA on each copy).
  std::shared_ptr<Tokenizer> tokenizer;
};

// `spec` is a .gguf file, a Hugging Face directory, or "builtin:<preset>[:seed]" (tiny, small, 110m, 1.1b).
Model load_model(const std::string& spec);

// Throws Error naming the file when a file the model's weights are mapped from has shrunk since it was opened
// (truncated or replaced underneath the process): reading a lost page would be a SIGBUS, not an error.
// load_model, generate, all_logits and perplexity check it (one stat per file) before touching the weights.
void check_model_files(const LlamaModel& m);

// Generates up to n tokens after `prompt` (ids), feeding the prompt as one batch. on_token gets each new id
// and returns false to stop. Stops at the EOS id unless ignore_eos. Returns the new ids.
std::vector<int32_t> generate(const Model& m, KvCache& cache, const std::vector<int32_t>& prompt, int n,
                              Sampler& sampler, const std::function<bool(int32_t)>& on_token = {},
                              bool ignore_eos = false);

// Logits of every position of `ids`, (T, V), evaluated in one batch from an empty cache.
std::vector<float> all_logits(const Model& m, const std::vector<int32_t>& ids);

struct PerplexityResult {
  double ppl = 0, ppl_err = 0;  // exp(mean NLL) and its ± (standard error of the mean, scaled by ppl)
  int64_t chunks = 0, scored = 0;
  int64_t total_chunks = 0;     // chunks the text makes (progress: chunks of total_chunks)
  std::vector<double> running;  // PPL after each chunk, as llama-perplexity prints them
};
// llama-perplexity's method: tokenize with BOS, cut into chunks of n_ctx tokens, put BOS first in each,
// score the second half of each chunk (positions n_ctx/2 .. n_ctx−2 predicting the next token).
// n_batch > 0 evaluates each chunk n_batch tokens per forward (llama-perplexity's -b): 1 scores through the decode
// path (M = 1 linears, e.g. the LUT GEMV), to compare it with the batched one; 0 (default): the whole chunk at once.
PerplexityResult perplexity(const Model& m, const std::string& text, int64_t n_ctx,
                            const std::function<void(const PerplexityResult&)>& progress = {}, int64_t n_batch = 0);

// The warning a verb prints when it is about to run `n_tokens` positions (`what`: "perplexity -c 512") on
// a model trained at a shorter context (config.max_ctx, GGUF's context_length): RoPE positions the model
// never saw make its output degrade silently. "" when the length fits.
std::string context_warning(const LlamaConfig& c, int64_t n_tokens, const std::string& what);

// A byte-fallback SentencePiece-style vocabulary for built-in models: <unk> <s> </s>, then the 256 byte
// pieces, then filler pieces up to `vocab` (so any text encodes, as bytes).
std::unique_ptr<Tokenizer> builtin_tokenizer(int64_t vocab);

}  // namespace edgellm
