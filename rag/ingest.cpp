// Reading .txt/.md/.jsonl documents and cutting them into token-counted, overlapping chunks.
// Not a format sniffer: the extension decides how a file is read.
#include "rag/ingest.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "models/data_records.h"
#include "runtime/error.h"
#include "runtime/user_data.h"
#include "runtime/parse_meter.h"

namespace edgellm::rag {

namespace fs = std::filesystem;

namespace {

bool has_ext(const fs::path& p, const char* ext) { return p.extension().string() == ext; }
bool readable_ext(const fs::path& p) { return has_ext(p, ".txt") || has_ext(p, ".md") || has_ext(p, ".jsonl"); }

// Documents being read, charged as they arrive (their strings and the vector's buffer, old and new while it grows),
// so that a corpus too large for --mem-budget is refused as it is read.
struct DocSink {
  explicit DocSink(std::string what) : held(std::move(what)) {}
  void add(Document d) {
    const size_t doc = document_bytes(d) - sizeof(Document);
    if (out.size() == out.capacity()) {
      const size_t cap = out.capacity() * 2 + 16;
      held.set(strings + doc + (out.capacity() + cap) * sizeof(Document));
      out.reserve(cap);
    }
    strings += doc;
    held.set(strings + out.capacity() * sizeof(Document));
    out.push_back(std::move(d));
  }
  std::vector<Document> out;
  ArenaCharge held;
  size_t strings = 0;
};

void read_jsonl(const std::string& path, DocSink& sink);

void load_file(const fs::path& p, const std::string& id, DocSink& sink) {
  if (has_ext(p, ".jsonl")) return read_jsonl(p.string(), sink);
  nlohmann::json meta = {{"source", p.string()}};
  UserText in = read_user_file(p.string(), "a document to index");
  sink.add(Document{id, std::move(in.text), meta.dump()});
}

// One JSONL record (models/data_records.h) as a document: its plain text (data_record_plain_text), its "id" or
// "<file>#<line>", and its other fields as metadata with "source" (and "kind" for pairs and chats).
Document record_document(DataRecord&& r, const std::string& path) {
  Document d;
  d.text = data_record_plain_text(r);
  d.id = r.id.empty() ? fmt::format("{}#{}", path, r.line) : std::move(r.id);
  nlohmann::json meta = nlohmann::json::parse(r.metadata);
  meta["source"] = path;
  if (r.kind != DataRecord::Kind::Text) meta["kind"] = data_record_kind_name(r.kind);
  d.metadata = meta.dump();
  return d;
}

void read_jsonl(const std::string& path, DocSink& sink) {
  read_data_records(path, "documents to index", [&](DataRecord&& r) { sink.add(record_document(std::move(r), path)); });
}

size_t heap_bytes(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 + 16 : 0; }  // + malloc's header

}  // namespace

size_t document_bytes(const Document& d) {
  return sizeof(Document) + heap_bytes(d.id) + heap_bytes(d.text) + heap_bytes(d.metadata);
}

std::vector<Document> load_jsonl(const std::string& path) {
  DocSink sink(path + " (documents being read)");
  read_jsonl(path, sink);
  return std::move(sink.out);
}

std::vector<Document> parse_jsonl(std::string_view data, const std::string& path) {
  std::vector<Document> out;
  parse_data_records(data, path, [&](DataRecord&& r) { out.push_back(record_document(std::move(r), path)); });
  return out;
}

std::vector<Document> load_documents(const std::vector<std::string>& paths) {
  // A pipe or device is refused (not a document of known size), and so is an argument that gives no document:
  // an index of nothing is a mistake to report, not to save.
  DocSink sink("documents being read");
  const std::vector<Document>& out = sink.out;
  for (const auto& arg : paths) {
    const size_t before = out.size();
    const fs::path root(arg);
    std::error_code ec;
    if (fs::is_directory(root, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->is_regular_file() && readable_ext(it->path())) files.push_back(it->path());
      }
      if (ec) fail("{}: cannot list folder: {}", arg, ec.message());
      std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return a.string() < b.string(); });
      for (const auto& f : files) load_file(f, fs::relative(f, root).generic_string(), sink);
    } else if (fs::is_regular_file(root, ec)) {
      if (!readable_ext(root)) fail("{}: unsupported document type (use .txt, .md or .jsonl)", arg);
      load_file(root, root.filename().generic_string(), sink);
    } else if (fs::exists(root, ec)) {
      fail("{}: not a regular file or folder", arg);
    } else {
      fail("{}: no such file or folder", arg);
    }
    if (out.size() == before)
      fail("{}: no documents in it (an empty file, a JSONL file with no lines, or a folder without .txt/.md/.jsonl)",
           arg);
  }
  return std::move(sink.out);
}

