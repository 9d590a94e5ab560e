// Building an index from documents and querying it (BM25, dense, reciprocal-rank fusion).
// Not persistence (rag/index_file.cpp) and not prompt building (rag/prompt.cpp).
#include "rag/index.h"

#include <unordered_map>

#include "runtime/error.h"

namespace edgellm::rag {

void add_documents(RagIndex& ix, std::vector<Document> docs, const Model& model) {
  const auto& s = ix.settings;
  const Tokenizer& tok = *model.tokenizer;
  TokenCounter count = [&](std::string_view t) { return static_cast<int64_t>(tok.encode(t).size()); };
  const size_t first_new = ix.chunks.size();
  for (auto& d : docs) {
    const auto doc = static_cast<uint32_t>(ix.docs.size());
    for (auto& c : chunk_document(d.text, doc, count, ChunkOptions{s.chunk_tokens, s.overlap}))
      ix.chunks.push_back(std::move(c));
    ix.docs.push_back(DocInfo{std::move(d.id), std::move(d.metadata)});
  }
  std::vector<std::string_view> texts;
  texts.reserve(ix.chunks.size());
  for (const auto& c : ix.chunks) texts.push_back(c.text);
  const Bm25Params p = ix.bm25.params;
  ix.bm25 = Bm25Index{};
  ix.bm25.params = p;
  ix.bm25.build(texts);

  if (!s.dense) return;
  const int64_t C = model.llama.config.dim;
  if (ix.dense.n == 0) {
    ix.dense = DenseStore{};
    ix.dense.dim = C;
    ix.dense.int8 = s.int8;
  } else if (ix.dense.dim != C) {
    fail("rag: the index's vectors have dimension {} (model {}), the model given has {}", ix.dense.dim,
         s.embed_model, C);
  }
  std::vector<std::string> fresh;
  for (size_t i = first_new; i < ix.chunks.size(); ++i) fresh.push_back(ix.chunks[i].text);
  // Batches of 64 chunks, so memory stays small for large corpora.
  for (size_t b = 0; b < fresh.size(); b += 64) {
    const size_t e = std::min(fresh.size(), b + 64);
    auto v = embed_texts(model, std::span<const std::string>(fresh.data() + b, e - b), s.embed_max_tokens);
    ix.dense.append(v.data(), static_cast<int64_t>(e - b));
  }
}

Mode mode_from_name(const std::string& name) {
  if (name == "bm25") return Mode::Bm25;
  if (name == "dense") return Mode::Dense;
  if (name == "hybrid") return Mode::Hybrid;
  fail("unknown retrieval mode '{}' (use bm25, dense or hybrid)", name);
}

std::vector<Scored> rrf_fuse(const std::vector<std::vector<Scored>>& lists, double rrf_k, size_t k) {
  std::unordered_map<uint32_t, double> acc;
  for (const auto& l : lists)
    for (size_t r = 0; r < l.size(); ++r) acc[l[r].chunk] += 1.0 / (rrf_k + static_cast<double>(r + 1));
  std::vector<Scored> out;
  out.reserve(acc.size());
  for (auto [c, s] : acc) out.push_back({c, static_cast<float>(s)});
  keep_top_k(out, k);
  return out;
}

std::vector<Scored> retrieve(const RagIndex& ix, const std::string& query, const QueryOptions& opt,
                             const Model* model) {
  const size_t cand = std::max(opt.candidates, opt.k);
  auto dense = [&](size_t k) {
    EDGE_CHECK(!ix.dense.empty(), "rag: this index has no vectors (built with --no-dense): use --mode bm25");
    EDGE_CHECK(model != nullptr, "rag: dense retrieval needs the embedding model ({})", ix.settings.embed_model);
    EDGE_CHECK(model->llama.config.dim == ix.dense.dim, "rag: model dimension {} differs from the index's {}",
               model->llama.config.dim, ix.dense.dim);
    std::string q = query;
    auto v = embed_texts(*model, std::span<const std::string>(&q, 1), ix.settings.embed_max_tokens);
    return dense_search(ix.dense, v.data(), 1, k)[0];
  };
  switch (opt.mode) {
    case Mode::Bm25: return ix.bm25.search(query, opt.k);
    case Mode::Dense: return dense(opt.k);
    case Mode::Hybrid: return rrf_fuse({ix.bm25.search(query, cand), dense(cand)}, opt.rrf_k, opt.k);
  }
  return {};
}

}  // namespace edgellm::rag
