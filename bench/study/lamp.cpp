// LaMP-format JSON read as study users: each entry is one user whose profile items are documents and
// whose input is one L4-style question (gold from the entry's "output" or the outputs file).
// Not a downloader nor a LaMP scorer: the task's metric is the study's (exact match / F1 / ROUGE-L).
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "bench/study/benchmark.h"
#include "bench/study/benchmark_source.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"
#include "runtime/parse_meter.h"

namespace edgellm::study {

namespace {

using nlohmann::json;

// A LaMP dump is research data the user chose, far larger than a model's config: its limits are wider than the
// loaders' defaults, and --mem-budget (checked by the parse meter) is what bounds it on a small device.
constexpr uint64_t kLampMaxFileBytes = uint64_t{2} << 30;
constexpr size_t kLampParseMaxMemoryBytes = size_t{8} << 30;

json read_json(const std::string& path) {
  // Metered: a file of short strings costs ~16x its size as a tree (tests/fuzz/RESULTS.md). A syntax error, and
  // nlohmann's out_of_range for numbers like 1e309 (fuzz_lamp, crash #10), is FormatError(path, "json").
  return parse_json_metered(read_file(path, kLampMaxFileBytes), path, "json", nullptr, kLampParseMaxMemoryBytes);
}

// LaMP ids are strings ("310") in most tasks and numbers in some dumps: accept both, as text.
std::string id_of(const json& j, const std::string& path, const std::string& field) {
  if (!j.is_object() || !j.contains("id")) throw FormatError(path, field + ".id", "missing");
  const json& id = j["id"];
  if (id.is_string()) return id.get<std::string>();
  if (id.is_number_integer()) return std::to_string(id.get<int64_t>());
  throw FormatError(path, field + ".id", "must be a string or an integer, not " + std::string(id.type_name()));
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s;
}

// A profile item's text: title, text and abstract (whichever exist), then its label if it has one
// (LaMP-2 "tag"/"category", LaMP-3 "score"), which is the user's preference the task asks about.
std::string profile_text(const json& item, const std::string& path, const std::string& field) {
  if (!item.is_object()) throw FormatError(path, field, "profile item must be an object");
  std::string text;
  for (const char* key : {"title", "text", "abstract"}) {
    if (!item.contains(key)) continue;
    if (!item[key].is_string()) throw FormatError(path, field + "." + key, "must be a string");
    const std::string v = item[key].get<std::string>();
    if (!v.empty()) text += (text.empty() ? "" : " | ") + v;
  }
  if (text.empty()) throw FormatError(path, field, "needs a non-empty \"text\", \"title\" or \"abstract\"");
  for (const char* key : {"tag", "category", "score"}) {
    if (!item.contains(key)) continue;
    const json& v = item[key];
    std::string s;
    if (v.is_string()) s = v.get<std::string>();
    else if (v.is_number()) s = v.dump();
    else throw FormatError(path, field + "." + key, "must be a string or a number");
    text += " (" + std::string(key) + ": " + s + ")";
  }
  return one_line(text);
}

std::map<std::string, std::string> read_golds(const std::string& path) {
  const json j = read_json(path);
  if (!j.is_object()) throw FormatError(path, "(root)", "must be an object with \"golds\"");
  if (!j.contains("golds") || !j["golds"].is_array()) throw FormatError(path, "golds", "missing or not an array");
  if (j.contains("task") && !j["task"].is_string()) throw FormatError(path, "task", "must be a string");
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < j["golds"].size(); ++i) {
    const std::string field = "golds[" + std::to_string(i) + "]";
    const json& g = j["golds"][i];
    const std::string id = id_of(g, path, field);
    if (!g.contains("output") || !g["output"].is_string()) throw FormatError(path, field + ".output", "missing or not a string");
    if (!out.emplace(id, g["output"].get<std::string>()).second) throw FormatError(path, field + ".id", "duplicate id " + id);
  }
  return out;
}

}  // namespace