// ---- chunking ---------------------------------------------------------------------------------

namespace {

struct Unit {
  uint64_t begin, end;  // trimmed of surrounding whitespace
  int64_t tokens;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Appends [b, e) trimmed, if non-blank.
void push_span(std::vector<std::pair<uint64_t, uint64_t>>& out, std::string_view s, uint64_t b, uint64_t e) {
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  if (b < e) out.push_back({b, e});
}

// Paragraphs end at a blank line; sentences end after . ! ? (and closing quotes/brackets) before whitespace.
std::vector<std::pair<uint64_t, uint64_t>> sentences(std::string_view s) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  uint64_t start = 0;
  const uint64_t n = s.size();
  for (uint64_t i = 0; i < n; ++i) {
    const char c = s[i];
    if (c == '\n') {
      uint64_t j = i + 1;
      while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) ++j;
      if (j < n && s[j] == '\n') {  // blank line: paragraph break
        push_span(out, s, start, i);
        start = j;
        i = j;
      }
    } else if (c == '.' || c == '!' || c == '?') {
      uint64_t j = i + 1;
      while (j < n && (s[j] == '"' || s[j] == '\'' || s[j] == ')' || s[j] == ']')) ++j;
      if (j == n || is_space(s[j])) {
        push_span(out, s, start, j);
        start = j;
        i = j - 1;
      }
    }
  }
  push_span(out, s, start, n);
  return out;
}

}  // namespace

std::vector<Chunk> chunk_document(std::string_view text, uint32_t doc, const TokenCounter& count,
                                  const ChunkOptions& opt) {
  EDGE_CHECK(opt.chunk_tokens >= 1, "chunk size must be at least 1 token, got {}", opt.chunk_tokens);
  EDGE_CHECK(opt.overlap >= 0 && opt.overlap < opt.chunk_tokens, "overlap must be in [0, chunk size), got {}",
             opt.overlap);
  // Units: sentences, and the words of sentences longer than a chunk.
  std::vector<Unit> units;
  for (auto [b, e] : sentences(text)) {
    const int64_t t = count(text.substr(b, e - b));
    if (t <= opt.chunk_tokens) {
      units.push_back({b, e, t});
      continue;
    }
    uint64_t w = b;
    while (w < e) {
      uint64_t we = w;
      while (we < e && !is_space(text[we])) ++we;
      units.push_back({w, we, count(text.substr(w, we - w))});
      w = we;
      while (w < e && is_space(text[w])) ++w;
    }
  }
  std::vector<Chunk> out;
  size_t i = 0;
  while (i < units.size()) {
    size_t j = i;
    int64_t total = 0;
    while (j < units.size() && (j == i || total + units[j].tokens <= opt.chunk_tokens)) total += units[j++].tokens;
    Chunk c;
    c.doc = doc;
    c.begin = units[i].begin;
    c.end = units[j - 1].end;
    c.text = std::string(text.substr(c.begin, c.end - c.begin));
    out.push_back(std::move(c));
    if (j == units.size()) break;
    // Overlap: back up over trailing units of this chunk while they fit, never to i (progress).
    size_t s = j;
    int64_t ov = 0;
    while (s > i + 1 && ov + units[s - 1].tokens <= opt.overlap) ov += units[--s].tokens;
    i = s;
  }
  return out;
}

}  // namespace edgellm::rag
