// Dense retrieval: chunk embeddings from a loaded model's own hidden states, and exact top-k by dot
// products (the f32 GEMM of kernels/gemm.h; an int8 path with per-vector scales). Not approximate
// (no HNSW/IVF). Any model embeds: an LM (quality is whatever its states give) or an embedder trained for
// retrieval (rag/embedder_train.h), a model of the same kind read the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/runner.h"
#include "rag/topk.h"

namespace edgellm::rag {

// Embeds each text: tokens (with BOS as the tokenizer wants, truncated to max_tokens and the model's
// context) -> final hidden states after the final RMSNorm (T, C) -> mean over the positions after BOS
// (all positions when there is no BOS or nothing after it) -> L2-normalised. Returns (n, C).
// Texts are evaluated one sequence at a time (the decoder has no padding masks); each forward is
// batched over its T positions and threaded inside the kernels.
std::vector<float> embed_texts(const Model& m, std::span<const std::string> texts, int64_t max_tokens = 512);

// The tokens embed_texts gives the model for `text` (BOS as the tokenizer wants, at most max_tokens and the
// model's context) and the first position it pools (1 after a BOS with text after it, else 0): what an
// embedder is trained on (rag/embedder_train.h) is exactly what it embeds.
std::vector<int32_t> embed_tokens(const Model& m, const std::string& text, int64_t max_tokens, int32_t* pool_begin);

// Scales x (n) to unit L2 norm (left as zero if it is zero).
void l2_normalize(float* x, int64_t n);

// Chunk vectors, f32 or int8 with one scale per vector (v ≈ scale·q, scale = max|v|/127).
// Data is owned or points into a mapped index file (`keep` holds the mapping).
struct DenseStore {
  int64_t dim = 0;   // C
  int64_t n = 0;     // N chunks
  bool int8 = false;
  std::vector<float> f32_owned;    // (N, C)
  std::vector<int8_t> q_owned;     // (N, C)
  std::vector<float> scale_owned;  // (N)
  const float* f32 = nullptr;      // views of the above or of the file
  const int8_t* q = nullptr;
  const float* scale = nullptr;
  std::shared_ptr<const void> keep;

  bool empty() const { return n == 0; }
  // Appends vectors (rows, C) as f32, or quantized when int8; re-points the views at owned data.
  void append(const float* v, int64_t rows);
  // Copies mapped data into owned storage (before appending to a loaded index).
  void own();
  // Row i as f32 (dequantized when int8); (C).
  void row(int64_t i, float* out) const;
};

// Quantizes rows (rows, C) to int8 with per-row scale max|v|/127 (round to nearest even).
void quantize_rows_int8(int8_t* q, float* scale, const float* v, int64_t rows, int64_t C);

// Σ_j x[j]·q[j] in float: the scalar reference of the int8 path; (C).
float dot_f32_i8_ref(const float* x, const int8_t* q, int64_t C);

// The k best chunks for each query (Q, C), by dot product (cosine, for unit vectors): a GEMM of the
// queries against each block of chunk vectors, blocks spread over threads; int8 blocks are widened to
// f32 (scale·q) first, so scores equal scale·dot_f32_i8_ref up to float rounding.
std::vector<std::vector<Scored>> dense_search(const DenseStore& s, const float* queries, int64_t Q, size_t k);

}  // namespace edgellm::rag
