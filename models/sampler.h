// Token sampling: greedy, temperature, top-k, top-p, min-p and repetition penalty, seeded.
// Not a grammar or beam search. The RNG is edgellm's own so runs repeat across platforms.
#pragma once

#include <cstdint>
#include <vector>

namespace edgellm {

struct SamplerParams {
  float temperature = 0.8f;   // <= 0 means greedy (argmax)
  int top_k = 40;             // <= 0 disables
  float top_p = 0.95f;        // >= 1 disables
  float min_p = 0.05f;        // <= 0 disables
  float repeat_penalty = 1.0f;  // 1 disables; > 1 discourages tokens seen in the last repeat_last_n
  int repeat_last_n = 64;
  uint64_t seed = 42;
};

// xoshiro256** seeded by splitmix64: small, fast, identical everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed = 42) { reseed(seed); }
  void reseed(uint64_t seed);
  uint64_t next();
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)

 private:
  uint64_t s_[4];
};

class Sampler {
 public:
  explicit Sampler(SamplerParams p = {}) : p_(p), rng_(p.seed) {}
  // Picks the next token from logits (V); `history` is the sequence so far (for the penalty).
  int32_t sample(const float* logits, int64_t V, const std::vector<int32_t>& history);
  const SamplerParams& params() const { return p_; }

 private:
  struct Cand {
    int32_t id;
    float logit;
    float p;
  };
  SamplerParams p_;
  Rng rng_;
  std::vector<Cand> cands_;
};

int32_t argmax(const float* logits, int64_t V);

}  // namespace edgellm
