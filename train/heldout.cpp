// evaluate_heldout: one forward per example over all positions; log-softmax of each scored target.
#include "train/heldout.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "runtime/error.h"

namespace edgellm {

HeldOutResult evaluate_heldout(const LlamaModel& m, const std::vector<Example>& examples) {
  EDGE_CHECK(!examples.empty(), "held-out evaluation: no examples");
  const int64_t V = m.config.vocab;
  HeldOutResult r;
  double nll = 0;
  std::vector<float> logits;
  for (const Example& e : examples) {
    const int64_t T = std::min<int64_t>(static_cast<int64_t>(e.ids.size()), m.config.max_ctx);
    if (T < static_cast<int64_t>(e.ids.size())) ++r.truncated;
    if (T < 2) continue;
    bool qa = !e.target[0] && e.ids[0] != m.config.bos_id;
    for (int64_t t = 1; t < T; ++t) qa = qa || !e.target[static_cast<size_t>(t)];
    logits.resize(static_cast<size_t>(T * V));
    KvCache cache(m.config, T);
    llama_forward(m, cache, e.ids.data(), T, logits.data(), true);
    bool exact = true;
    int64_t scored = 0;
    for (int64_t t = 1; t < T; ++t) {
      if (!e.target[static_cast<size_t>(t)]) continue;
      const float* z = logits.data() + (t - 1) * V;  // (V) predicts ids[t]
      const int32_t want = e.ids[static_cast<size_t>(t)];
      const float zmax = *std::max_element(z, z + V);
      double sum = 0;
      for (int64_t v = 0; v < V; ++v) sum += std::exp(static_cast<double>(z[v] - zmax));
      nll += std::log(sum) - static_cast<double>(z[want] - zmax);
      ++scored;
      if (want != m.config.eos_id && std::max_element(z, z + V) - z != static_cast<std::ptrdiff_t>(want)) exact = false;
    }
    r.tokens += scored;
    if (qa && scored > 0) {
      ++r.qa;
      r.qa_correct += exact;
    }
  }
  EDGE_CHECK(r.tokens > 0, "held-out evaluation: the examples have no scored tokens");
  r.loss = nll / static_cast<double>(r.tokens);
  r.ppl = std::exp(r.loss);
  return r;
}

}  // namespace edgellm
