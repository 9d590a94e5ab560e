// Pretraining the study's bases: model shapes and their initialization, the tokenizer's training
// sample, and a streaming row source that packs pretrain_example() into training rows.
// Not the training loop (train/trainer.h) and not the CLI (tools/edgellm/cmd_pretrain.cpp).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "bench/study/pretrain_data.h"
#include "models/llama.h"
#include "models/tokenizer.h"
#include "train/data.h"

namespace edgellm::study {

// Sizes, with their parameters at V = 1536 (all of them: the tied embedding counted once, norms included):
// "s": 4 layers × 128, 4 heads of 32, FFN 384 (1.05M, of which 0.20M embedding);
// "m": 6 layers × 192, 6 heads of 32, FFN 512 (2.95M, 0.29M);
// "l": 10 layers × 384, 6 heads of 64, FFN 1024 (18.3M, 0.59M): 17.4× s.
// Tied embeddings, max context 512. `arch` "llama" is the Llama block; "qwen3" the same shapes with
// Qwen3's block (per-head RMSNorm of q and k before RoPE, head_dim written explicitly, rotate-half RoPE
// as Qwen3's GGUF has it), so the two families differ in the block alone.
const std::vector<std::string>& pretrain_sizes();
const std::vector<std::string>& pretrain_archs();
LlamaConfig pretrain_config(const std::string& size, int64_t vocab, const std::string& arch = "llama");

// The parameters init_pretrain_model(c) will have (as LlamaModel::n_params counts them).
int64_t pretrain_params(const LlamaConfig& c);

// Training tokens for `tokens_per_param` tokens per parameter (rounded to a whole token).
int64_t tokens_for(const LlamaConfig& c, double tokens_per_param);

// Weights as Hugging Face initializes a Llama (and a Qwen3): every matrix and the embedding N(0, 0.02²), norms 1
// (f32, seeded, independent of the thread count).
LlamaModel init_pretrain_model(const LlamaConfig& c, uint64_t seed);

// The tokenizer's training sample: examples 0..n−1 of the mix (its own share of general text,
// documents, questions and reading), at mid-curriculum.
std::vector<std::string> tokenizer_sample(const PretrainMix& mix, const std::vector<std::string>& general,
                                          int64_t n_examples);

// One example of the mix as training tokens: BOS, then each segment encoded on its own (a segment's
// tokens are targets when it is scored; BOS never is).
Example encode_example(const PretrainExample& ex, const Tokenizer& tok);

// Rows packed from the stream of examples k = 0, 1, 2, ...: each row holds whole examples (first
// fit from a window of pending ones, the oldest always first in a fresh row, so none waits long;
// an example longer than a row is cut), the rest padded with masked targets. Example k's curriculum
// progress is (tokens generated before it) / total_tokens. Rows must be read in order; the position
// is saved with state() and restored with restore(), so a resumed run reads the same rows.
class PretrainStream final : public RowSource {
 public:
  PretrainStream(PretrainMix mix, const Tokenizer& tok, std::vector<std::string> general, int64_t seq_len,
                 int64_t total_tokens, int32_t window = 32);
  int64_t seq_len() const override { return T_; }
  int64_t rows_per_epoch() const override { return (total_tokens_ + T_ - 1) / T_; }
  // Rows before the current position are served from a cache of recent rows or by replaying the
  // stream from its start; later rows are reached by generating the ones between.
  void row(int64_t g, int32_t* ids, int32_t* targets) override;

  std::string state() const;                // JSON: the position before row next_row()
  void restore(const std::string& json);    // throws FormatError (field "data_state") on bad input
  int64_t next_row() const { return next_row_; }
  int64_t examples_used() const { return next_k_ - static_cast<int64_t>(pending_.size()); }
  int64_t scored_tokens() const { return scored_; }  // targets handed out so far (this process)
  int64_t padded_tokens() const { return padded_; }  // padding positions handed out so far
  int64_t cut_examples() const { return cut_; }

 private:
  struct Pending {
    int64_t k;
    double progress;
    Example ex;
  };
  Pending make(int64_t k, double progress);
  void refill();
  void produce(std::vector<int32_t>& ids, std::vector<int32_t>& targets);
  void reset();

  PretrainMix mix_;
  const Tokenizer& tok_;
  std::vector<std::string> general_;
  int64_t T_, total_tokens_;
  int32_t window_;
  std::deque<Pending> pending_;
  int64_t next_k_ = 0, gen_tokens_ = 0, next_row_ = 0;
  int64_t scored_ = 0, padded_ = 0, cut_ = 0;
  std::deque<std::pair<int64_t, std::vector<int32_t>>> recent_;  // (row, ids ‖ targets)
};

}  // namespace edgellm::study
