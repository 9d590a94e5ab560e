// Documents in, chunks out: reads .txt/.md/.jsonl files and folders, and cuts each document into
// token-counted chunks with overlap, preferring paragraph and sentence boundaries. Not a parser of
// PDF/HTML, and no Markdown rendering: .md is taken as text.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace edgellm::rag {

struct Document {
  std::string id;        // file path relative to the argument it came from; jsonl: "id" field or "<file>#<line>"
  std::string text;
  std::string metadata;  // JSON object text ("{}" if none): jsonl fields other than text/id, plus "source"
};

struct Chunk {
  uint32_t doc = 0;           // index into the index's documents
  uint64_t begin = 0, end = 0;  // byte offsets into the document's text, [begin, end)
  std::string text;           // the bytes text[begin, end)
};

// The memory a document holds: the struct and its strings' heap buffers (what is charged for it to --mem-budget).
size_t document_bytes(const Document& d);

// Reads files and folders (recursively, paths sorted bytewise for determinism). Extensions: .txt, .md,
// .jsonl; other files inside folders are skipped, a named file with another extension is an Error.
// A .jsonl file holds edgellm's records (models/data_records.h): a "text" is indexed as it is, a prompt/response pair
// as prompt, newline, response, a chat as its messages' contents; a bad line throws FormatError(file, "line N").
std::vector<Document> load_documents(const std::vector<std::string>& paths);
// A .jsonl file a line at a time, each line at most kDocumentLineMaxBytes, charged while it is read.
constexpr size_t kDocumentLineMaxBytes = size_t{64} << 20;  // = kDataRecordLineMaxBytes
std::vector<Document> load_jsonl(const std::string& path);
// The same from text in memory; `path` names the source in errors and metadata.
std::vector<Document> parse_jsonl(std::string_view data, const std::string& path);

// Counts the tokens of a piece of text (the model's tokenizer, without BOS).
using TokenCounter = std::function<int64_t(std::string_view)>;

struct ChunkOptions {
  int64_t chunk_tokens = 256;  // the most tokens in a chunk (a single over-long word may exceed it)
  int64_t overlap = 32;        // tokens of the previous chunk repeated at the start of the next
};

// Splits `text` into units (paragraphs at blank lines, sentences after . ! ? followed by space, then
// words for sentences longer than a chunk), and packs consecutive units greedily up to chunk_tokens.
// The next chunk starts with the trailing units of the previous one that fit in `overlap` tokens.
// Chunks cover all non-blank text; offsets are bytes into `text`. Token counts are summed per unit,
// so they may differ from encoding the chunk at once by a token per unit boundary.
std::vector<Chunk> chunk_document(std::string_view text, uint32_t doc, const TokenCounter& count,
                                  const ChunkOptions& opt);

}  // namespace edgellm::rag
