// Training a retrieval embedder: a Llama block stack (all weights trained) read exactly as rag::embed_texts
// reads it (mean of the final normed states after BOS, L2-normalised), with InfoNCE over in-batch negatives.
// Not a data generator (batches come from the caller) and not a file format: the result is a model, saved as GGUF.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/runner.h"

namespace edgellm::rag {

// One step's texts: queries[i]'s positive is documents[i] (i < Q); every other document is its negative
// (documents beyond Q are extra negatives). The caller keeps false negatives out of a batch.
struct EmbedBatch {
  std::vector<std::string> queries;    // (Q)
  std::vector<std::string> documents;  // (N), N >= Q
};
using EmbedBatchSource = std::function<EmbedBatch(int64_t step)>;

struct EmbedderTrainConfig {
  int64_t steps = 300;
  double lr = 3e-4, min_lr = 3e-5, weight_decay = 0.01, clip = 1.0;
  int64_t warmup = 20;       // linear warm-up, then cosine to min_lr
  double tau = 0.05;         // InfoNCE temperature
  int64_t max_tokens = 256;  // tokens a text is cut to, as embed_texts cuts it
};

struct EmbedderStep {
  int64_t step = 0;  // 1-based, after the update
  double loss = 0, grad_norm = 0, seconds = 0;
  float lr = 0;
};

// Trains every weight of m (made f32 in place, as full fine-tuning does) for c.steps AdamW steps on
// src(0..steps-1). m then embeds with embed_texts as trained. Throws when the loss or gradient is not finite.
void train_embedder(Model& m, const EmbedBatchSource& src, const EmbedderTrainConfig& c,
                    const std::function<void(const EmbedderStep&)>& on_step = {});

// A retrieval case: one question over one collection of documents, with the documents that answer it.
struct RecallCase {
  std::string query;
  const std::vector<std::string>* documents = nullptr;  // the collection (a user's documents)
  std::vector<int32_t> relevant;                        // indices into *documents
};
// The share of cases with a relevant document among the top k by embedding cosine, for each k in ks.
std::vector<double> dense_recall(const Model& m, const std::vector<RecallCase>& cases, const std::vector<int>& ks,
                                 int64_t max_tokens = 256);
// The same by BM25 over each collection (the baseline a trained embedder is compared with).
std::vector<double> bm25_recall(const std::vector<RecallCase>& cases, const std::vector<int>& ks);

}  // namespace edgellm::rag
