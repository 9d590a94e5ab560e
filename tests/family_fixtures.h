// Where the family fixtures are (issue 21) and how their token ids read: one definition for the tests that check a
// family (logits, gradients, LoRA, calibration, Vulkan). Not the checks themselves.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "models/runner.h"
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

// A fixture's float32 tensor, flat.
inline std::vector<float> fixture_f32(const SafetensorsFile& f, const std::string& name) {
  const Tensor t = f.tensor(name);
  REQUIRE(t.dtype() == DType::F32);
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

// max |a − b| / max |b|: the fixtures' tolerance is relative to the largest logit.
inline double rel_to_largest(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(static_cast<double>(a[i]) - b[i]));
    den = std::max(den, std::abs(static_cast<double>(b[i])));
  }
  return num / den;
}

// Logits of ids fed as `prefill` tokens in one call, then one token per call with the KV cache.
inline std::vector<float> incremental_logits(const Model& m, const std::vector<int32_t>& ids, int64_t prefill) {
  const int64_t T = static_cast<int64_t>(ids.size()), V = m.llama.config.vocab;
  KvCache cache(m.llama.config, T);
  std::vector<float> out(static_cast<size_t>(T * V));
  llama_forward(m.llama, cache, ids.data(), prefill, out.data(), true);
  for (int64_t t = prefill; t < T; ++t) llama_forward(m.llama, cache, ids.data() + t, 1, out.data() + t * V, false);
  return out;
}

// m (loaded from `family`'s fixture, on whatever backend) against transformers' logits of both inputs, then its
// decode (16 tokens of prompt, then 8 one at a time, as reference.json's kv_cache_vs_recompute was measured)
// against its own full forward; all within 1e-4 of the largest logit. Returns the full forward's logits of the
// 24-token input. `label` names the backend in the messages.
inline std::vector<float> check_family_logits(const Model& m, const std::string& family, const std::string& label) {
  const SafetensorsFile ref = SafetensorsFile::open(family_dir(family) + "/references/logits.safetensors");
  std::vector<float> full24;
  for (const std::string len : {"len24", "len7"}) {
    const std::vector<float> got = all_logits(m, fixture_ids(ref, "input_ids_" + len));
    const double e = rel_to_largest(got, fixture_f32(ref, "logits_" + len));
    MESSAGE(family << " " << label << " " << len << ": max |Δ| / max |logit| = " << e);
    CHECK(e < 1e-4);
    if (len == "len24") full24 = got;
  }
  const double inc = rel_to_largest(incremental_logits(m, fixture_ids(ref, "input_ids_len24"), 16), full24);
  MESSAGE(family << " " << label << " incremental decode vs full forward: " << inc);
  CHECK(inc < 1e-4);
  return full24;
}

// The hold-out folders, for the tests that run every one.
inline const std::vector<std::string>& holdout_families() {
  static const std::vector<std::string> f = {"holdout/llama32", "holdout/qwen3", "holdout/gemma2", "holdout/gemma3",
                                             "holdout/phi3",    "holdout/gpt2",  "holdout/smollm3"};
  return f;
}

}  // namespace edgellm::test
