// Saving and opening the one-file RAG index (format in rag/index.h), with CRC-32 per section.
// Not a streaming reader: chunks, terms and postings are copied into memory; only vectors stay mapped.
#include <array>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>

#include "rag/index.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"
#include "runtime/parse_meter.h"

namespace edgellm::rag {

static_assert(std::endian::native == std::endian::little, "the index format is little-endian");

namespace {

constexpr char kMagic[8] = {'E', 'D', 'G', 'E', 'R', 'A', 'G', '\0'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 64, kEntryBytes = 32, kAlign = 64;

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

struct ChunkRec {
  uint32_t doc, text_len;
  uint64_t begin, end, text_off;
};
static_assert(sizeof(ChunkRec) == 32);
struct TermRec {
  uint64_t str_off, post_begin;
  uint32_t str_len, zero;
};
static_assert(sizeof(TermRec) == 24);
static_assert(sizeof(Posting) == 8);

struct Section {
  char id[5];
  const void* data;
  uint64_t size;
};

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  static const auto table = make_crc_table();
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

void save_index(const RagIndex& ix, const std::string& path, const SaveHooks& hooks) {
  const auto N = ix.chunks.size();
  // META
  nlohmann::json meta;
  const auto& s = ix.settings;
  meta["format"] = "edgellm-rag";
  meta["settings"] = {{"chunk_tokens", s.chunk_tokens}, {"overlap", s.overlap}, {"k1", s.bm25.k1},
                      {"b", s.bm25.b}, {"embed_model", s.embed_model}, {"embed_max_tokens", s.embed_max_tokens},
                      {"dense", s.dense}, {"int8", s.int8},
                      {"embed_identity", s.embed_identity}, {"embed_bytes", s.embed_bytes}};
  meta["n_chunks"] = N;
  meta["n_terms"] = ix.bm25.terms.size();
  meta["n_postings"] = ix.bm25.postings.size();
  const char* dtype = ix.dense.empty() ? "none" : ix.dense.int8 ? "i8" : "f32";
  meta["dense"] = {{"dim", ix.dense.empty() ? 0 : ix.dense.dim}, {"dtype", dtype}};
  auto docs = nlohmann::json::array();
  for (const auto& d : ix.docs) docs.push_back({{"id", d.id}, {"metadata", d.metadata}});
  meta["docs"] = std::move(docs);
  const std::string meta_s = meta.dump();
  // CHNK + TEXT
  std::vector<ChunkRec> chunks(N);
  std::string text;
  for (size_t i = 0; i < N; ++i) {
    const Chunk& c = ix.chunks[i];
    chunks[i] = {c.doc, static_cast<uint32_t>(c.text.size()), c.begin, c.end, text.size()};
    text += c.text;
  }
  // TERM + TSTR
  const auto& bm = ix.bm25;
  std::vector<TermRec> terms(bm.terms.size() + 1);
  std::string tstr;
  for (size_t i = 0; i < bm.terms.size(); ++i) {
    terms[i] = {tstr.size(), bm.term_start[i], static_cast<uint32_t>(bm.terms[i].size()), 0};
    tstr += bm.terms[i];
  }
  terms.back() = {tstr.size(), bm.postings.size(), 0, 0};

  std::vector<Section> secs = {
      {"META", meta_s.data(), meta_s.size()},
      {"CHNK", chunks.data(), N * sizeof(ChunkRec)},
      {"TEXT", text.data(), text.size()},
      {"TERM", terms.data(), terms.size() * sizeof(TermRec)},
      {"TSTR", tstr.data(), tstr.size()},
      {"POST", bm.postings.data(), bm.postings.size() * sizeof(Posting)},
      {"CLEN", bm.chunk_len.data(), bm.chunk_len.size() * sizeof(uint32_t)},
  };
  const auto& d = ix.dense;
  if (!d.empty()) {
    EDGE_CHECK(static_cast<size_t>(d.n) == N, "rag: {} vectors for {} chunks", d.n, N);
    if (d.int8) {
      secs.push_back({"VECQ", d.q, static_cast<uint64_t>(d.n * d.dim)});
      secs.push_back({"VSCL", d.scale, static_cast<uint64_t>(d.n) * sizeof(float)});
    } else {
      secs.push_back({"VECF", d.f32, static_cast<uint64_t>(d.n * d.dim) * sizeof(float)});
    }
  }
  // Table: offsets and checksums, then the header over it.
  std::string table(secs.size() * kEntryBytes, '\0');
  uint64_t off = kHeaderBytes + table.size();
  for (size_t i = 0; i < secs.size(); ++i) {
    off = (off + kAlign - 1) / kAlign * kAlign;
    const uint32_t crc = crc32(secs[i].data, secs[i].size);
    char* e = table.data() + i * kEntryBytes;
    std::memcpy(e, secs[i].id, 4);
    std::memcpy(e + 4, &crc, 4);
    std::memcpy(e + 8, &off, 8);
    std::memcpy(e + 16, &secs[i].size, 8);
    off += secs[i].size;
  }
  const uint64_t file_size = off;
  std::string header(kHeaderBytes, '\0');
  const uint32_t n_sec = static_cast<uint32_t>(secs.size()), table_crc = crc32(table.data(), table.size());
  std::memcpy(header.data(), kMagic, 8);
  std::memcpy(header.data() + 8, &kVersion, 4);
  std::memcpy(header.data() + 12, &n_sec, 4);
  std::memcpy(header.data() + 16, &file_size, 8);
  std::memcpy(header.data() + 24, &table_crc, 4);
  const uint32_t header_crc = crc32(header.data(), 28);
  std::memcpy(header.data() + 28, &header_crc, 4);

  AtomicFile f(path);
  f.write(header);
  f.write(table);
  for (const auto& sec : secs) {
    f.pad_to(kAlign);
    // Large sections in 64 MiB pieces (AtomicFile buffers what it is given).
    const auto* p = static_cast<const uint8_t*>(sec.data);
    for (uint64_t o = 0; o < sec.size; o += (uint64_t{64} << 20))
      f.write(p + o, std::min<uint64_t>(uint64_t{64} << 20, sec.size - o));
    if (hooks.after_section) hooks.after_section(sec.id);
  }
  EDGE_CHECK(f.written() == file_size, "rag: wrote {} bytes, expected {}", f.written(), file_size);
  f.commit();
}

// ---- reading ------------------------------------------------------------------------------------

RagIndex load_index(const std::string& path) { return load_index(MappedFile::open(path)); }

RagIndex load_index(std::shared_ptr<MappedFile> file) {
  const std::string& path = file->path();
  const uint8_t* base = file->data();
  const uint64_t size = file->size();
  if (size < kHeaderBytes) fail_format(path, "header", "truncated: {} bytes, a header needs {}", size, kHeaderBytes);
  if (std::memcmp(base, kMagic, 8) != 0) fail_format(path, "header", "not an edgellm RAG index (bad magic)");
  if (load<uint32_t>(base + 28) != crc32(base, 28)) fail_format(path, "header", "checksum mismatch");
  const uint32_t version = load<uint32_t>(base + 8);
  if (version != kVersion) fail_format(path, "header", "version {} (this build reads {})", version, kVersion);
  const uint32_t n_sec = load<uint32_t>(base + 12);
  const uint64_t file_size = load<uint64_t>(base + 16);
  if (size < file_size) fail_format(path, "header", "truncated: {} bytes, the header says {}", size, file_size);
  if (size > file_size) fail_format(path, "header", "{} trailing bytes after the {} the header says", size - file_size, file_size);
  if (n_sec > 64 || kHeaderBytes + uint64_t{n_sec} * kEntryBytes > size)
    fail_format(path, "section table", "{} sections do not fit", n_sec);
  if (load<uint32_t>(base + 24) != crc32(base + kHeaderBytes, n_sec * kEntryBytes))
    fail_format(path, "section table", "checksum mismatch");

  struct View {
    const uint8_t* p = nullptr;
    uint64_t size = 0;
  };
  std::unordered_map<std::string, View> secs;
  for (uint32_t i = 0; i < n_sec; ++i) {
    const uint8_t* e = base + kHeaderBytes + i * kEntryBytes;
    const std::string id(reinterpret_cast<const char*>(e), 4);
    const std::string field = "section " + id;
    const uint64_t off = load<uint64_t>(e + 8), len = load<uint64_t>(e + 16);
    if (off % kAlign != 0 || off > size || len > size - off) fail_format(path, field, "out of the file's bounds");
    if (crc32(base + off, len) != load<uint32_t>(e + 4)) fail_format(path, field, "checksum mismatch");
    secs[id] = {base + off, len};
  }
  auto need = [&](const char* id, uint64_t expect_size) -> View {
    auto it = secs.find(id);
    if (it == secs.end()) fail_format(path, std::string("section ") + id, "missing");
    if (expect_size != UINT64_MAX && it->second.size != expect_size)
      fail_format(path, std::string("section ") + id, "{} bytes, expected {}", it->second.size, expect_size);
    return it->second;
  };

  RagIndex ix;
  const View mv = need("META", UINT64_MAX);
  const nlohmann::json meta =
      parse_json_metered(std::string_view(reinterpret_cast<const char*>(mv.p), mv.size), path, "section META");
  uint64_t N = 0, T = 0, P = 0, dim = 0;
  std::string dtype;
  // Integers must be JSON integers: nlohmann converts a float such as 7.8e72 to int64 with a static_cast (UB).
  auto integer = [](const nlohmann::json& j, const char* key) -> const nlohmann::json& {
    const auto& v = j.at(key);
    if (!v.is_number_integer()) throw std::runtime_error(std::string(key) + " is not an integer");
    return v;
  };
  try {
    if (!meta.is_object() || meta.value("format", "") != "edgellm-rag") throw std::runtime_error("not edgellm-rag JSON");
    const auto& s = meta.at("settings");
    ix.settings.chunk_tokens = integer(s, "chunk_tokens");
    ix.settings.overlap = integer(s, "overlap");
    ix.settings.bm25.k1 = s.at("k1");
    ix.settings.bm25.b = s.at("b");
    ix.settings.embed_model = s.at("embed_model");
    ix.settings.embed_max_tokens = integer(s, "embed_max_tokens");
    ix.settings.dense = s.at("dense");
    ix.settings.int8 = s.at("int8");
    // Absent in indexes written before the embedder's identity was kept (then only the vectors' width is checked).
    if (s.contains("embed_identity")) ix.settings.embed_identity = s.at("embed_identity");
    if (s.contains("embed_bytes")) ix.settings.embed_bytes = s.at("embed_bytes");
    N = integer(meta, "n_chunks");
    T = integer(meta, "n_terms");
    P = integer(meta, "n_postings");
    dim = integer(meta.at("dense"), "dim");
    dtype = meta.at("dense").at("dtype");
    for (const auto& d : meta.at("docs")) ix.docs.push_back({d.at("id"), d.at("metadata")});
  } catch (const std::exception& e) {
    fail_format(path, "section META", "{}", e.what());
  }
  // Counts from the JSON are untrusted: bound them by the file's size before any product (N * 32 could wrap to
  // match a small section, then resize(N) throws std::length_error or exhausts memory).
  if (N > size / sizeof(ChunkRec) || T >= size / sizeof(TermRec) || P > size / sizeof(Posting) || dim > size ||
      (dim != 0 && N > size / dim))
    fail_format(path, "section META", "counts n_chunks={} n_terms={} n_postings={} dim={} exceed the file's {} bytes",
                N, T, P, dim, size);
  // Chunks and their text.
  const View cv = need("CHNK", N * sizeof(ChunkRec)), tv = need("TEXT", UINT64_MAX);
  // Charged before it is copied (charge_held sets the exact figure at the end): the chunk records, postings and terms
  // now, each chunk's text as it is copied (chunks may point at the same text, so its copies can outgrow the file).
  ix.held.set(N * (sizeof(Chunk) + sizeof(uint32_t)) + P * sizeof(Posting) + (T + 1) * (2 * sizeof(std::string) + 96));
  ix.chunks.resize(N);
  for (uint64_t i = 0; i < N; ++i) {
    const auto r = load<ChunkRec>(cv.p + i * sizeof(ChunkRec));
    if (r.doc >= ix.docs.size() || r.text_off > tv.size || r.text_len > tv.size - r.text_off || r.begin > r.end)
      fail_format(path, "section CHNK", "chunk {} points outside the documents or the text", i);
    ix.held.add(r.text_len);
    ix.chunks[i] = Chunk{r.doc, r.begin, r.end, std::string(reinterpret_cast<const char*>(tv.p + r.text_off), r.text_len)};
  }
  // BM25.
  auto& bm = ix.bm25;
  bm.params = ix.settings.bm25;
  const View termv = need("TERM", (T + 1) * sizeof(TermRec)), sv = need("TSTR", UINT64_MAX);
  const View pv = need("POST", P * sizeof(Posting)), lv = need("CLEN", N * sizeof(uint32_t));
  bm.terms.resize(T);
  bm.term_start.resize(T + 1);
  for (uint64_t i = 0; i <= T; ++i) {
    const auto r = load<TermRec>(termv.p + i * sizeof(TermRec));
    if (r.str_off > sv.size || r.str_len > sv.size - r.str_off || r.post_begin > P ||
        (i > 0 && r.post_begin < bm.term_start[i - 1]) || (i == T && r.post_begin != P))
      fail_format(path, "section TERM", "term {} points outside the strings or postings", i);
    if (i < T) bm.terms[i].assign(reinterpret_cast<const char*>(sv.p + r.str_off), r.str_len);
    bm.term_start[i] = r.post_begin;
  }
  bm.postings.resize(P);
  if (P) std::memcpy(bm.postings.data(), pv.p, P * sizeof(Posting));
  for (const auto& ps : bm.postings)
    if (ps.chunk >= N) fail_format(path, "section POST", "posting for chunk {} of {}", ps.chunk, N);
  bm.chunk_len.resize(N);
  if (N) std::memcpy(bm.chunk_len.data(), lv.p, N * sizeof(uint32_t));
  uint64_t total = 0;
  for (uint32_t l : bm.chunk_len) total += l;
  bm.avgdl = N ? static_cast<double>(total) / static_cast<double>(N) : 0.0;
  bm.finish_load();
  // Vectors, in place in the mapping.
  auto& d = ix.dense;
  if (dtype == "f32" || dtype == "i8") {
    d.dim = static_cast<int64_t>(dim);
    d.n = static_cast<int64_t>(N);
    d.int8 = dtype == "i8";
    if (d.int8) {
      d.q = reinterpret_cast<const int8_t*>(need("VECQ", N * dim).p);
      d.scale = reinterpret_cast<const float*>(need("VSCL", N * sizeof(float)).p);
    } else {
      d.f32 = reinterpret_cast<const float*>(need("VECF", N * dim * sizeof(float)).p);
    }
    d.keep = file;
  } else if (dtype != "none") {
    fail_format(path, "section META", "unknown vector dtype '{}'", dtype);
  }
  charge_held(ix);
  return ix;
}

}  // namespace edgellm::rag
