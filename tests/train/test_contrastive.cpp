// The embedder's contrastive head (mean pool → L2 normalise → InfoNCE) against central finite differences
// in double, and LlamaGrad's hidden-state head: its pooled vectors equal rag::embed_texts', its gradients FD's.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "models/runner.h"
#include "rag/dense.h"
#include "rag/embedder_train.h"
#include "train/contrastive.h"
#include "train/llama_grad.h"

using namespace edgellm;

namespace {

// loss(x) = InfoNCE(normalize(pool(x))[0..Q), normalize(pool(x))[Q..B)); gradient into dx when given.
double head_loss(const std::vector<double>& x, const std::vector<int32_t>& b0, const std::vector<int32_t>& b1,
                 int64_t Q, int64_t N, int64_t T, int64_t C, double tau, std::vector<double>* dx) {
  const int64_t B = Q + N;
  std::vector<double> pooled(static_cast<size_t>(B * C)), e(pooled.size()), norm(static_cast<size_t>(B));
  std::vector<double> prob(static_cast<size_t>(Q * N));
  mean_pool_forward(pooled.data(), x.data(), b0.data(), b1.data(), B, T, C);
  l2_normalize_forward(e.data(), norm.data(), pooled.data(), B, C);
  const double loss = info_nce_forward(prob.data(), e.data(), e.data() + Q * C, Q, N, C, tau);
  if (dx) {
    std::vector<double> de(pooled.size(), 0.0), dp(pooled.size(), 0.0);
    info_nce_backward(de.data(), de.data() + Q * C, prob.data(), e.data(), e.data() + Q * C, Q, N, C, tau, 1.0);
    l2_normalize_backward(dp.data(), de.data(), e.data(), norm.data(), B, C);
    mean_pool_backward(dx->data(), dp.data(), b0.data(), b1.data(), B, T, C);
  }
  return loss;
}

}  // namespace

TEST_CASE("contrastive head: pool, normalise and InfoNCE backward match central differences (double)") {
  std::mt19937 rng(7);
  std::normal_distribution<double> nd(0.0, 1.0);
  for (int64_t C : {1, 7, 33}) {
    const int64_t Q = 3, N = 5, T = 6, B = Q + N;
    std::vector<int32_t> b0(B), b1(B);
    for (int64_t b = 0; b < B; ++b) b0[b] = static_cast<int32_t>(b % 2), b1[b] = static_cast<int32_t>(2 + b % 5);  // ragged
    std::vector<double> x(static_cast<size_t>(B * T * C));
    for (auto& v : x) v = nd(rng);
    std::vector<double> dx(x.size(), 0.0);
    const double tau = 0.3;
    head_loss(x, b0, b1, Q, N, T, C, tau, &dx);
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      std::vector<double> xp = x, xm = x;
      const double h = 1e-6;
      xp[i] += h, xm[i] -= h;
      const double fd = (head_loss(xp, b0, b1, Q, N, T, C, tau, nullptr) - head_loss(xm, b0, b1, Q, N, T, C, tau, nullptr)) / (2 * h);
      worst = std::max(worst, std::fabs(fd - dx[i]) / std::max(1.0, std::fabs(fd)));
      const int64_t b = static_cast<int64_t>(i) / (T * C), t = (static_cast<int64_t>(i) / C) % T;
      if (t < b0[b] || t >= b1[b]) CHECK(dx[i] == 0.0);  // outside the pooled span: no gradient at all
    }
    CAPTURE(C);
    CHECK(worst < 1e-7);
  }
}

TEST_CASE("info_nce: a query aligned with its own document and far from the rest has a loss near zero") {
  const int64_t C = 2;
  const std::vector<double> q = {1, 0, 0, 1}, d = {1, 0, 0, 1, -1, 0};
  std::vector<double> prob(6);
  CHECK(info_nce_forward(prob.data(), q.data(), d.data(), 2, 3, C, 0.01) < 1e-20);
  CHECK(info_nce_forward(prob.data(), q.data(), d.data(), 2, 3, C, 10.0) > 1.0);  // high temperature: near uniform
}

