// Inputs of loaders that take paths: a per-process tmpfs folder to write them into, and the multi-file input
// formats (fuzz_safetensors_dir's shards; named files for fuzz_hf_model and the tokenizer targets). Shared by
// those targets and fuzz_seedgen.
// Not used by fuzz_lamp (which predates it and keeps its own copy).
#pragma once

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edgellm::fuzz {

// fuzz_safetensors_dir's input: the index JSON, then for each shard k = 1, 2, ... this line and its bytes.
inline constexpr std::string_view kShardSeparator = "\n#edgellm-fuzz: shard#\n";
inline std::string shard_name(int k) { return "shard-" + std::to_string(k) + ".safetensors"; }

// A multi-file input: the first file's bytes, then for each further file the line "#edgellm-fuzz: NAME#" and its
// bytes. NAME is 1-64 of [A-Za-z0-9._-] starting with a letter or digit (never "..", never a path); a marker line
// that is not of that form stays part of the file before it, so every byte string is some set of files.
inline constexpr std::string_view kFileMarker = "\n#edgellm-fuzz: ";

struct InputFile {
  std::string name;
  std::string_view bytes;
};

inline bool valid_file_name(std::string_view n) {
  if (n.empty() || n.size() > 64 || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

inline std::vector<InputFile> split_files(std::string_view bytes, std::string first_name) {
  std::vector<InputFile> files{{std::move(first_name), {}}};
  size_t begin = 0, search = 0;
  for (;;) {
    const size_t m = bytes.find(kFileMarker, search);
    if (m == std::string_view::npos) break;
    const size_t name_at = m + kFileMarker.size(), end = bytes.find("#\n", name_at);
    const std::string_view name = end == std::string_view::npos ? std::string_view() : bytes.substr(name_at, end - name_at);
    if (!valid_file_name(name)) {
      search = m + 1;
      continue;
    }
    files.back().bytes = bytes.substr(begin, m - begin);
    files.push_back({std::string(name), {}});
    begin = search = end + 2;
  }
  files.back().bytes = bytes.substr(begin);
  return files;
}

// The bytes of the last file called `name`; empty when there is none.
inline std::string_view file_named(const std::vector<InputFile>& files, std::string_view name) {
  std::string_view bytes;
  for (const InputFile& f : files)
    if (f.name == name) bytes = f.bytes;
  return bytes;
}

// The inverse, for seeds: files[0]'s bytes (its name is implied by the target), then each further one marked.
inline std::string join_files(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out = files.empty() ? std::string() : files[0].second;
  for (size_t i = 1; i < files.size(); ++i) out += std::string(kFileMarker) + files[i].first + "#\n" + files[i].second;
  return out;
}

// /dev/shm/edgellm_fuzz_<target>_<pid> (or under /tmp), removed at exit: tmpfs is memory.
class SpillDir {
 public:
  explicit SpillDir(const std::string& target)
      : path_((access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + std::string("/edgellm_fuzz_") + target + "_" +
              std::to_string(getpid())) {
    std::filesystem::create_directories(path_);
  }
  ~SpillDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  // Empties the folder: files of the previous input must not be read as this one's.
  void clear() const {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  std::string write(const std::string& name, std::string_view bytes) const {
    const std::string p = path_ + "/" + name;
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (!f) std::abort();
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    return p;
  }

 private:
  std::string path_;
};

}  // namespace edgellm::fuzz
