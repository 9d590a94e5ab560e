// Inputs of loaders that take paths: a per-process tmpfs folder to write them into, and the separator line
// of the multi-file input of fuzz_safetensors_dir. Shared by those targets and fuzz_seedgen.
// Not used by fuzz_lamp (which predates it and keeps its own copy).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace edgellm::fuzz {

// fuzz_safetensors_dir's input: the index JSON, then for each shard k = 1, 2, ... this line and its bytes.
inline constexpr std::string_view kShardSeparator = "\n#edgellm-fuzz: shard#\n";
inline std::string shard_name(int k) { return "shard-" + std::to_string(k) + ".safetensors"; }

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