std::vector<User> load_lamp(const std::string& questions_path, const std::string& outputs_path) {
  const json root = read_json(questions_path);
  if (!root.is_array()) throw FormatError(questions_path, "(root)", "must be a list of {id, input, profile}");
  std::map<std::string, std::string> golds;
  if (!outputs_path.empty()) golds = read_golds(outputs_path);
  std::vector<User> users;
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < root.size(); ++i) {
    const std::string field = "[" + std::to_string(i) + "]";
    const json& e = root[i];
    const std::string id = id_of(e, questions_path, field);
    if (!seen.emplace(id, i).second) throw FormatError(questions_path, field + ".id", "duplicate id " + id);
    if (!e.contains("input") || !e["input"].is_string()) throw FormatError(questions_path, field + ".input", "missing or not a string");
    if (!e.contains("profile") || !e["profile"].is_array()) throw FormatError(questions_path, field + ".profile", "missing or not a list");
    if (e["profile"].empty()) throw FormatError(questions_path, field + ".profile", "is empty: the user has no documents");
    User u;
    u.index = static_cast<int64_t>(i);
    u.name = "lamp " + id;
    for (size_t k = 0; k < e["profile"].size(); ++k) {
      const std::string pf = field + ".profile[" + std::to_string(k) + "]";
      Document d;
      d.id = static_cast<int32_t>(k);
      d.day = static_cast<int32_t>(k) + 1;
      d.kind = "note";
      d.text = profile_text(e["profile"][k], questions_path, pf);
      u.documents.push_back(std::move(d));
    }
    Question q;
    q.id = id;
    q.level = Level::L4;
    q.text = one_line(e["input"].get<std::string>());
    if (!outputs_path.empty()) {
      auto it = golds.find(id);
      if (it == golds.end()) throw FormatError(outputs_path, "golds", "no output for id " + id);
      q.answer = it->second;
    } else if (e.contains("output")) {
      if (!e["output"].is_string()) throw FormatError(questions_path, field + ".output", "must be a string");
      q.answer = e["output"].get<std::string>();
    } else {
      throw FormatError(questions_path, field + ".output", "missing, and no outputs file was given");
    }
    u.heldout.push_back(q.answer);
    u.questions.push_back(std::move(q));
    users.push_back(std::move(u));
  }
  for (const auto& [id, out] : golds)
    if (!seen.count(id)) throw FormatError(outputs_path, "golds", "output for id " + id + " that no question has");
  return users;
}

}  // namespace edgellm::study

// ---- "lamp:DIR" as a study benchmark (benchmark_source.h) -------------------------------------------------
namespace edgellm::study {

bool is_lamp_benchmark(const std::string& b) { return b.rfind("lamp:", 0) == 0; }

std::pair<std::string, std::string> lamp_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(dir, ec)) return {dir, ""};
  if (!fs::is_directory(dir, ec)) fail("--benchmark lamp:{}: no such folder", dir);
  for (const char* split : {"dev_", "train_", ""}) {
    const fs::path q = fs::path(dir) / (std::string(split) + "questions.json"), o = fs::path(dir) / (std::string(split) + "outputs.json");
    if (fs::is_regular_file(q, ec)) return {q.string(), fs::is_regular_file(o, ec) ? o.string() : ""};
  }
  fail("--benchmark lamp:{}: no dev_questions.json, train_questions.json or questions.json in the folder", dir);
}

void check_benchmark(const std::string& b) {
  if (b.empty()) return;
  if (!is_lamp_benchmark(b) || b.size() == 5) fail("--benchmark \"{}\": expected lamp:DIR (or nothing: the generated users)", b);
  lamp_files(b.substr(5));
}

const std::vector<User>& lamp_users(const std::string& b) {
  static std::map<std::string, std::vector<User>> loaded;
  auto it = loaded.find(b);
  if (it == loaded.end()) {
    check_benchmark(b);
    const auto [q, o] = lamp_files(b.substr(5));
    it = loaded.emplace(b, load_lamp(q, o)).first;
  }
  return it->second;
}

}  // namespace edgellm::study
