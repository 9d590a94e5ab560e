// A RAG index: documents, chunks, the BM25 inverted index and the chunk vectors, built from files
// and a model, saved as one checksummed file and queried by BM25, dense or fused retrieval.
// Not a database: no deletes or updates in place; adding documents rewrites the whole file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/runner.h"
#include "rag/bm25.h"
#include "rag/dense.h"
#include "rag/ingest.h"
#include "runtime/mmap_file.h"
#include "runtime/user_data.h"

namespace edgellm::rag {

// ---- index file format (version 1, little-endian) -------------------------------------------------
// offset 0, header (64 bytes):
//   char magic[8] = "EDGERAG\0"; u32 version = 1; u32 n_sections; u64 file_size;
//   u32 table_crc (CRC-32 of the section table); u32 header_crc (CRC-32 of bytes 0..27); 32 zero bytes
// offset 64, section table: n_sections × 32 bytes {char id[4]; u32 crc; u64 offset; u64 size; u64 zero}
// sections, each at a 64-byte aligned offset (so vectors can be used in place from the mapping):
//   META  JSON: {"format":"edgellm-rag","settings":{...},"n_chunks","n_terms","n_postings",
//         "dense":{"dim","dtype":"f32"|"i8"|"none"},"docs":[{"id","metadata"}]}
//   CHNK  n_chunks × 32 bytes {u32 doc; u32 text_len; u64 begin; u64 end; u64 text_off}
//   TEXT  the chunks' texts, concatenated (text_off/text_len index into it)
//   TERM  (n_terms + 1) × 24 bytes {u64 str_off; u64 post_begin; u32 str_len; u32 zero}; the last
//         record is a sentinel whose post_begin = n_postings. Terms are sorted bytewise.
//   TSTR  the terms' UTF-8 bytes, concatenated
//   POST  n_postings × 8 bytes {u32 chunk; u32 tf}, per term by chunk ascending
//   CLEN  n_chunks × u32: retrieval words per chunk (BM25's |d|)
//   VECF  n_chunks × dim f32 (dtype f32), or
//   VECQ  n_chunks × dim i8 and VSCL n_chunks × f32 scales (dtype i8); absent when dtype is none.
// CRC-32 is the IEEE/zlib polynomial (reflected 0xEDB88320). Every section's checksum, bounds and
// cross-references are checked on open; a failure throws FormatError(file, "section XXXX", why).
// --------------------------------------------------------------------------------------------------

struct IndexSettings {
  int64_t chunk_tokens = 256;
  int64_t overlap = 32;
  Bm25Params bm25;
  std::string embed_model;    // the model spec the vectors came from ("" without vectors)
  // Who embed_model was when the vectors were made (embedder_identity; "" in indexes written before it was kept):
  // a query or an --add embeds only with a model of this identity, whatever model the index or the user names.
  std::string embed_identity;
  uint64_t embed_bytes = 0;   // the size of embed_model's file when it is one (checked before it is loaded)
  int64_t embed_max_tokens = 512;
  bool dense = true;          // store vectors
  bool int8 = false;          // store them as int8 with per-vector scales
};

struct DocInfo {
  std::string id;
  std::string metadata;  // JSON object text
};

struct RagIndex {
  IndexSettings settings;
  std::vector<DocInfo> docs;
  std::vector<Chunk> chunks;
  Bm25Index bm25;
  DenseStore dense;  // empty unless settings.dense
  // What the index holds in memory (documents, chunks, BM25 postings and terms, owned vectors), charged to
  // --mem-budget by add_documents and load_index (charge_held).
  ArenaCharge held{"the RAG index in memory"};
};

// Charges ix.held what the index holds now: a BudgetError naming the budget when it does not fit.
void charge_held(RagIndex& ix);

// Chunks `docs` with the model's tokenizer, appends them (zero documents is an Error: an index of nothing), rebuilds BM25 and embeds the new chunks
// (when settings.dense) with `embedder`, or the model itself when null (the embedder must be the one the existing
// vectors came from: its dim is checked).
void add_documents(RagIndex& ix, std::vector<Document> docs, const Model& model, const Model* embedder = nullptr);

// `rag index`: builds the index file at `path` from the documents at `doc_paths` with `settings`, or with `add`
// extends the existing one (its settings kept; the embedder must be the one its vectors came from). `embedder` (a
// trained one, settings.embed_model naming its file) embeds; null: `model` embeds as well as chunks. An OutputLock on
// `path` is held from reading the old index to renaming the new one into place: concurrent writers wait for each
// other and each adds to what the previous one wrote. Returns the index written.
RagIndex write_index(const std::string& path, const std::vector<std::string>& doc_paths, const Model& model,
                     const IndexSettings& settings, bool add, const Model* embedder = nullptr);

// A model's identity as an embedder: its shape (dim, layers, vocabulary) and a CRC-32 of the raw bytes of its first
// and last token embeddings and final norm (bytes, not floats: the same on every ISA and device).
std::string embedder_identity(const Model& m);
// Loads the embedding model for retrieval from `ix`: `spec`, or the index's embed_model when empty. The index file
// names the model and may come from anyone, so the model is checked before it is loaded against what the index
// records (a builtin: preset's width against the vectors' dimension; a file's size against embed_bytes) and after
// against embed_identity; a mismatch is an Error naming both, and a model that could not have made the vectors is
// never built or read; retrieve() checks the identity of the model it embeds with.
Model load_embedder(const RagIndex& ix, const std::string& spec);

enum class Mode { Bm25, Dense, Hybrid };
Mode mode_from_name(const std::string& name);  // "bm25" | "dense" | "hybrid"; Error otherwise

struct QueryOptions {
  size_t k = 5;
  Mode mode = Mode::Hybrid;
  double rrf_k = 60;       // reciprocal-rank fusion constant
  size_t candidates = 50;  // per list before fusion (at least k)
};
// model: needed for dense and hybrid (it embeds the question); nullptr allowed for BM25.
std::vector<Scored> retrieve(const RagIndex& ix, const std::string& query, const QueryOptions& opt,
                             const Model* model);

// Reciprocal-rank fusion: score(c) = Σ_lists 1 / (rrf_k + rank), rank from 1; top k, ties by chunk.
std::vector<Scored> rrf_fuse(const std::vector<std::vector<Scored>>& lists, double rrf_k, size_t k);

// ---- persistence (rag/index_file.cpp) ----
struct SaveHooks {
  std::function<void(const char* section)> after_section;  // tests: called after each section is written
};
void save_index(const RagIndex& ix, const std::string& path, const SaveHooks& hooks = {});
RagIndex load_index(const std::string& path);
// The same from bytes already mapped or in memory (MappedFile::from_memory: fuzzing, embedded indexes).
RagIndex load_index(std::shared_ptr<MappedFile> file);
uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

}  // namespace edgellm::rag
