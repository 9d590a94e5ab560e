// Where the family fixtures are (issue 21) and how their token ids read: one definition for the tests that check a
// family (logits, gradients, LoRA, calibration, Vulkan). Not the checks themselves.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/safetensors.h"

namespace edgellm::test {

// "gemma2": the public fixture in ../shared/fixtures/families (or $EDGELLM_FIXTURES/families); "holdout/gemma2":
// the hold-out model committed in tests/fixtures/families_holdout (other dimensions and options, same layout).
inline std::string family_dir(const std::string& family) {
  const std::string holdout = "holdout/";
  if (family.rfind(holdout, 0) == 0)
    return std::string(EDGELLM_REPO_FIXTURES_DIR) + "/families_holdout/" + family.substr(holdout.size());
  const char* env = std::getenv("EDGELLM_FIXTURES");
  return std::string(env && *env ? env : EDGELLM_FIXTURES_DIR) + "/families/" + family;
}

// A fixture's token ids, stored as int32 or int64.
inline std::vector<int32_t> fixture_ids(const SafetensorsFile& f, const std::string& name) {
  const Tensor t = f.tensor(name);
  REQUIRE((t.dtype() == DType::I32 || t.dtype() == DType::I64));
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < t.numel(); ++i)
    ids.push_back(t.dtype() == DType::I32 ? t.data<int32_t>()[i] : static_cast<int32_t>(t.data<int64_t>()[i]));
  return ids;
}

// The hold-out folders, for the tests that run every one.
inline const std::vector<std::string>& holdout_families() {
  static const std::vector<std::string> f = {"holdout/llama32", "holdout/qwen3", "holdout/gemma2", "holdout/gemma3",
                                             "holdout/phi3",    "holdout/gpt2",  "holdout/smollm3"};
  return f;
}

}  // namespace edgellm::test
