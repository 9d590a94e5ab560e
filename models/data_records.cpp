// Reading edgellm's JSONL records (models/data_records.h): one line, one record, errors naming file, line, field.
// Not a consumer: training and indexing decide what a record becomes.
#include "models/data_records.h"

#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/parse_meter.h"
#include "runtime/user_data.h"

namespace edgellm {

const char* data_record_kind_name(DataRecord::Kind k) {
  switch (k) {
    case DataRecord::Kind::Text: return "text";
    case DataRecord::Kind::Pair: return "prompt/response";
    case DataRecord::Kind::Chat: return "messages";
  }
  return "?";
}

std::string data_record_plain_text(const DataRecord& r) {
  switch (r.kind) {
    case DataRecord::Kind::Text: return r.text;
    case DataRecord::Kind::Pair: return r.prompt + "\n" + r.response;
    case DataRecord::Kind::Chat: {
      std::string s;
      for (const ChatMessage& m : r.messages) {
        if (!s.empty()) s += "\n\n";
        s += m.content;
      }
      return s;
    }
  }
  return "";
}

DataRecord parse_data_record(std::string_view line, const std::string& file, int64_t line_no) {
  const std::string where = fmt::format("line {}", line_no);
  nlohmann::json j = parse_json_metered(line, file, where);
  if (!j.is_object()) fail_format(file, where, "expected a JSON object, got {}", j.type_name());
  auto str = [&](const nlohmann::json& v, const std::string& field) -> std::string {
    if (!v.is_string()) fail_format(file, where, "\"{}\" must be a string, got {}", field, v.type_name());
    return v.get<std::string>();
  };
  DataRecord r;
  r.line = line_no;
  const bool text = j.contains("text"), pair = j.contains("prompt") || j.contains("response"),
             chat = j.contains("messages");
  if (text + pair + chat != 1)
    fail_format(file, where,
                "a record holds exactly one of \"text\", \"prompt\" with \"response\", or \"messages\"; this one has {}",
                text + pair + chat == 0 ? "none" : "several");
  if (text) {
    r.kind = DataRecord::Kind::Text;
    r.text = str(j["text"], "text");
    j.erase("text");
  } else if (pair) {
    if (!j.contains("prompt") || !j.contains("response"))
      fail_format(file, where, "\"{}\" needs \"{}\" beside it", j.contains("prompt") ? "prompt" : "response",
                  j.contains("prompt") ? "response" : "prompt");
    r.kind = DataRecord::Kind::Pair;
    r.prompt = str(j["prompt"], "prompt");
    r.response = str(j["response"], "response");
    j.erase("prompt");
    j.erase("response");
  } else {
    r.kind = DataRecord::Kind::Chat;
    const nlohmann::json& ms = j["messages"];
    if (!ms.is_array() || ms.empty()) fail_format(file, where, "\"messages\" must be a non-empty array");
    for (size_t i = 0; i < ms.size(); ++i) {
      const std::string field = fmt::format("messages[{}]", i);
      if (!ms[i].is_object()) fail_format(file, where, "\"{}\" must be an object with \"role\" and \"content\"", field);
      if (!ms[i].contains("role")) fail_format(file, where, "\"{}.role\" is missing", field);
      if (!ms[i].contains("content")) fail_format(file, where, "\"{}.content\" is missing", field);
      ChatMessage m{str(ms[i]["role"], field + ".role"), str(ms[i]["content"], field + ".content")};
      if (m.role != "system" && m.role != "user" && m.role != "assistant")
        fail_format(file, where, "\"{}.role\" is \"{}\"; expected system, user or assistant", field, m.role);
      if (m.role == "system" && i != 0) fail_format(file, where, "\"{}\": only the first message may be system", field);
      r.messages.push_back(std::move(m));
    }
    j.erase("messages");
  }
  if (auto id = j.find("id"); id != j.end()) {
    r.id = id->is_string() ? id->get<std::string>() : id->dump();
    j.erase(id);
  }
  r.metadata = j.dump();
  return r;
}

std::string data_record_json(const DataRecord& r) {
  nlohmann::ordered_json j;
  if (!r.id.empty()) j["id"] = r.id;
  switch (r.kind) {
    case DataRecord::Kind::Text: j["text"] = r.text; break;
    case DataRecord::Kind::Pair:
      j["prompt"] = r.prompt;
      j["response"] = r.response;
      break;
    case DataRecord::Kind::Chat:
      j["messages"] = nlohmann::ordered_json::array();
      for (const ChatMessage& m : r.messages) j["messages"].push_back({{"role", m.role}, {"content", m.content}});
      break;
  }
  const auto meta = nlohmann::ordered_json::parse(r.metadata.empty() ? "{}" : r.metadata);
  for (auto it = meta.begin(); it != meta.end(); ++it) j[it.key()] = it.value();
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void read_data_records(const std::string& path, const std::string& purpose,
                       const std::function<void(DataRecord&&)>& on_record) {
  LineReader in(path, purpose, kDataRecordLineMaxBytes);
  for (std::string_view line; in.next(line);)
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) on_record(parse_data_record(line, path, in.line_no()));
}

void parse_data_records(std::string_view data, const std::string& path,
                        const std::function<void(DataRecord&&)>& on_record) {
  int64_t line_no = 0;
  for (size_t pos = 0; pos < data.size();) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) nl = data.size();
    const std::string_view line = data.substr(pos, nl - pos);
    ++line_no;
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) on_record(parse_data_record(line, path, line_no));
    pos = nl + 1;
  }
}

}  // namespace edgellm
