// edgellm's one JSONL data format (models/data_records.h): each record kind read, written back the same, and every
// bad record refused with the file, the line and the field named.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "models/data_records.h"
#include "runtime/error.h"

using namespace edgellm;

namespace {

std::vector<DataRecord> parse_all(const std::string& text) {
  std::vector<DataRecord> out;
  parse_data_records(text, "d.jsonl", [&](DataRecord&& r) { out.push_back(std::move(r)); });
  return out;
}

// The FormatError's message for one bad line, or "" when it parses.
std::string error_of(const std::string& line) {
  try {
    (void)parse_data_record(line, "d.jsonl", 7);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the three record kinds, ids and metadata; blank lines skipped, line numbers kept") {
  const auto rs = parse_all(
      "{\"text\": \"a doc\", \"id\": \"d1\", \"lang\": \"en\"}\n"
      "\n"
      "{\"prompt\": \"Q?\", \"response\": \" A.\", \"id\": 5}\n"
      "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\"},"
      " {\"role\": \"assistant\", \"content\": \"Hello\"}]}\n");
  REQUIRE(rs.size() == 3);
  CHECK(rs[0].kind == DataRecord::Kind::Text);
  CHECK(rs[0].text == "a doc");
  CHECK(rs[0].id == "d1");
  CHECK(rs[0].metadata == "{\"lang\":\"en\"}");
  CHECK(rs[0].line == 1);
  CHECK(rs[1].kind == DataRecord::Kind::Pair);
  CHECK(rs[1].prompt == "Q?");
  CHECK(rs[1].response == " A.");
  CHECK(rs[1].id == "5");
  CHECK(rs[1].line == 3);
  CHECK(rs[2].kind == DataRecord::Kind::Chat);
  REQUIRE(rs[2].messages.size() == 3);
  CHECK(rs[2].messages[2].role == "assistant");
  CHECK(rs[2].messages[2].content == "Hello");
  CHECK(data_record_plain_text(rs[1]) == "Q?\n A.");
  CHECK(data_record_plain_text(rs[2]) == "Be brief.\n\nHi\n\nHello");
}

TEST_CASE("a record written by data_record_json reads back the same") {
  for (const char* line : {"{\"id\":\"x\",\"text\":\"caf\\u00e9\\n\",\"day\":3}", "{\"prompt\":\"p\",\"response\":\"r\"}",
                           "{\"messages\":[{\"role\":\"user\",\"content\":\"u\"},{\"role\":\"assistant\",\"content\":\"a\"}]}"}) {
    const DataRecord r = parse_data_record(line, "d.jsonl", 1);
    const DataRecord back = parse_data_record(data_record_json(r), "d.jsonl", 1);
    CHECK(back.kind == r.kind);
    CHECK(back.text == r.text);
    CHECK(back.prompt == r.prompt);
    CHECK(back.response == r.response);
    CHECK(back.messages.size() == r.messages.size());
    CHECK(back.id == r.id);
    CHECK(back.metadata == r.metadata);
  }
}

TEST_CASE("bad records name the file, the line and the field") {
  CHECK(error_of("{\"text\": \"ok\"}").empty());
  CHECK(error_of("{\"text\": oops}").find("d.jsonl: line 7: invalid JSON") != std::string::npos);
  CHECK(error_of("[1]").find("d.jsonl: line 7: expected a JSON object, got array") != std::string::npos);
  CHECK(error_of("{\"title\": \"x\"}").find("line 7: a record holds exactly one of") != std::string::npos);
  CHECK(error_of("{\"text\": \"x\", \"prompt\": \"p\", \"response\": \"r\"}").find("several") != std::string::npos);
  CHECK(error_of("{\"prompt\": \"p\"}").find("line 7: \"prompt\" needs \"response\" beside it") != std::string::npos);
  CHECK(error_of("{\"response\": \"r\"}").find("\"response\" needs \"prompt\"") != std::string::npos);
  CHECK(error_of("{\"text\": 5}").find("line 7: \"text\" must be a string, got number") != std::string::npos);
  CHECK(error_of("{\"prompt\": \"p\", \"response\": null}").find("\"response\" must be a string") != std::string::npos);
  CHECK(error_of("{\"messages\": []}").find("\"messages\" must be a non-empty array") != std::string::npos);
  CHECK(error_of("{\"messages\": [{\"role\": \"user\"}]}").find("\"messages[0].content\" is missing") != std::string::npos);
  CHECK(error_of("{\"messages\": [{\"role\": 1, \"content\": \"x\"}]}").find("\"messages[0].role\" must be a string") !=
        std::string::npos);
  CHECK(error_of("{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}").find("\"messages[0].role\" is \"tool\"") !=
        std::string::npos);
  CHECK(error_of("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"system\", \"content\": \"y\"}]}")
            .find("\"messages[1]\": only the first message may be system") != std::string::npos);
}
