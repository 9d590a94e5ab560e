// libFuzzer target: a safetensors file in memory -> SafetensorsFile::parse, then every tensor view.
// Not a directory/shard-index test: fuzz_safetensors_dir writes the shards to disk for SafetensorsDir.
#include "fuzz_common.h"
#include "runtime/safetensors.h"

using namespace edgellm;

void fuzz_one(std::string_view bytes) {
  SafetensorsFile f = SafetensorsFile::parse(MappedFile::from_memory("fuzz.safetensors", std::string(bytes)));
  for (const auto& info : f.tensors()) (void)f.tensor(info);
}
