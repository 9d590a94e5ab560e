// libFuzzer target: LaMP JSON (questions, then optionally the line `#edgellm-fuzz: outputs#` and an outputs file)
// -> study::load_lamp. load_lamp reads paths, so the bytes go to files in a tmpfs folder first (/dev/shm).
// Not the study's runner: the users are read, not trained or scored.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "bench/study/benchmark.h"
#include "fuzz_common.h"

using namespace edgellm;

namespace {

constexpr std::string_view kOutputsSeparator = "\n#edgellm-fuzz: outputs#\n";

std::string spill(const std::string& name, std::string_view bytes) {
  static const std::string dir = [] {
    const std::string d = (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + std::string("/edgellm_fuzz_lamp_") +
                          std::to_string(getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  const std::string path = dir + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return path;
}

}  // namespace

void fuzz_one(std::string_view bytes) {
  const size_t cut = bytes.find(kOutputsSeparator);
  const std::string questions = spill("questions.json", bytes.substr(0, cut));
  const std::string outputs =
      cut == std::string_view::npos ? "" : spill("outputs.json", bytes.substr(cut + kOutputsSeparator.size()));
  (void)study::load_lamp(questions, outputs);
}
