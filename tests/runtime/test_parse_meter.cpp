// ParseMeter and parse_json_metered: parsing untrusted JSON and GGUF metadata is bounded by a memory limit and
// refused past the --mem-budget arena's room, with the file and field named; within them the result is exactly
// what the unmetered parse gives. Not the loaders' other checks (test_gguf_bad_input, test_safetensors).
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "runtime/arena.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/mmap_file.h"
#include "runtime/parse_meter.h"
#include "test_util.h"

using namespace edgellm;
using edgellm::test::BudgetScope;
using edgellm::test::nested_json;

namespace {

std::string json_array_of_strings(size_t n, const std::string& s) {
  std::string t = "[";
  for (size_t i = 0; i < n; ++i) t += (i ? ",\"" : "\"") + s + "\"";
  return t + "]";
}

// A GGUF v3 file with no tensors and one key holding an array of `n` empty strings (8 bytes each in the file,
// 32 in memory).
std::string gguf_with_strings(uint64_t n) {
  std::string f = "GGUF";
  auto put = [&](const auto& v) { f.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  put(uint32_t{3});
  put(uint64_t{0});  // tensors
  put(uint64_t{1});  // keys
  put(uint64_t{3});
  f += "a.b";
  put(uint32_t{9});  // ARRAY
  put(uint32_t{8});  // of STRING
  put(n);
  for (uint64_t i = 0; i < n; ++i) put(uint64_t{0});
  return f;
}

}  // namespace

TEST_CASE("parse_json_metered gives nlohmann's tree; a syntax error names the file and field") {
  const std::string text = R"({"a": [1, 2.5, "short", "a string longer than fifteen bytes", null, true],
                               "b": {"c\u00e9": {"d": []}}, "e": -7})";
  CHECK(parse_json_metered(text, "f.json") == nlohmann::json::parse(text));
  CHECK_THROWS_WITH_AS(parse_json_metered("{\"a\": ", "f.json", "section X"), doctest::Contains("f.json: section X: invalid JSON"),
                       FormatError);
  std::vector<std::pair<int, std::string>> keys;
  (void)parse_json_metered(text, "f.json", "json", [&](int depth, const std::string& k) { keys.emplace_back(depth, k); });
  CHECK(keys == std::vector<std::pair<int, std::string>>{{1, "a"}, {1, "b"}, {2, "c\u00e9"}, {3, "d"}, {1, "e"}});
  // Out of double's range: nlohmann's out_of_range, reported like a syntax error.
  CHECK_THROWS_WITH_AS(parse_json_metered("[1e309]", "f.json"), doctest::Contains("f.json: json: invalid JSON"), FormatError);
  // A duplicate key keeps the last value, as nlohmann::json::parse does.
  CHECK(parse_json_metered(R"({"k": 1, "k": 2})", "f.json").at("k") == 2);
}

TEST_CASE("parse_json_metered: nesting past kJsonMaxDepth is a FormatError naming the file and field") {
  CHECK(parse_json_metered(nested_json(kJsonMaxDepth), "deep.json").is_array());  // the limit itself parses
  CHECK_THROWS_WITH_AS(parse_json_metered(nested_json(kJsonMaxDepth + 1), "deep.json", "config"),
                       doctest::Contains("deep.json: config: invalid JSON: nested deeper than 512"), FormatError);
  // Objects count as arrays do, and 40,000 levels (issue 24's stack overflow) fail the same way.
  std::string obj;
  for (int i = 0; i < 40000; ++i) obj += "{\"a\":";
  obj += "1" + std::string(40000, '}');
  CHECK_THROWS_WITH_AS(parse_json_metered(obj, "deep.json"), doctest::Contains("nested deeper than"), FormatError);
  CHECK_THROWS_AS(parse_json_metered(nested_json(40000), "deep.json"), FormatError);
}

TEST_CASE("parse_json_metered: an array of many objects parses in linear time, equal to nlohmann's tree") {
  // nlohmann's callback parser (the first metered version) rescanned the enclosing array at each object's end:
  // 200k objects took minutes. Here 300k take well under a second at -O2 (seconds under ASan). Not timed here
  // (speed is the benchmarks' to check): a quadratic parser back in makes this case run for minutes in CI.
  std::string text = "[";
  for (int i = 0; i < 300000; ++i) text += (i ? ",{\"id\": " : "{\"id\": ") + std::to_string(i) + ", \"t\": \"x\"}";
  text += "]";
  const nlohmann::json j = parse_json_metered(text, "many.json");
  CHECK(j == nlohmann::json::parse(text));
  std::string obj = "{";  // a safetensors header's shape: an object of many objects
  for (int i = 0; i < 300000; ++i) obj += (i ? ",\"w" : "\"w") + std::to_string(i) + "\": {\"dtype\": \"F32\"}";
  obj += "}";
  CHECK(parse_json_metered(obj, "many.json").size() == 300000);
}

TEST_CASE("parse_json_metered: past the limit a FormatError, past the memory budget a BudgetError") {
  // 100k short strings: ~7 bytes each in the text, ~80 in nlohmann's tree, so ~8 MB: over a 1 MiB limit.
  const std::string many = json_array_of_strings(100000, "ab");
  CHECK_THROWS_WITH_AS(parse_json_metered(many, "big.json", "json", nullptr, size_t{1} << 20),
                       doctest::Contains("big.json: json: parsing it takes more than 1"), FormatError);
  CHECK(parse_json_metered(many, "big.json").size() == 100000);  // within the default limit
  {
    BudgetScope b(size_t{2} << 20);
    CHECK_THROWS_WITH_AS(parse_json_metered(many, "big.json"), doctest::Contains("memory budget"), BudgetError);
    CHECK(parse_json_metered(json_array_of_strings(1000, "ab"), "small.json").size() == 1000);
  }
}

TEST_CASE("parse_json_metered: a parse of under 1 MiB never fails on the budget, even with no room left") {
  BudgetScope b(1);  // 1 byte of room (0 would mean no budget at all)
  CHECK(parse_json_metered(R"({"step": 3, "elapsed_s": 1.5})", "ckpt", "__metadata__").at("step") == 3);
  CHECK(parse_json_metered(json_array_of_strings(5000, "ab"), "small.json").size() == 5000);  // ~400 KB as a tree
  CHECK_THROWS_AS(parse_json_metered(json_array_of_strings(100000, "ab"), "big.json"), BudgetError);
}

TEST_CASE("GGUF metadata is metered: an array of empty strings past the memory budget is a BudgetError") {
  // 200k strings: a 1.6 MB file, 6.4 MB of std::string in memory.
  const std::string bytes = gguf_with_strings(200000);
  CHECK(GgufFile::parse(MappedFile::from_memory("s.gguf", bytes)).metadata().size() == 1);
  BudgetScope b(size_t{4} << 20);
  CHECK_THROWS_WITH_AS(GgufFile::parse(MappedFile::from_memory("s.gguf", bytes)), doctest::Contains("s.gguf: metadata"),
                       BudgetError);
}
