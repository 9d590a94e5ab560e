// libFuzzer target: a sharded Hugging Face checkpoint (model.safetensors.index.json, then kShardSeparator and
// the bytes of shard-1.safetensors, shard-2.safetensors, ...) -> SafetensorsDir::open, then every tensor view.
// The files go to a folder in /dev/shm (open takes a directory). An empty index part writes no index file, so
// the directory scan (every *.safetensors) is reached too. Not config.json: SafetensorsDir does not read it.
#include "fuzz_common.h"
#include "fuzz_files.h"
#include "runtime/safetensors.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  static const fuzz::SpillDir dir("safetensors_dir");
  dir.clear();
  size_t cut = bytes.find(fuzz::kShardSeparator);
  if (const std::string_view index = bytes.substr(0, cut); !index.empty())
    dir.write("model.safetensors.index.json", index);
  for (int k = 1; cut != std::string_view::npos; ++k) {
    const size_t from = cut + fuzz::kShardSeparator.size();
    cut = bytes.find(fuzz::kShardSeparator, from);
    dir.write(fuzz::shard_name(k), bytes.substr(from, cut == std::string_view::npos ? cut : cut - from));
  }
  const SafetensorsDir d = SafetensorsDir::open(dir.path());
  for (const auto& f : d.files())
    for (const auto& info : f.tensors()) (void)d.tensor(info.name, info.shape);
}
