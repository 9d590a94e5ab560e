// `edgellm embedder`: trains the study's retrieval embedder from a base on reading-stream pairs, measures
// recall@k on held-out users before and after, and saves it as a GGUF that rag-dense and `rag index` load.
// Not the loop (rag/embedder_train.h) nor the data (bench/study/embedder_data.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bench/study/embedder_data.h"

namespace edgellm::study {

struct EmbedderRunOptions {
  std::string base;             // the model whose block stack starts the embedder
  std::string out;              // the embedder GGUF (f16 matrices); empty with eval_only
  EmbedderData data;
  rag::EmbedderTrainConfig train;
  int64_t eval_users = 40;      // held-out reading-stream users the recall is measured on
  bool eval_only = false;       // measure `base` as an embedder, train nothing
};

struct EmbedderRecall {
  std::vector<int> ks = {1, 4, 5};
  std::vector<double> bm25, before, after;  // recall at ks
  int64_t cases = 0;
  double train_seconds = 0, final_loss = 0;
};

EmbedderRecall run_embedder(const EmbedderRunOptions& o, const std::function<void(const std::string&)>& log);

}  // namespace edgellm::study
