// One study run's factors that must bite: 2-bit compression changes a base's outputs (more than 8-bit
// does), and the time budget is the process's CPU seconds (getrusage), growing with the steps.
// Not a check of the study's findings: builtin:tiny has random weights.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "bench/study/run.h"
#include "runtime/dtype.h"
#include "study_fixtures.h"

using namespace edgellm;
using namespace edgellm::study;

namespace {

// ‖a − b‖ / ‖b‖ over every logit of the sequence.
double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
  return std::sqrt(num / den);
}

}  // namespace

TEST_CASE("study run: 2-bit compression (embeddings and output included) measurably changes a base's outputs") {
  const std::string dir = testing::temp_dir("compress");
  const Model f32 = load_compressed("builtin:tiny", "f32", dir);
  std::vector<int32_t> ids;
  for (int32_t i = 0; i < 24; ++i) ids.push_back((i * 37 + 5) % 500);
  const std::vector<float> ref = all_logits(f32, ids);
  std::map<std::string, double> diff, mib;
  for (const char* c : {"q8_0", "gptq3", "gptq2", "rtn2"}) {
    const Model m = load_compressed("builtin:tiny", c, dir);
    diff[c] = rel_diff(all_logits(m, ids), ref);
    mib[c] = static_cast<double>(m.llama.weight_bytes());
    // The tied embedding/output matrix is quantized too at 2 bits (group-int), not kept in f32.
    if (std::string(c) == "gptq2" || std::string(c) == "rtn2") CHECK(dtype_is_gint(m.llama.weights.tok_embd.dtype()));
    CHECK(std::filesystem::exists(compressed_base_path(dir, "builtin:tiny", c)));
  }
  MESSAGE("relative logit error: q8_0 " << diff["q8_0"] << ", gptq3 " << diff["gptq3"] << ", gptq2 " << diff["gptq2"]
                                     << ", rtn2 " << diff["rtn2"]);
  CHECK(diff["q8_0"] < 0.05);
  CHECK(diff["gptq2"] > 0.1);                 // measurably different outputs, not a rounding of them
  CHECK(diff["gptq2"] > 3 * diff["q8_0"]);
  CHECK(diff["rtn2"] > diff["gptq3"]);
  CHECK(mib["gptq2"] < mib["gptq3"]);          // and smaller
  CHECK(mib["rtn2"] < mib["gptq2"]);
  std::filesystem::remove_all(dir);
}

TEST_CASE("study run: the time budget is the process's CPU seconds, growing with the steps") {
  set_user_source(testing::tiny_user);
  const std::string dir = testing::temp_dir("cpu");
  RunSpec s;
  s.base = "builtin:tiny", s.method = "lora-r4", s.rank = 4, s.lr = 3e-3, s.checkpoints = {2, 8}, s.threads = 1;
  const auto rows = run_one(s, dir);
  double cpu2 = -1, cpu8 = -1, wall8 = -1;
  for (const auto& r : rows) {
    if (r.steps == 2) cpu2 = r.cpu_seconds;
    if (r.steps == 8) cpu8 = r.cpu_seconds, wall8 = r.seconds;
  }
  CHECK(cpu2 > 0);          // getrusage(RUSAGE_SELF), user + system
  CHECK(cpu8 > cpu2);       // cumulative: the budget up to the checkpoint
  // One thread: the process cannot use more CPU than wall time (a loaded machine stretches only the wall).
  CHECK(cpu8 <= wall8 * 1.05 + 0.05);
  set_user_source({});
  std::filesystem::remove_all(dir);
}
