// The sampling chain, in llama.cpp's order: penalties → top-k → top-p → min-p → temperature → draw.
#include "models/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "runtime/error.h"

namespace edgellm {

void Rng::reseed(uint64_t seed) {
  for (auto& s : s_) {
    seed += 0x9e3779b97f4a7c15ULL;
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    s = z ^ (z >> 31);
  }
}

uint64_t Rng::next() {
  auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  const uint64_t r = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return r;
}

int32_t argmax(const float* logits, int64_t V) {
  EDGE_CHECK(V > 0, "argmax over an empty vocabulary");
  int64_t best = 0;
  for (int64_t i = 1; i < V; ++i)
    if (logits[i] > logits[best]) best = i;
  return static_cast<int32_t>(best);
}

int32_t Sampler::sample(const float* logits, int64_t V, const std::vector<int32_t>& history) {
  EDGE_CHECK(V > 0, "sampling from an empty vocabulary");
  cands_.resize(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) cands_[static_cast<size_t>(i)] = {static_cast<int32_t>(i), logits[i], 0.0f};

  if (p_.repeat_penalty != 1.0f && p_.repeat_last_n != 0) {
    const size_t n = p_.repeat_last_n < 0 ? history.size()
                                           : std::min(history.size(), static_cast<size_t>(p_.repeat_last_n));
    std::unordered_set<int32_t> seen(history.end() - static_cast<std::ptrdiff_t>(n), history.end());
    for (int32_t id : seen) {
      if (id < 0 || id >= V) continue;
      float& l = cands_[static_cast<size_t>(id)].logit;
      l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
    }
  }
  if (p_.temperature <= 0.0f) {
    size_t best = 0;
    for (size_t i = 1; i < cands_.size(); ++i)
      if (cands_[i].logit > cands_[best].logit) best = i;
    return cands_[best].id;
  }

  auto by_logit = [](const Cand& a, const Cand& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
  size_t keep = cands_.size();
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < keep) {
    keep = static_cast<size_t>(p_.top_k);
    std::partial_sort(cands_.begin(), cands_.begin() + static_cast<std::ptrdiff_t>(keep), cands_.end(), by_logit);
  } else {
    std::sort(cands_.begin(), cands_.end(), by_logit);
  }
  cands_.resize(keep);

  auto softmax = [&](float temp) {
    const float mx = cands_[0].logit;
    double sum = 0;
    for (auto& c : cands_) sum += (c.p = std::exp((c.logit - mx) / temp));
    for (auto& c : cands_) c.p = static_cast<float>(c.p / sum);
  };
  softmax(1.0f);
  if (p_.top_p < 1.0f) {
    double cum = 0;
    size_t n = 0;
    while (n < cands_.size()) {
      cum += cands_[n++].p;
      if (cum >= p_.top_p) break;
    }
    cands_.resize(std::max<size_t>(n, 1));
  }
  if (p_.min_p > 0.0f) {
    const float floor = cands_[0].p * p_.min_p;
    size_t n = 1;
    while (n < cands_.size() && cands_[n].p >= floor) ++n;
    cands_.resize(n);
  }
  softmax(p_.temperature);
  double r = rng_.uniform(), cum = 0;
  for (const auto& c : cands_) {
    cum += c.p;
    if (r < cum) return c.id;
  }
  return cands_.back().id;
}

}  // namespace edgellm
