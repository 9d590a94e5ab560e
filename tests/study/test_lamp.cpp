// Tests of the LaMP loader and of the benchmark JSONL writer on small files written here. Not real
// LaMP data (not shipped): the formats are taken from the LaMP README (questions list + golds).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "bench/study/benchmark.h"
#include "runtime/error.h"
#include "test_util.h"

using namespace edgellm::study;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / ("edgellm_study_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
};

const char* kQuestions = R"([
  {"id": "310", "input": "Generate a headline for the following article: rain returns",
   "profile": [{"id": "3100", "text": "The city council met\non monday.", "title": "Council meets"},
               {"id": "3101", "text": "Sunny week ahead"}]},
  {"id": 311, "input": "Which tag does this movie relate to? a space story",
   "profile": [{"id": "3110", "text": "a heist in paris", "tag": "crime"},
               {"id": "3111", "description": "x", "abstract": "robots on mars", "score": 4}]}
])";
const char* kOutputs = R"({"task": "LaMP_4", "golds": [{"id": "310", "output": "Rain is back"},
                                                       {"id": "311", "output": "sci-fi"}]})";

// Expects load_lamp to throw a FormatError whose field contains `field`.
void expect_bad(const TempDir& t, const std::string& questions, const std::string& outputs, const std::string& field) {
  const std::string q = t.write("q.json", questions);
  const std::string o = outputs.empty() ? "" : t.write("o.json", outputs);
  try {
    load_lamp(q, o);
    FAIL("no error for " << field);
  } catch (const edgellm::FormatError& e) {
    CHECK_MESSAGE(e.field().find(field) != std::string::npos, "field '" << e.field() << "' for expected " << field);
    CHECK(std::string(e.what()).find(field.rfind("golds", 0) == 0 ? o : q) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("lamp: a valid file with an outputs file") {
  TempDir t;
  const auto users = load_lamp(t.write("q.json", kQuestions), t.write("o.json", kOutputs));
  REQUIRE(users.size() == 2);
  CHECK(users[0].name == "lamp 310");
  REQUIRE(users[0].documents.size() == 2);
  CHECK(users[0].documents[0].text == "Council meets | The city council met on monday.");
  CHECK(users[0].documents[1].text == "Sunny week ahead");
  CHECK(document_line(users[0].documents[1]) == "note day 2: Sunny week ahead\n");
  REQUIRE(users[0].questions.size() == 1);
  CHECK(users[0].questions[0].level == Level::L5);  // generation (style)
  CHECK(users[0].questions[0].answer == "Rain is back");
  CHECK(users[1].questions[0].id == "311");
  CHECK(users[1].documents[0].text == "a heist in paris (tag: crime)");
  CHECK(users[1].documents[1].text == "robots on mars (score: 4)");
  CHECK(answerable(users[1].questions[0], {}));
}

TEST_CASE("lamp: outputs inside the questions file") {
  TempDir t;
  const auto users = load_lamp(t.write("q.json", R"([{"id": "1", "input": "q", "output": "a", "profile": [{"id": "2", "text": "t"}]}])"));
  REQUIRE(users.size() == 1);
  CHECK(users[0].questions[0].answer == "a");
}

TEST_CASE("lamp: malformed files name the file and the field") {
  TempDir t;
  expect_bad(t, "[{\"id\": \"1\", ", "", "json");
  expect_bad(t, R"({"id": "1"})", "", "(root)");
  expect_bad(t, R"([{"input": "q", "profile": [{"text": "t"}], "output": "a"}])", "", "[0].id");
  expect_bad(t, R"([{"id": "1", "input": 5, "profile": [{"text": "t"}], "output": "a"}])", "", "[0].input");
  expect_bad(t, R"([{"id": "1", "input": "q", "output": "a"}])", "", "[0].profile");
  expect_bad(t, R"([{"id": "1", "input": "q", "profile": [], "output": "a"}])", "", "[0].profile");
  expect_bad(t, R"([{"id": "1", "input": "q", "profile": [{"id": "2", "score": 3}], "output": "a"}])", "", "[0].profile[0]");
  expect_bad(t, R"([{"id": "1", "input": "q", "profile": [{"id": "2", "text": 7}], "output": "a"}])", "", "[0].profile[0].text");
  expect_bad(t, R"([{"id": "1", "input": "q", "profile": [{"id": "2", "text": "t"}]}])", "", "[0].output");
  expect_bad(t, R"([{"id": "1", "input": "q", "profile": [{"id": "2", "text": "t"}], "output": "a"},
                    {"id": "1", "input": "q", "profile": [{"id": "2", "text": "t"}], "output": "a"}])", "", "[1].id");
  const std::string ok = R"([{"id": "1", "input": "q", "profile": [{"id": "2", "text": "t"}]}])";
  expect_bad(t, ok, R"({"task": "x"})", "golds");
  // Found by fuzz_lamp (CI-length run): a number out of double's range made nlohmann throw out_of_range, which
  // escaped as a non-edgellm exception.
  expect_bad(t, R"([{"id": 1e309}])", "", "json");
  CHECK_THROWS_WITH_AS(load_lamp(t.write("q.json", ok), t.write("o.json", R"({"golds": [1e309]})")),
                       doctest::Contains("o.json"), edgellm::FormatError);
  expect_bad(t, ok, R"({"golds": [{"id": "1"}]})", "golds[0].output");
  expect_bad(t, ok, R"({"golds": [{"id": "9", "output": "a"}]})", "golds");
  expect_bad(t, ok, R"({"golds": [{"id": "1", "output": "a"}, {"id": "2", "output": "b"}]})", "golds");
  CHECK_THROWS_AS(load_lamp((t.dir / "missing.json").string()), edgellm::Error);
}

TEST_CASE("lamp: the parse is metered against --mem-budget, naming the file") {
  TempDir t;
  // 200k profile items: ~3 MB of text, ~50 MB as a tree (estimated), so a 1 MiB room refuses it mid-parse.
  std::string q = R"([{"id": "1", "input": "q", "output": "a", "profile": [)";
  for (int i = 0; i < 200000; ++i) q += std::string(i ? "," : "") + R"({"text": "t"})";
  q += "]}]";
  const std::string path = t.write("big.json", q);
  {
    edgellm::test::BudgetScope room(size_t{1} << 20);
    CHECK_THROWS_WITH_AS(load_lamp(path), doctest::Contains("big.json"), edgellm::BudgetError);
  }
  CHECK(load_lamp(path).size() == 1);
}

TEST_CASE("benchmark jsonl: one line per user, matching the generator") {
  TempDir t;
  const std::string path = (t.dir / "bench.jsonl").string();
  write_benchmark_jsonl(5, 10, 3, path);
  std::ifstream in(path);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    const User u = generate_user(5, 10 + n);
    CHECK(j["index"] == 10 + n);
    CHECK(j["name"] == u.name);
    CHECK(j["documents"].size() == u.documents.size());
    CHECK(j["questions"].size() == u.questions.size());
    CHECK(j["questions"][0]["answer"] == u.questions[0].answer);
    CHECK(j["facts"][0]["value"] == u.facts[0].value);
    ++n;
  }
  CHECK(n == 3);
}