TEST_CASE("forward_backward_hidden: pooled states equal embed_texts' vectors; weight gradients match differences") {
  Model m = load_model("builtin:tiny");
  const std::vector<std::string> texts = {"where do i live?", "diary day 3: i moved to oslo. the rain kept on.",
                                          "note day 9: my sister is called Ada.", "what is my pet called?"};
  const int64_t B = 4, C = m.llama.config.dim;
  std::vector<std::vector<int32_t>> rows;
  std::vector<int32_t> b0(B), b1(B);
  int64_t T = 1;
  for (int64_t b = 0; b < B; ++b) {
    rows.push_back(rag::embed_tokens(m, texts[b], 256, &b0[b]));
    b1[b] = static_cast<int32_t>(rows[b].size());
    T = std::max<int64_t>(T, b1[b]);
  }
  std::vector<int32_t> ids(static_cast<size_t>(B * T), 3);  // right padding with an arbitrary token
  for (int64_t b = 0; b < B; ++b) std::copy(rows[b].begin(), rows[b].end(), ids.begin() + b * T);
  const std::vector<float> want = rag::embed_texts(m, texts, 256);  // before the weights become f32 copies

  GradSetup setup;
  LlamaGrad g(m.llama, setup);
  std::vector<float> got(static_cast<size_t>(B * C));
  // Loss Σ_b w_b·e_b with fixed w: a linear functional of the embeddings, gradient by the ops' backward.
  std::vector<float> w(got.size());
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.37f * static_cast<float>(i));
  LlamaGrad::HiddenHead head = [&](const float* xnf, float* dxnf, int64_t, int64_t) {
    std::vector<float> pooled(got.size()), norm(B), dp(got.size(), 0.0f);
    mean_pool_forward(pooled.data(), xnf, b0.data(), b1.data(), B, T, C);
    l2_normalize_forward(got.data(), norm.data(), pooled.data(), B, C);
    double loss = 0;
    for (size_t i = 0; i < w.size(); ++i) loss += static_cast<double>(w[i]) * got[i];
    l2_normalize_backward(dp.data(), w.data(), got.data(), norm.data(), B, C);
    mean_pool_backward(dxnf, dp.data(), b0.data(), b1.data(), B, T, C);
    return loss;
  };
  zero_grads(g.params());
  g.forward_backward_hidden(ids.data(), B, T, head);
  for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == doctest::Approx(want[i]).epsilon(1e-4));

  // Central differences on a few entries of three parameters (the first layer's q, the last's down, the norm).
  for (Param& p : g.params()) {
    if (p.name.find("layers.0.self_attn.q_proj") == std::string::npos &&
        p.name.find("mlp.down_proj") == std::string::npos && p.name != "model.norm.weight")
      continue;
    const std::vector<float> analytic(p.grad, p.grad + p.n);
    for (int64_t i = 0; i < p.n; i += std::max<int64_t>(1, p.n / 5)) {
      const float keep = p.value[i], h = 1e-2f;
      std::vector<double> f(2);
      for (int s = 0; s < 2; ++s) {
        p.value[i] = keep + (s ? -h : h);
        zero_grads(g.params());
        f[s] = g.forward_backward_hidden(ids.data(), B, T, head);
      }
      p.value[i] = keep;
      const double fd = (f[0] - f[1]) / (2.0 * h);
      CAPTURE(p.name);
      CAPTURE(i);
      CHECK(analytic[static_cast<size_t>(i)] == doctest::Approx(fd).epsilon(2e-2).scale(std::fabs(fd) + 1e-2));
    }
  }
}

TEST_CASE("train_embedder: on a fixed batch the InfoNCE loss falls and the trained model embeds as trained") {
  Model m = load_model("builtin:tiny");
  rag::EmbedBatch b;
  b.queries = {"where do i live?", "what is my pet called?", "who is my sister?"};
  b.documents = {"i moved to oslo last year.", "my cat is called Tom.", "my sister is called Ada.",
                 "the train was late again.", "i had soup for lunch."};
  rag::EmbedderTrainConfig c;
  c.steps = 25, c.lr = 3e-3, c.warmup = 0;
  std::vector<double> loss;
  rag::train_embedder(m, [&](int64_t) { return b; }, c, [&](const rag::EmbedderStep& s) { loss.push_back(s.loss); });
  REQUIRE(loss.size() == 25);
  CHECK(loss.back() < 0.5 * loss.front());
  // Each query's nearest document (by embed_texts, the retrieval path) is now its own.
  const auto q = rag::embed_texts(m, b.queries, 256), d = rag::embed_texts(m, b.documents, 256);
  const int64_t C = m.llama.config.dim;
  for (size_t i = 0; i < b.queries.size(); ++i) {
    size_t best = 0;
    float best_s = -2;
    for (size_t j = 0; j < b.documents.size(); ++j) {
      float s = 0;
      for (int64_t k = 0; k < C; ++k) s += q[i * C + k] * d[j * C + k];
      if (s > best_s) best_s = s, best = j;
    }
    CHECK(best == i);
  }
}
