// SafetensorsDir: a Hugging Face checkpoint split over shards, found through
// model.safetensors.index.json when present. Not a name mapper: HF names stay as they are.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/parse_meter.h"
#include "runtime/path_query.h"
#include "runtime/safetensors.h"

namespace edgellm {
namespace fs = std::filesystem;

// model.safetensors.index.json is parsed whole; real ones are well under 1 MiB (a name and a file per tensor).
constexpr uint64_t kIndexMaxBytes = uint64_t{64} << 20;

SafetensorsDir SafetensorsDir::open(const std::string& dir) {
  SafetensorsDir d;
  d.dir_ = dir;
  if (!is_directory_path(dir)) fail("{}: not a directory", dir);
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  nlohmann::json weight_map;
  std::vector<std::string> shards;
  if (path_exists(index_path)) {
    const std::string ip = index_path.string();
    const nlohmann::json j = parse_json_metered(read_file(ip, kIndexMaxBytes), ip, "index");
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      fail_format(ip, "weight_map", "missing or not an object");
    weight_map = j["weight_map"];
    for (auto it = weight_map.begin(); it != weight_map.end(); ++it) {
      if (!it.value().is_string()) fail_format(ip, "weight_map." + it.key(), "expected a file name");
      const std::string shard = it.value().get<std::string>();
      if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
        fail_format(ip, "weight_map." + it.key(), "'{}' is not a file name in the directory", shard);
      if (std::find(shards.begin(), shards.end(), shard) == shards.end()) shards.push_back(shard);
    }
  } else {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code file_ec;
      if (it->is_regular_file(file_ec) && it->path().extension() == ".safetensors")
        shards.push_back(it->path().filename().string());
    }
    if (ec) fail("{}: cannot list the directory: {}", dir, ec.message());
  }
  std::sort(shards.begin(), shards.end());
  if (shards.empty()) fail("{}: no *.safetensors files in the directory", dir);
  for (const auto& name : shards) {
    const std::string path = (fs::path(dir) / name).string();
    // The non-throwing form: a shard name from the index can be anything (too long, not a path at all), and
    // that must read as a format error naming the index, not a filesystem_error out of the loader.
    std::error_code ec;
    if (!fs::exists(path, ec))
      fail_format(index_path.string(), "weight_map", "shard '{}' does not exist{}", name,
                  ec ? " (" + ec.message() + ")" : std::string());
    d.files_.push_back(SafetensorsFile::open(path));
    const size_t fi = d.files_.size() - 1;
    for (const auto& t : d.files_.back().tensors()) {
      const auto [it, inserted] = d.index_.emplace(t.name, fi);
      if (!inserted)
        fail_format(path, t.name, "tensor also present in {}", d.files_[it->second].path());
    }
  }
  // Every index entry must name the shard that really holds the tensor.
  for (auto it = weight_map.begin(); it != weight_map.end(); ++it) {
    const SafetensorsFile* f = d.file_of(it.key());
    const std::string shard = it.value().get<std::string>();
    if (!f || fs::path(f->path()).filename() != shard)
      fail_format(index_path.string(), "weight_map." + it.key(), "tensor is not in shard '{}'", shard);
  }
  return d;
}

const SafetensorsFile* SafetensorsDir::file_of(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &files_[it->second];
}

Tensor SafetensorsDir::tensor(std::string_view name) const {
  const SafetensorsFile* f = file_of(name);
  if (!f) fail_format(dir_, std::string(name), "required tensor is missing from the safetensors files");
  return f->tensor(name);
}

Tensor SafetensorsDir::tensor(std::string_view name, const Shape& expect) const {
  const SafetensorsFile* f = file_of(name);
  if (!f) fail_format(dir_, std::string(name), "required tensor is missing from the safetensors files");
  return f->tensor(name, expect);
}

}  // namespace edgellm
