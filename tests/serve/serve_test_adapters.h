// Random LoRA adapters for a built-in model, for serve's tests: large enough that two of them (and the bare base)
// give different greedy replies. Not trained adapters: they test switching, not quality.
#pragma once

#include <cmath>
#include <cstdint>

#include "models/llama.h"
#include "models/sampler.h"

namespace edgellm::serve_test {

// Puts rank-4 pairs on every layer's q_proj, v_proj and down_proj: A, B uniform in ±√3 (unit variance) scaled
// by 1/√in and 1/√r, so B·A·x is about as large as W·x; scale = alpha / r = 2.
inline void put_random_adapter(LlamaModel& m, uint64_t seed) {
  constexpr int64_t r = 4;
  Rng rng(seed);
  auto fill = [&](Tensor& t, float stddev) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>((2 * rng.uniform() - 1) * std::sqrt(3.0)) * stddev;
  };
  for (LlamaLayer& L : m.weights.layers)
    for (LinearKind k : {LinearKind::Q, LinearKind::V, LinearKind::Down}) {
      const Tensor& W = L.weight(k);
      const int64_t out = W.dim(0), in = W.dim(1);
      LoraPair& p = L.lora[static_cast<int>(k)];
      p.A = Tensor::empty({r, in});
      p.B = Tensor::empty({out, r});
      fill(p.A, 1.0f / std::sqrt(static_cast<float>(in)));
      fill(p.B, 1.0f / std::sqrt(static_cast<float>(r)));
      p.scale = 2.0f;
    }
}

}  // namespace edgellm::serve_test
