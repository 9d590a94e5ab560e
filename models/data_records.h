// edgellm's one JSONL data format, read by `finetune`, `rag index` and written by `study generate`: each line is a
// record holding a document ("text"), a prompt/response pair, or a chat ("messages"), plus an optional "id" and
// any other fields (kept as metadata). Not what a consumer makes of a record (train/data.h scores it, rag/ingest.h
// chunks it): only reading, checking and the errors that name the file, the line and the field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "models/chat_template.h"

namespace edgellm {

struct DataRecord {
  enum class Kind { Text, Pair, Chat };
  Kind kind = Kind::Text;
  std::string text;                   // Kind::Text
  std::string prompt, response;       // Kind::Pair
  std::vector<ChatMessage> messages;  // Kind::Chat: roles system (first only), user, assistant; at least one
  std::string id;                     // the "id" field (a string, or other JSON as written); "" when absent
  std::string metadata = "{}";        // the line's other fields, as a JSON object's text
  int64_t line = 0;                   // 1-based line in its file
};
const char* data_record_kind_name(DataRecord::Kind k);  // "text", "prompt/response", "messages"

// A record's text as one plain document (for indexing): the text; the prompt, a newline and the response; or each
// message's content, in order, separated by blank lines.
std::string data_record_plain_text(const DataRecord& r);

// One line as a record. `file` and "line N" name it in every FormatError, with the field at fault: not a JSON
// object, no or several of text / prompt+response / messages, a prompt without a response, a non-string value,
// a message without a string role and content, an unknown role, a system message that is not the first.
DataRecord parse_data_record(std::string_view line, const std::string& file, int64_t line_no);

// The record as one JSONL line (no newline): the reader's inverse, metadata fields after the record's own.
std::string data_record_json(const DataRecord& r);

// Longest line read_data_records accepts (a FormatError naming the line beyond it).
constexpr size_t kDataRecordLineMaxBytes = size_t{64} << 20;

// Every non-blank line of a JSONL file as a record, in order, holding one line at a time (runtime/user_data.h's
// LineReader: charged to --mem-budget, pipes allowed). `purpose` names the file's role in I/O errors.
void read_data_records(const std::string& path, const std::string& purpose,
                       const std::function<void(DataRecord&&)>& on_record);
// The same over text already in memory (`path` names it in errors).
void parse_data_records(std::string_view data, const std::string& path,
                        const std::function<void(DataRecord&&)>& on_record);

}  // namespace edgellm
