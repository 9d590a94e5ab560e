// Seeded random Llama models. Each tensor gets its own RNG stream (seed, tensor index), so
// tensors are drawn in parallel and the result does not depend on the thread count.
#include "models/builtin.h"

#include <cmath>

#include "kernels/kernel_table.h"
#include "models/sampler.h"
#include "runtime/arena.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace edgellm {
namespace {

// Standard normal from two uniforms (Box–Muller), on our own RNG.
void fill_normal(float* out, int64_t n, uint64_t seed, float mean, float stddev) {
  constexpr int64_t kChunk = 1 << 16;
  parallel_for((n + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      Rng rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(c));
      const int64_t e = std::min(n, (c + 1) * kChunk);
      for (int64_t i = c * kChunk; i < e; i += 2) {
        const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
        const double r = std::sqrt(-2.0 * std::log(u1));
        out[i] = mean + stddev * static_cast<float>(r * std::cos(2 * M_PI * u2));
        if (i + 1 < e) out[i + 1] = mean + stddev * static_cast<float>(r * std::sin(2 * M_PI * u2));
      }
    }
  });
}

Tensor random_tensor(const std::string& name, Shape shape, uint64_t seed, float mean, float stddev, DType dt) {
  Tensor f = Tensor::empty(shape, DType::F32);
  fill_normal(f.data<float>(), f.numel(), seed, mean, stddev);
  Tensor t = dt == DType::F32 ? f : f.to(dt);
  t.name = name;
  return t;
}

}  // namespace

std::vector<std::string> builtin_presets() { return {"tiny", "small", "110m", "1.1b"}; }

LlamaConfig builtin_config(const std::string& preset) {
  LlamaConfig c;
  c.arch = "llama";
  c.name = "edgellm-builtin-" + preset;
  c.rope_pairing = RopePairing::Interleaved;
  if (preset == "tiny") {
    c.vocab = 512, c.dim = 64, c.ffn_dim = 176, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.max_ctx = 256;
  } else if (preset == "small") {
    c.vocab = 512, c.dim = 256, c.ffn_dim = 768, c.n_layers = 4, c.n_heads = 4, c.n_kv_heads = 2, c.max_ctx = 512;
  } else if (preset == "110m") {
    c.vocab = 32000, c.dim = 768, c.ffn_dim = 2048, c.n_layers = 12, c.n_heads = 12, c.n_kv_heads = 12,
    c.max_ctx = 1024;
  } else if (preset == "1.1b") {
    c.vocab = 32000, c.dim = 2048, c.ffn_dim = 5632, c.n_layers = 22, c.n_heads = 32, c.n_kv_heads = 4,
    c.max_ctx = 2048;
  } else {
    fail("unknown built-in model '{}': expected tiny, small, 110m or 1.1b", preset);
  }
  c.head_dim = c.dim / c.n_heads;
  return c;
}

size_t builtin_model_bytes(const LlamaConfig& c, DType wt) {
  auto mat = [&](int64_t out, int64_t in) { return static_cast<size_t>(out * dtype_row_bytes(wt, in)); };
  const size_t norm = static_cast<size_t>(c.dim) * sizeof(float);
  const size_t layer = 2 * norm + mat(c.q_dim(), c.dim) + 2 * mat(c.kv_dim(), c.dim) + mat(c.dim, c.q_dim()) +
                       2 * mat(c.ffn_dim, c.dim) + mat(c.dim, c.ffn_dim);
  return 2 * mat(c.vocab, c.dim) + static_cast<size_t>(c.n_layers) * layer + norm;
}

LlamaModel make_builtin_model(const LlamaConfig& c, uint64_t seed, DType wt) {
  c.validate("built-in model " + c.name);
  // Refused before the first tensor: building most of a model only to fail at the last one would take the process
  // past the budget by the uncharged scratch of the way (and take seconds for the larger presets).
  const size_t need = builtin_model_bytes(c, wt);
  if (!default_arena().would_fit(need))
    throw BudgetError(fmt::format("built-in model {} needs {} ({} bytes) of weights, more than --mem-budget {} has "
                                  "left ({} in use)",
                                  c.name, format_bytes(need), need, format_bytes(default_arena().budget()),
                                  format_bytes(default_arena().in_use())));
  LlamaModel m;
  m.config = c;
  m.source = "built-in:" + c.name;
  uint64_t stream = seed * 1000003ULL;
  auto mat = [&](const std::string& name, int64_t out, int64_t in) {
    return random_tensor(name, {out, in}, ++stream, 0.0f, 1.0f / std::sqrt(static_cast<float>(in)), wt);
  };
  auto norm = [&](const std::string& name) { return random_tensor(name, {c.dim}, ++stream, 1.0f, 0.1f, DType::F32); };
  m.weights.tok_embd = random_tensor("token_embd.weight", {c.vocab, c.dim}, ++stream, 0.0f, 0.5f, wt);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LlamaLayer L;
    L.attn_norm = norm(p + "attn_norm.weight");
    L.wq = mat(p + "attn_q.weight", c.q_dim(), c.dim);
    L.wk = mat(p + "attn_k.weight", c.kv_dim(), c.dim);
    L.wv = mat(p + "attn_v.weight", c.kv_dim(), c.dim);
    L.wo = mat(p + "attn_output.weight", c.dim, c.q_dim());
    L.ffn_norm = norm(p + "ffn_norm.weight");
    L.w_gate = mat(p + "ffn_gate.weight", c.ffn_dim, c.dim);
    L.w_up = mat(p + "ffn_up.weight", c.ffn_dim, c.dim);
    L.w_down = mat(p + "ffn_down.weight", c.dim, c.ffn_dim);
    m.weights.layers.push_back(std::move(L));
  }
  m.weights.out_norm = norm("output_norm.weight");
  m.weights.output = mat("output.weight", c.vocab, c.dim);
  m.validate();
  return m;
}

}  // namespace edgellm
