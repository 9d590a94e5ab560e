// Building an index from documents and querying it (BM25, dense, reciprocal-rank fusion).
// Not persistence (rag/index_file.cpp) and not prompt building (rag/prompt.cpp).
#include "rag/index.h"

#include <filesystem>
#include <unordered_map>

#include "models/builtin.h"
#include "runtime/file_lock.h"

#include "runtime/error.h"

namespace edgellm::rag {

void charge_held(RagIndex& ix) {
  size_t b = ix.docs.capacity() * sizeof(DocInfo) + ix.chunks.capacity() * sizeof(Chunk);
  for (const auto& d : ix.docs) b += d.id.capacity() + d.metadata.capacity();
  for (const auto& c : ix.chunks) b += c.text.capacity();
  const auto& m = ix.bm25;
  // Each term twice (the sorted list and the lookup table, ~32 bytes of node and bucket each).
  for (const auto& t : m.terms) b += 2 * (t.capacity() + sizeof(std::string) + 32);
  b += m.term_start.capacity() * sizeof(uint64_t) + m.postings.capacity() * sizeof(Posting) +
       m.chunk_len.capacity() * sizeof(uint32_t);
  const auto& d = ix.dense;
  b += d.f32_owned.capacity() * sizeof(float) + d.q_owned.capacity() + d.scale_owned.capacity() * sizeof(float);
  ix.held.set(b);
}

void add_documents(RagIndex& ix, std::vector<Document> docs, const Model& model, const Model* embedder) {
  if (docs.empty()) fail("rag: no documents to add (an empty file or folder, or a JSONL file without lines)");
  // The documents' text while they are chunked, on top of the index.
  ArenaCharge texts_held("the documents being indexed");
  {
    size_t b = 0;
    for (const auto& d : docs) b += document_bytes(d);
    texts_held.set(b);
  }
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
  charge_held(ix);

  if (!s.dense) return;
  const Model& em = embedder ? *embedder : model;
  const int64_t C = em.llama.config.dim;
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
    auto v = embed_texts(em, std::span<const std::string>(fresh.data() + b, e - b), s.embed_max_tokens);
    ix.dense.append(v.data(), static_cast<int64_t>(e - b));
    charge_held(ix);
  }
}

std::string embedder_identity(const Model& m) {
  const LlamaConfig& c = m.llama.config;
  const Tensor& e = m.llama.weights.tok_embd;
  const size_t row = static_cast<size_t>(dtype_row_bytes(e.dtype(), c.dim));
  uint32_t crc = crc32(e.raw(), row);
  crc = crc32(e.raw() + row * static_cast<size_t>(c.vocab - 1), row, crc);
  const Tensor& n = m.llama.weights.out_norm;
  crc = crc32(n.raw(), n.nbytes(), crc);
  return fmt::format("dim {} layers {} vocab {} crc32 {:08x}", c.dim, c.n_layers, c.vocab, crc);
}

Model load_embedder(const RagIndex& ix, const std::string& spec_arg) {
  const std::string& spec = spec_arg.empty() ? ix.settings.embed_model : spec_arg;
  const IndexSettings& s = ix.settings;
  if (spec.empty()) fail("rag: this index has no embedding model (built with --no-dense): use --mode bm25");
  if (spec.rfind("builtin:", 0) == 0) {
    const std::string preset = spec.substr(8, spec.find(':', 8) == std::string::npos ? std::string::npos
                                                                                    : spec.find(':', 8) - 8);
    const int64_t dim = builtin_config(preset).dim;
    if (ix.dense.n > 0 && dim != ix.dense.dim)
      fail("rag: the index's vectors have dimension {}; '{}' has {}, so it cannot have made them (not loaded)",
           ix.dense.dim, spec, dim);
  } else if (s.embed_bytes != 0 && spec == s.embed_model) {
    std::error_code ec;
    const uint64_t size = std::filesystem::is_regular_file(spec, ec) ? std::filesystem::file_size(spec, ec) : 0;
    if (size != s.embed_bytes)
      fail("rag: the index's vectors come from '{}' of {} bytes; that path is now {} bytes (not loaded)", spec,
           s.embed_bytes, size);
  }
  return load_model(spec);  // retrieve() checks its identity
}

RagIndex write_index(const std::string& path, const std::vector<std::string>& doc_paths, const Model& model,
                     const IndexSettings& settings, bool add, const Model* embedder) {
  const OutputLock lock(path, OutputLock::Wait::Block);
  const Model& em = embedder ? *embedder : model;
  RagIndex ix;
  std::error_code ec;
  if (add && std::filesystem::exists(path, ec)) {
    ix = load_index(path);
    ix.dense.own();  // the file is about to be replaced
    if (ix.settings.dense && ix.settings.embed_model != settings.embed_model)
      fail("{}: the index's vectors come from '{}', not '{}'", path, ix.settings.embed_model, settings.embed_model);
    if (ix.settings.dense && !ix.settings.embed_identity.empty() &&
        ix.settings.embed_identity != embedder_identity(em))
      fail("{}: the index's vectors come from a model with identity {}, '{}' is {}", path,
           ix.settings.embed_identity, settings.embed_model, embedder_identity(em));
  } else {
    ix.settings = settings;
    ix.bm25.params = settings.bm25;
    if (settings.dense) {
      ix.settings.embed_identity = embedder_identity(em);
      std::error_code ec;
      if (std::filesystem::is_regular_file(settings.embed_model, ec))
        ix.settings.embed_bytes = std::filesystem::file_size(settings.embed_model, ec);
    }
  }
  add_documents(ix, load_documents(doc_paths), model, embedder);
  save_index(ix, path);
  return ix;
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
    if (!ix.settings.embed_identity.empty() && embedder_identity(*model) != ix.settings.embed_identity)
      fail("rag: the embedding model {} is not the one the index's vectors come from ({}: {})",
           embedder_identity(*model), ix.settings.embed_model, ix.settings.embed_identity);
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
