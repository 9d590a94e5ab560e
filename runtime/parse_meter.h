// Meters the memory a parser builds out of untrusted bytes (a JSON document tree, GGUF metadata) while it builds
// it. A file within its size limit can still cost many times its size in memory: nlohmann's tree takes ~16 bytes
// per byte of a list of short strings, GGUF metadata ~7.5 per byte of nested empty arrays (tests/fuzz/RESULTS.md
// has the measurements). Past `limit` a parse fails with a FormatError naming the file; past what the
// process-wide arena's --mem-budget has left, with a BudgetError. Not a charge: the memory is not held in the
// arena's accounts afterwards, the check only refuses a parse that could not fit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace edgellm {

// A parsed JSON tree or a file's GGUF metadata: at most this much memory (real files: a 33 MB tokenizer.json,
// Gemma 3's, is ~0.2 GiB as a tree; a 256k-token GGUF vocabulary ~40 MiB).
constexpr size_t kParseMaxMemoryBytes = size_t{512} << 20;

class ParseMeter {
 public:
  ParseMeter(std::string file, std::string field, size_t limit = kParseMaxMemoryBytes);
  // Counts `bytes` more; throws FormatError past the limit, BudgetError past the arena's budget. Checked at
  // each MiB: a parse of under 1 MiB never fails (a JSONL line or a checkpoint header while a training run
  // holds its budget nearly full would otherwise be refused for memory it barely needs).
  void add(size_t bytes);
  size_t bytes() const { return bytes_; }

 private:
  void check();
  std::string file_, field_;
  size_t limit_, bytes_ = 0, next_check_;
};

// A JSON tree nests at most this deep. Real files nest under 10; code that walks, copies or prints a tree recurses
// once per level, so 40,000 levels in a 100 KB config.json overflowed the stack (issue 24).
constexpr int kJsonMaxDepth = 512;

// Sees each object key as it is parsed, with its depth (1: a key of the root object).
using JsonKeyHook = std::function<void(int depth, const std::string& key)>;

// nlohmann::json::parse of untrusted text with its tree metered as above (an estimate of nlohmann's allocations
// per key, value and container; an upper bound within ~10% on the shapes measured), in time linear in the text.
// Any syntax error, out-of-range number or nesting deeper than kJsonMaxDepth is a FormatError(file, field). `on_key` (optional) sees every key.
nlohmann::json parse_json_metered(std::string_view text, const std::string& file, const std::string& field = "json",
                                  const JsonKeyHook& on_key = nullptr, size_t limit = kParseMaxMemoryBytes);

// A JSON value as an error message shows it: a scalar as its text (a string cut at 40 bytes), a container as
// "an array of N" / "an object of N". Never dumps a subtree: untrusted trees can be large.
std::string json_brief(const nlohmann::json& v);

}  // namespace edgellm
