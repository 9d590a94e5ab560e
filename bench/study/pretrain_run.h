// One pretraining run of a study base, end to end: tokenizer, model, streamed rows, edgellm's own
// trainer (full fine-tuning, AdamW, warm-up + cosine), checkpoints, gold-context evaluation, and the
// f16 GGUF with its recipe. Not a CLI: tools/edgellm/cmd_pretrain.cpp parses and prints.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "bench/study/pretrain_data.h"
#include "bench/study/prose.h"
#include "bench/study/prose_eval.h"
#include "bench/study/reading_eval.h"

namespace edgellm::study {

struct PretrainOptions {
  std::string size = "s";          // s | m | l (pretrain_config)
  std::string arch = "llama";      // llama | qwen3 (pretrain_config)
  // Training positions (rows × seq, padding included); 0: tokens_per_param × the model's parameters.
  // 20 by default: Chinchilla's compute-optimal ratio (Hoffmann et al. 2022), and what the GPU budget
  // affords for the largest base (18.3M × 20 = 366M tokens); ≥ 10 keeps every base past the point where
  // base-s and base-m learned to read (15-16M tokens for ~1-3M parameters).
  int64_t tokens = 0;
  double tokens_per_param = 20;
  // Share of the mix's examples that are general prose (the rest: LM 10%, closed-book 10%, reading).
  // 0.25 by default: enough English that held-out prose perplexity measures something (prose paragraphs
  // are shorter than reading examples: 25% of the examples is ~17% of the tokens, recipe.md gives the
  // measured share), while reading keeps 55% of the examples and ~72% of the tokens (the committed bases
  // read with 70% of the examples).
  double prose_fraction = 0.25;
  std::string prose_dir;           // the carried corpus (export_prose); empty: Debian packages under prose_root
  std::string prose_root = "/";
  bool fortunes_only = false;      // the committed s and m bases' general text (general_text(), no held-out split)
  int64_t ppl_paragraphs = 400;    // held-out prose paragraphs of the perplexity (0: all)
  std::string out_dir;
  double lr = 2e-3, min_lr = 2e-4, weight_decay = 0.01, clip = 1.0;
  int64_t batch = 48;              // rows per optimizer step
  int64_t micro_batch = 8;         // rows per forward/backward (batch is a multiple of it)
  int64_t seq_len = 256;
  int64_t warmup = -1;             // steps; −1: 2.5% of the run
  uint64_t seed = 1;               // model init; the data stream is a function of the mix alone
  bool resume = false;             // continue from out_dir/checkpoint.safetensors when present
  bool export_only = false;        // no training: evaluate and write the GGUF from the checkpoint
  int32_t vocab = 1536;
  int64_t tokenizer_examples = 6000;
  int64_t save_every = 0;          // steps between checkpoints (0: off)
  // Seconds of training between checkpoints: a step-count interval is wrong at every size at once (s's steps
  // take 25 ms on a GPU, l's checkpoint is 220 MB), time is not.
  double save_seconds = 120;
  int64_t eval_every = 0;          // steps between gold-context evaluations (0: only at the end)
  int64_t eval_users = 12;         // users of the evaluations during training
  int64_t final_eval_users = 40;   // users of the final evaluation (the recipe's number)
  double time_budget = 0;          // seconds of training in this process; 0: none
  bool checkpoint_only_on_stop = false;  // a stopped sitting leaves its checkpoint only (no eval, GGUF, recipe)
  std::string device = "cpu";      // cpu | vulkan | vulkan:N (train/device.h); not part of the run's identity
  PretrainMix mix;
};

struct PretrainResult {
  int64_t steps = 0, total_steps = 0, tokens = 0;
  bool stopped = false;            // by the time budget or a signal before the last step
  double final_loss = 0, train_seconds = 0;
  ReadingEvalResult eval;
  ProsePerplexity prose;           // on held-out prose (empty when the corpus has none)
  std::string gguf_path, gguf_sha256;
};

// Runs (or resumes) the pretraining; writes out_dir/{loss.csv, eval.csv, checkpoint.safetensors,
// run.json, <base_name>.gguf, recipe.md}. `stop` ends training after the current step (the GGUF and
// recipe of that step are still written). `log` receives progress lines.
PretrainResult run_pretrain(const PretrainOptions& o, const std::atomic<bool>* stop,
                            const std::function<void(const std::string&)>& log);

// The general text of a run: the carried corpus (prose_dir), the Debian packages (their absence logged,
// naming the packages: never silently), or the committed bases' fortunes. `log` gets one line.
ProseCorpus pretrain_prose(const PretrainOptions& o, const std::function<void(const std::string&)>& log);

// "base-<size>" for the Llama block, "base-<size>-<arch>" for another family.
std::string base_name(const PretrainOptions& o);

// Formats a reading evaluation as "L1 94.0% (47/50) L2 ... L3 ..." for logs and recipes.
std::string format_reading(const ReadingEvalResult& r);

}  // namespace edgellm::study
