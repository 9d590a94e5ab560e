// The embedder's training loop (LlamaGrad's block stack under train/contrastive.h's head, AdamW) and the
// recall@k measurements that judge it. Not the data: batches and retrieval cases come from the caller.
#include "rag/embedder_train.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "rag/bm25.h"
#include "rag/dense.h"
#include "runtime/error.h"
#include "train/contrastive.h"
#include "train/llama_grad.h"
#include "train/optimizer.h"

namespace edgellm::rag {

void train_embedder(Model& m, const EmbedBatchSource& src, const EmbedderTrainConfig& c,
                    const std::function<void(const EmbedderStep&)>& on_step) {
  EDGE_CHECK(c.steps >= 1 && c.tau > 0, "train_embedder: need steps >= 1 and tau > 0 (got {} and {})", c.steps, c.tau);
  GradSetup setup;
  setup.lora = false;  // every weight trains: the embedder is a model of its own
  LlamaGrad grad(m.llama, setup);
  AdamWConfig ac;
  ac.weight_decay = c.weight_decay;
  AdamW opt(ac);
  const int64_t C = m.llama.config.dim;
  for (int64_t step = 0; step < c.steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    const EmbedBatch batch = src(step);
    const int64_t Q = static_cast<int64_t>(batch.queries.size()), N = static_cast<int64_t>(batch.documents.size());
    EDGE_CHECK(Q >= 1 && N >= Q, "train_embedder: step {} has {} queries and {} documents (need 1 <= Q <= N)", step, Q, N);
    // Queries then documents, one row each, right-padded to the longest: attention is causal, so the padding
    // after a text never reaches the positions pooled, and each row pools only its own span.
    const int64_t B = Q + N;
    std::vector<std::vector<int32_t>> rows(static_cast<size_t>(B));
    std::vector<int32_t> begin(static_cast<size_t>(B)), end(static_cast<size_t>(B));
    int64_t T = 1;
    for (int64_t b = 0; b < B; ++b) {
      const std::string& text = b < Q ? batch.queries[b] : batch.documents[b - Q];
      rows[b] = embed_tokens(m, text, c.max_tokens, &begin[b]);
      end[b] = static_cast<int32_t>(rows[b].size());
      T = std::max<int64_t>(T, end[b]);
    }
    std::vector<int32_t> ids(static_cast<size_t>(B * T), 0);  // (B, T)
    for (int64_t b = 0; b < B; ++b) std::copy(rows[b].begin(), rows[b].end(), ids.begin() + b * T);

    // head: xnf (B·T, C) → pooled (B, C) → unit e (B, C) → InfoNCE(e[0..Q), e[Q..B)); backward in reverse.
    LlamaGrad::HiddenHead head = [&](const float* xnf, float* dxnf, int64_t, int64_t) {
      std::vector<float> pooled(static_cast<size_t>(B * C)), e(pooled.size()), norm(static_cast<size_t>(B));
      std::vector<float> prob(static_cast<size_t>(Q * N)), de(pooled.size(), 0.0f), dpooled(pooled.size(), 0.0f);
      mean_pool_forward(pooled.data(), xnf, begin.data(), end.data(), B, T, C);
      l2_normalize_forward(e.data(), norm.data(), pooled.data(), B, C);
      const float tau = static_cast<float>(c.tau);
      const double loss = info_nce_forward(prob.data(), e.data(), e.data() + Q * C, Q, N, C, tau);
      info_nce_backward(de.data(), de.data() + Q * C, prob.data(), e.data(), e.data() + Q * C, Q, N, C, tau, 1.0f);
      l2_normalize_backward(dpooled.data(), de.data(), e.data(), norm.data(), B, C);
      mean_pool_backward(dxnf, dpooled.data(), begin.data(), end.data(), B, T, C);
      return loss;
    };
    std::vector<Param>& params = grad.params();
    zero_grads(params);
    EmbedderStep log;
    log.loss = grad.forward_backward_hidden(ids.data(), B, T, head);
    log.grad_norm = grad_global_norm(params);
    if (!std::isfinite(log.loss) || !std::isfinite(log.grad_norm))
      fail("train_embedder: step {}: the loss is {} and the gradient norm {}; stopped before the update", step + 1,
           log.loss, log.grad_norm);
    log.lr = lr_at(LrSchedule::Cosine, static_cast<float>(c.lr), static_cast<float>(c.min_lr), step, c.warmup, c.steps);
    opt.step(params, log.lr, c.clip > 0 ? clip_coefficient(log.grad_norm, c.clip) : 1.0f);
    log.step = step + 1;
    log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (on_step) on_step(log);
  }
}

namespace {

// Whether a relevant document is among the top k of `scores` (ties by index, as top_k_dense orders them).
void count_hits(const std::vector<Scored>& ranked, const std::vector<int32_t>& relevant, const std::vector<int>& ks,
                std::vector<double>& hits) {
  for (size_t i = 0; i < ks.size(); ++i)
    for (size_t r = 0; r < ranked.size() && r < static_cast<size_t>(ks[i]); ++r)
      if (std::find(relevant.begin(), relevant.end(), static_cast<int32_t>(ranked[r].chunk)) != relevant.end()) {
        hits[i] += 1;
        break;
      }
}

}  // namespace

std::vector<double> dense_recall(const Model& m, const std::vector<RecallCase>& cases, const std::vector<int>& ks,
                                 int64_t max_tokens) {
  std::vector<double> hits(ks.size(), 0.0);
  if (cases.empty()) return hits;
  const int64_t C = m.llama.config.dim;
  std::map<const std::vector<std::string>*, std::vector<float>> vecs;  // each collection embedded once
  const size_t kmax = static_cast<size_t>(*std::max_element(ks.begin(), ks.end()));
  for (const auto& rc : cases) {
    auto it = vecs.find(rc.documents);
    if (it == vecs.end()) it = vecs.emplace(rc.documents, embed_texts(m, *rc.documents, max_tokens)).first;
    const std::vector<float> q = embed_texts(m, std::vector<std::string>{rc.query}, max_tokens);
    const auto n = static_cast<uint32_t>(rc.documents->size());
    std::vector<float> scores(n);
    for (uint32_t j = 0; j < n; ++j) {
      float dot = 0;
      for (int64_t k = 0; k < C; ++k) dot += q[static_cast<size_t>(k)] * it->second[j * C + k];
      scores[j] = dot;
    }
    count_hits(top_k_dense(scores.data(), n, kmax), rc.relevant, ks, hits);
  }
  for (double& h : hits) h /= static_cast<double>(cases.size());
  return hits;
}

std::vector<double> bm25_recall(const std::vector<RecallCase>& cases, const std::vector<int>& ks) {
  std::vector<double> hits(ks.size(), 0.0);
  if (cases.empty()) return hits;
  std::map<const std::vector<std::string>*, Bm25Index> built;
  const size_t kmax = static_cast<size_t>(*std::max_element(ks.begin(), ks.end()));
  for (const auto& rc : cases) {
    auto it = built.find(rc.documents);
    if (it == built.end()) {
      Bm25Index ix;
      ix.build(std::vector<std::string_view>(rc.documents->begin(), rc.documents->end()));
      it = built.emplace(rc.documents, std::move(ix)).first;
    }
    count_hits(it->second.search(rc.query, kmax), rc.relevant, ks, hits);
  }
  for (double& h : hits) h /= static_cast<double>(cases.size());
  return hits;
}

}  // namespace edgellm::rag
