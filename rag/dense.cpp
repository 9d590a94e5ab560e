// Embedding by mean pooling of final hidden states, int8 vector storage, exact dot-product top-k.
// Not a kernel file: dot products go through kernels/gemm.h (int8 rows widened block by block first).
#include "rag/dense.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "kernels/gemm.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm::rag {

void l2_normalize(float* x, int64_t n) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  if (ss <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(ss));
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

std::vector<int32_t> embed_tokens(const Model& m, const std::string& text, int64_t max_tokens, int32_t* pool_begin) {
  const int64_t cap = std::max<int64_t>(1, std::min(max_tokens, m.llama.config.max_ctx));
  EncodeOptions eo;
  eo.add_bos = m.tokenizer->add_bos_default() || m.tokenizer->bos_id() >= 0;
  std::vector<int32_t> ids = m.tokenizer->encode(text, eo);
  if (ids.empty()) ids.push_back(std::max(m.tokenizer->bos_id(), 0));
  if (static_cast<int64_t>(ids.size()) > cap) ids.resize(static_cast<size_t>(cap));
  const bool has_bos = eo.add_bos && ids.front() == m.tokenizer->bos_id() && ids.size() > 1;
  *pool_begin = has_bos ? 1 : 0;
  return ids;
}

std::vector<float> embed_texts(const Model& m, std::span<const std::string> texts, int64_t max_tokens) {
  const auto& cfg = m.llama.config;
  const int64_t C = cfg.dim;
  const int64_t cap = std::max<int64_t>(1, std::min(max_tokens, cfg.max_ctx));
  std::vector<float> out(texts.size() * static_cast<size_t>(C), 0.0f);  // (n, C)
  KvCache cache(cfg, cap);
  std::vector<float> logits(static_cast<size_t>(cfg.vocab));
  for (size_t i = 0; i < texts.size(); ++i) {
    int32_t r0 = 0;
    const std::vector<int32_t> ids = embed_tokens(m, texts[i], max_tokens, &r0);
    float* dst = out.data() + i * static_cast<size_t>(C);
    ActivationObserver obs = [&](const std::string& name, const float* x, int64_t rows, int64_t cols) {
      if (name != "final_norm_out") return;  // x: (T, C)
      for (int64_t r = r0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) dst[c] += x[r * cols + c];
      const float inv = 1.0f / static_cast<float>(rows - r0);
      for (int64_t c = 0; c < cols; ++c) dst[c] *= inv;
    };
    cache.clear();
    llama_forward(m.llama, cache, ids.data(), static_cast<int64_t>(ids.size()), logits.data(), false, &obs);
    l2_normalize(dst, C);
  }
  return out;
}

// ---- storage ------------------------------------------------------------------------------------

void quantize_rows_int8(int8_t* q, float* scale, const float* v, int64_t rows, int64_t C) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = v + r * C;
    float amax = 0;
    for (int64_t j = 0; j < C; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float s = amax / 127.0f;
    scale[r] = s;
    const float inv = s > 0 ? 1.0f / s : 0.0f;
    for (int64_t j = 0; j < C; ++j) q[r * C + j] = static_cast<int8_t>(std::nearbyint(x[j] * inv));
  }
}

float dot_f32_i8_ref(const float* x, const int8_t* q, int64_t C) {
  float acc = 0;
  for (int64_t j = 0; j < C; ++j) acc += x[j] * static_cast<float>(q[j]);
  return acc;
}

void DenseStore::own() {
  if (int8) {
    if (q != q_owned.data()) q_owned.assign(q, q + n * dim);
    if (scale != scale_owned.data()) scale_owned.assign(scale, scale + n);
    q = q_owned.data();
    scale = scale_owned.data();
  } else {
    if (f32 != f32_owned.data()) f32_owned.assign(f32, f32 + n * dim);
    f32 = f32_owned.data();
  }
  keep.reset();
}

void DenseStore::append(const float* v, int64_t rows) {
  EDGE_CHECK(dim > 0, "dense store: dimension not set");
  own();
  if (int8) {
    q_owned.resize(static_cast<size_t>((n + rows) * dim));
    scale_owned.resize(static_cast<size_t>(n + rows));
    quantize_rows_int8(q_owned.data() + n * dim, scale_owned.data() + n, v, rows, dim);
    q = q_owned.data();
    scale = scale_owned.data();
  } else {
    f32_owned.insert(f32_owned.end(), v, v + rows * dim);
    f32 = f32_owned.data();
  }
  n += rows;
}

void DenseStore::row(int64_t i, float* out) const {
  if (int8) {
    for (int64_t j = 0; j < dim; ++j) out[j] = scale[i] * static_cast<float>(q[i * dim + j]);
  } else {
    std::copy(f32 + i * dim, f32 + (i + 1) * dim, out);
  }
}

// ---- search -------------------------------------------------------------------------------------

std::vector<std::vector<Scored>> dense_search(const DenseStore& s, const float* queries, int64_t Q, size_t k) {
  const int64_t C = s.dim, N = s.n;
  std::vector<std::vector<Scored>> best(static_cast<size_t>(Q));
  if (N == 0 || Q == 0) return best;
  // Blocks of chunks; one parallel region over blocks (the GEMM runs single-threaded inside it), so a
  // search costs one fork/join however many blocks there are. int8 blocks are widened to f32 first.
  const int64_t kBlock = s.int8 ? 1024 : 4096;
  const int64_t n_blocks = (N + kBlock - 1) / kBlock;
  std::mutex mu;
  parallel_for(n_blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> scores, deq;
    std::vector<std::vector<Scored>> mine(static_cast<size_t>(Q));
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t c0 = blk * kBlock, nb = std::min(kBlock, N - c0);
      scores.resize(static_cast<size_t>(Q * nb));  // (Q, nb)
      const float* rows = s.f32 ? s.f32 + c0 * C : nullptr;
      if (s.int8) {
        // v = scale·q row by row (vectorizable, no reduction); dot_f32_i8_ref is the scalar twin.
        deq.resize(static_cast<size_t>(nb * C));  // (nb, C)
        for (int64_t i = 0; i < nb; ++i) {
          const int8_t* qr = s.q + (c0 + i) * C;
          const float sc = s.scale[c0 + i];
          float* dr = deq.data() + i * C;
          for (int64_t j = 0; j < C; ++j) dr[j] = sc * static_cast<float>(qr[j]);
        }
        rows = deq.data();
      }
      // scores (Q, nb) = queries (Q, C) · rows (nb, C)ᵀ
      gemm_f32(Trans::N, Trans::T, Q, nb, C, 1.0f, queries, C, rows, C, 0.0f, scores.data(), nb);
      for (int64_t qi = 0; qi < Q; ++qi) {
        auto top = top_k_dense(scores.data() + qi * nb, static_cast<uint32_t>(nb), k);
        for (auto& t : top) t.chunk += static_cast<uint32_t>(c0);
        auto& m = mine[qi];
        m.insert(m.end(), top.begin(), top.end());
        keep_top_k(m, k);
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    for (int64_t qi = 0; qi < Q; ++qi) {
      best[qi].insert(best[qi].end(), mine[qi].begin(), mine[qi].end());
      keep_top_k(best[qi], k);
    }
  });
  return best;
}

}  // namespace edgellm::rag
