// Threaded drivers of causal grouped-query attention: checks, work split, scratch.
// Not the tile math (kernels/simd/attention.h) and not ISA-specific: compiled without -m flags.
#include "kernels/attention.h"

#include <atomic>
#include <cmath>
#include <vector>

#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/profile.h"

namespace edgellm {

AttentionDims attention_dims(int64_t T, int64_t NH, int64_t KVH, int64_t HD, int64_t pos0) {
  AttentionDims d;
  d.T = T;
  d.S = pos0 + T;
  d.NH = NH;
  d.KVH = KVH;
  d.HD = HD;
  d.pos0 = pos0;
  d.q_stride = d.o_stride = NH * HD;
  d.k_stride = d.v_stride = KVH * HD;
  d.scale = 1.0 / std::sqrt(static_cast<double>(HD));
  return d;
}

int64_t attention_work_floats(int64_t HD) {
  return 2 * kAttnKeys * HD + 2 * kAttnRows * kAttnKeys + kAttnRows * HD + 3 * kAttnRows;
}

int64_t attention_scratch_floats(int64_t HD, int threads) {
  return (threads > 0 ? threads : num_threads()) * attention_work_floats(HD);
}

void attention_check(const AttentionDims& d, const char* who) {
  auto bad = [&](const char* field, int64_t value, const char* want) {
    fail("{}: AttentionDims.{} = {}: {}", who, field, value, want);
  };
  if (d.T < 0) bad("T", d.T, "must be >= 0");
  if (d.NH <= 0) bad("NH", d.NH, "must be > 0");
  if (d.KVH <= 0 || d.NH % d.KVH != 0) bad("KVH", d.KVH, "must be > 0 and divide NH");
  if (d.HD <= 0) bad("HD", d.HD, "must be > 0");
  if (d.pos0 < 0) bad("pos0", d.pos0, "must be >= 0");
  if (d.S < d.pos0 + d.T) bad("S", d.S, "must be >= pos0 + T (the causal window of the last query)");
  if (d.q_stride < d.NH * d.HD) bad("q_stride", d.q_stride, "must be >= NH * HD");
  if (d.o_stride < d.NH * d.HD) bad("o_stride", d.o_stride, "must be >= NH * HD");
  if (d.k_stride < d.KVH * d.HD) bad("k_stride", d.k_stride, "must be >= KVH * HD");
  if (d.v_stride < d.KVH * d.HD) bad("v_stride", d.v_stride, "must be >= KVH * HD");
  if (d.window < 0) bad("window", d.window, "must be >= 0 (0: no sliding window)");
  if (!(d.softcap >= 0) || !std::isfinite(d.softcap)) fail("{}: AttentionDims.softcap = {}: must be finite and >= 0", who, d.softcap);
  if (!std::isfinite(d.scale)) fail("{}: AttentionDims.scale = {}: must be finite", who, d.scale);
}

namespace {

// Hands each thread of one parallel_for its slice of the caller's scratch (sized for num_threads() threads, indexed by
// thread_index(), stable across the chunks one thread runs), or a buffer of its own thread.
struct ScratchSlots {
  float* base;
  int64_t per;
  float* take() const {
    if (base) return base + thread_index() * per;
    thread_local std::vector<float> own;
    if (static_cast<int64_t>(own.size()) < per) own.resize(static_cast<size_t>(per));
    return own.data();
  }
};

// Task i of n over nq query tiles and KVH kv heads: tiles are taken from both ends in turn (0, nq−1, 1,
// nq−2, ...) so that every contiguous chunk of tasks mixes short early rows with long late ones.
void task_of(int64_t i, int64_t KVH, int64_t nq, int64_t* g, int64_t* tile) {
  *g = i % KVH;
  const int64_t j = i / KVH;
  *tile = (j % 2 == 0) ? j / 2 : nq - 1 - j / 2;
}

// q, k, v and o once each; q·kᵀ and p·v over the keys a causal query sees (pos0 + t + 1 of them), 2 flops per
// multiply-add. The backward does about 2.5× the forward's products (it recomputes p).
profile::Cost attention_cost(const AttentionDims& d, double times) {
  const double T = static_cast<double>(d.T), HD = static_cast<double>(d.HD);
  const double keys = static_cast<double>(d.pos0) + (T + 1) / 2;  // mean keys per query
  const double bytes = 4 * (2 * T * static_cast<double>(d.NH) * HD + 2 * static_cast<double>(d.pos0 + d.T) * static_cast<double>(d.KVH) * HD);
  return {times * bytes, times * 4 * T * static_cast<double>(d.NH) * keys * HD};
}

}  // namespace

void attention_forward(float* o, float* L, const float* q, const float* k, const float* v, const AttentionDims& d,
                       float* scratch, const KernelTable& kt) {
  attention_check(d, "attention_forward");
  if (d.T == 0) return;
  profile::Scope prof("attention", [&] { return fmt::format("f32 {}", kt.attention_forward_isa); },
                      [&] { return attention_cost(d, 1); });
  const int64_t G = d.NH / d.KVH;
  const int64_t Tq = kAttnRows / G > 0 ? kAttnRows / G : 1;  // tokens per query tile
  const int64_t nq = (d.T + Tq - 1) / Tq;
  ScratchSlots slots{scratch, attention_work_floats(d.HD)};
  parallel_for(d.KVH * nq, 1, [&](int64_t begin, int64_t end) {
    float* work = slots.take();
    for (int64_t i = begin; i < end; ++i) {
      int64_t g, tile;
      task_of(i, d.KVH, nq, &g, &tile);
      const int64_t t0 = tile * Tq, t1 = t0 + Tq < d.T ? t0 + Tq : d.T;
      kt.attention_forward(o, L, q, k, v, d, g, t0, t1, work);
    }
  });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dO, const float* q, const float* k,
                        const float* v, const float* o, const float* L, const AttentionDims& d, float* scratch,
                        const KernelTable& kt) {
  attention_check(d, "attention_backward");
  if (d.T == 0) return;
  profile::Scope prof("attention_backward", [&] { return fmt::format("f32 {}", kt.attention_backward_isa); },
                      [&] { return attention_cost(d, 2.5); });
  ScratchSlots slots{scratch, attention_work_floats(d.HD)};
  parallel_for(d.KVH, 1, [&](int64_t begin, int64_t end) {
    float* work = slots.take();
    for (int64_t g = begin; g < end; ++g) kt.attention_backward(dq, dk, dv, dO, q, k, v, o, L, d, g, work);
  });
}

}  // namespace edgellm
