// The decode step's shaders one at a time, each variant side by side: the fused matvecs of a layer (q|k|v with the
// norm and RoPE, o and down adding into the residual, gate|up with the norm and silu·up), the Q6_K head, and one
// token's attention at several contexts, for the 1.1B or the 110m Llama shapes. Prints µs per call and GB/s of
// the bytes each must read (weights; K and V rows for attention) for EDGELLM_VULKAN_MATVEC=words|blocks|deep|deep8|wide and
// EDGELLM_VULKAN_ATTENTION_DECODE=head|split, and a layer's and a token's sum per variant.
// Not the whole step (bench_decode_vulkan: tokens/s, the per-shader GPU profile) and not a correctness test.
// Usage: bench_decode_ops_vulkan [model=1.1b|110m] [types=q4_0] [contexts=128,512,2048] [device=-1]
// Time: one submit of back-to-back calls of the op, each on the next of as many copies of its weights (of the KV
// cache: layers) as fill 320 MB (or the device's largest buffer), so weights come from DRAM as in a real step (no copy stays in a 50 MB L2); each
// call waits on the last (they write the same outputs, as the step's chain of ops does); best of 3 batches.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/quant_convert.h"
#include "kernels/vulkan/context.h"
#include "kernels/vulkan/ops.h"
#include "runtime/dtype.h"
#include "runtime/error.h"
#include "vulkan_timing.h"

using namespace edgellm;

namespace {

struct Dims {
  const char* name;
  uint32_t C, NH, KVH, HD, F, V, layers;
};
constexpr Dims kModels[] = {{"1.1b", 2048, 32, 4, 64, 5632, 32000, 22}, {"110m", 768, 12, 12, 64, 2048, 32000, 12}};
constexpr size_t kRotateBytes = size_t{320} << 20;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> r;
  for (size_t at = 0; at <= s.size();) {
    const size_t comma = std::min(s.find(',', at), s.size());
    if (comma > at) r.push_back(s.substr(at, comma - at));
    at = comma + 1;
  }
  return r;
}

// Copies of a weight (N, K) of type t back to back (256-byte aligned) in one buffer.
struct Rotated {
  vk::Buffer buf;
  size_t pitch = 0, bytes = 0;
  uint32_t copies = 0, next = 0;
  uint32_t take() { return static_cast<uint32_t>((next++ % copies) * pitch); }
};
Rotated rotated_weight(vk::Context& ctx, DType t, uint32_t N, uint32_t K) {
  Rotated r;
  r.bytes = static_cast<size_t>(dtype_row_bytes(t, K)) * N;
  r.pitch = (r.bytes + 255) / 256 * 256;
  r.copies = static_cast<uint32_t>(std::max<size_t>(2, std::min(kRotateBytes, ctx.max_buffer_bytes()) / r.pitch));
  std::vector<float> v(K);
  std::vector<uint8_t> raw(r.bytes);
  const size_t rb = static_cast<size_t>(dtype_row_bytes(t, K));
  for (uint32_t n = 0; n < N; ++n) {
    for (uint32_t k = 0; k < K; ++k) v[k] = static_cast<float>(((size_t{n} * K + k) * 2654435761u) % 2001) / 1000.0f - 1.0f;
    quantize_row_to(t, raw.data() + n * rb, v.data(), K);
  }
  r.buf = ctx.alloc(r.pitch * r.copies);
  for (uint32_t c = 0; c < r.copies; ++c) ctx.upload(r.buf, raw.data(), raw.size(), c * r.pitch);
  return r;
}

void set_env(const char* name, const std::string& v) { setenv(name, v.c_str(), 1); }

}  // namespace

int main(int argc, char** argv) {
  auto arg = [&](int i, const char* d) { return std::string(argc > i ? argv[i] : d); };
  const std::string model = arg(1, "1.1b");
  const std::vector<std::string> types = split_list(arg(2, "q4_0")), ctxs = split_list(arg(3, "128,512,2048"));
  vk::Context& ctx = vk::context(std::atoi(arg(4, "-1").c_str()));
  const Dims* dm = nullptr;
  for (const Dims& d : kModels)
    if (model == d.name) dm = &d;
  EDGE_CHECK(dm, "bench_decode_ops_vulkan: model '{}': expected 1.1b or 110m", model);
  const Dims& d = *dm;
  std::printf("device: %s (%s), subgroups of %u, shared memory %u bytes; %s shapes (dim %u, %u heads of %u, %u kv, "
              "ffn %u, vocab %u, %u layers)\n\n", ctx.info().name.c_str(), ctx.info().type.c_str(),
              ctx.subgroup_size(), ctx.max_shared_bytes(), d.name, d.C, d.NH, d.HD, d.KVH, d.F, d.V, d.layers);

  // Activations: x (C or F), the norm weight, q (NH·HD), the KV rows, the outputs, the step buffer.
  const uint32_t kv_row = d.KVH * d.HD, most_ctx = 2048;  // the cache: 32 splits of 64 keys
  auto filled = [&](size_t floats, float value) {
    vk::Buffer b = ctx.alloc(floats * 4);
    const std::vector<float> z(floats, value);
    ctx.upload(b, z.data(), z.size() * 4);
    return b;
  };
  vk::Buffer x = filled(std::max(d.C, d.F), 0.01f), nw = filled(d.C, 1), q = filled(size_t{d.NH} * d.HD, 0.01f),
             h = filled(d.F, 0.01f), y = filled(d.V, 0), kc = filled(size_t{most_ctx} * kv_row, 0),
             vc = filled(size_t{most_ctx} * kv_row, 0);
  // The step buffer: position 0 (the matvecs' k and v rows), cos and sin 0.5.
  std::vector<float> step(4 + d.HD, 0.5f);
  std::fill(step.begin(), step.begin() + 4, 0.0f);
  vk::Buffer st = ctx.alloc(step.size() * 4);
  ctx.upload(st, step.data(), step.size() * 4);

  std::printf("| op | type | variant | µs per call | GB/s | MB read |\n|---|---|---|---:|---:|---:|\n");
  std::vector<std::string> sums;
  for (const std::string& tn : types) {
    const DType t = dtype_from_name(tn);
    EDGE_CHECK(vk::weight_type_supported(t), "bench_decode_ops_vulkan: '{}' has no Vulkan matvec", tn);
    struct Op {
      const char* name;
      DType t;
      uint32_t N, K;  // W (N, K): all rows of the dispatch
    };
    const Op ops[] = {{"qkv", t, d.NH * d.HD + 2 * kv_row, d.C}, {"o", t, d.C, d.NH * d.HD},
                      {"gate_up", t, 2 * d.F, d.C}, {"down", t, d.C, d.F}, {"head (Q6_K)", DType::Q6_K, d.V, d.C}};
    std::vector<std::string> variants = {"words", "wide"};
    if (t == DType::Q4_0 || t == DType::Q8_0) variants.insert(variants.begin() + 1, {"blocks", "deep", "deep8"});
    std::vector<double> layer(variants.size(), 0.0), head(variants.size(), 0.0);
    for (const Op& op : ops) {
      if (op.t == DType::Q6_K && &tn != &types.front()) continue;  // the head once
      Rotated w = rotated_weight(ctx, op.t, op.N, op.K);
      for (size_t vi = 0; vi < variants.size(); ++vi) {
        set_env("EDGELLM_VULKAN_MATVEC", variants[vi]);
        const std::string ran = vk::matvec_path_name(vk::matvec_path(ctx, op.t));
        auto record = [&](vk::Batch& b) {
          vk::FusedMatvec f;
          f.w = &w.buf, f.w_byte_off = w.take(), f.K = op.K, f.wt = op.t, f.eps = 1e-5f, f.HD = d.HD, f.step = &st;
          const std::string n = op.name;
          if (n == "qkv") {
            f.x = {&x, 0}, f.norm = &nw, f.n_out = 3, f.pair = vk::FusedPair::RopeNeox;
            f.out[0] = {{&q, 0}, d.NH * d.HD, 0, false, true};
            f.out[1] = {{&kc, 0}, kv_row, kv_row, true, true};
            f.out[2] = {{&vc, 0}, kv_row, kv_row, true, false};
          } else if (n == "gate_up") {
            f.x = {&x, 0}, f.norm = &nw, f.pair = vk::FusedPair::Swiglu;
            f.out[0] = {{&h, 0}, d.F};
          } else if (n == "o" || n == "down") {
            f.x = {n == "o" ? &q : &h, 0}, f.beta = 1;
            f.out[0] = {{&x, 0}, d.C};
          } else {
            f.x = {&x, 0}, f.norm = &nw;
            f.out[0] = {{&y, 0}, d.V};
          }
          vk::matvec_fused(b, f);
        };
        const double sec = bench::seconds_per_call(ctx, record, 3, 20, 2000);
        std::printf("| %s | %s | %s%s | %.2f | %.1f | %.2f |\n", op.name, std::string(dtype_name(op.t)).c_str(), variants[vi].c_str(),
                    ran == variants[vi] ? "" : (" (runs " + ran + ")").c_str(), sec * 1e6, w.bytes / sec / 1e9,
                    w.bytes / 1e6);
        std::fflush(stdout);
        (op.t == DType::Q6_K ? head : layer)[vi] += sec;
      }
    }
    for (size_t vi = 0; vi < variants.size(); ++vi) {
      char line[256];
      std::snprintf(line, sizeof line, "%s matvecs %s: a layer %.1f µs, %u layers + head %.1f µs = %.3f ms per token",
                    tn.c_str(), variants[vi].c_str(), layer[vi] * 1e6, d.layers, head[vi] * 1e6,
                    (layer[vi] * d.layers + head[vi]) * 1e3);
      sums.push_back(line);
    }
  }
  unsetenv("EDGELLM_VULKAN_MATVEC");

  // Attention of one token: the KV cache of every layer (rotated by layer), q of all heads, the context's keys.
  const size_t layer_floats = size_t{most_ctx} * kv_row;
  const uint32_t lcopies = static_cast<uint32_t>(
      std::max<size_t>(2, std::min(kRotateBytes / 2, ctx.max_buffer_bytes()) / (layer_floats * 4)));
  vk::Buffer kr = ctx.alloc(layer_floats * 4 * lcopies), vr = ctx.alloc(layer_floats * 4 * lcopies);
  {
    const std::vector<float> fill(layer_floats, 0.01f);
    for (uint32_t c = 0; c < lcopies; ++c)
      ctx.upload(kr, fill.data(), fill.size() * 4, c * layer_floats * 4), ctx.upload(vr, fill.data(), fill.size() * 4, c * layer_floats * 4);
  }
  vk::Buffer work = filled(vk::attention_decode_work_bytes(d.NH, d.HD, most_ctx) / 4, 0);  // tickets at zero
  for (const std::string& cs : ctxs) {
    const uint32_t S = static_cast<uint32_t>(std::atoi(cs.c_str()));
    EDGE_CHECK(S >= 1 && S <= most_ctx, "bench_decode_ops_vulkan: context {} (1 ..= {})", S, most_ctx);
    const uint32_t pos = S - 1;
    std::memcpy(step.data(), &pos, 4);
    ctx.upload(st, step.data(), step.size() * 4);
    const double bytes = 2.0 * S * kv_row * 4;
    for (const char* mode : {"head", "split"}) {
      set_env("EDGELLM_VULKAN_ATTENTION_DECODE", mode);
      uint32_t layer = 0;
      auto record = [&](vk::Batch& b) {
        const uint32_t off = static_cast<uint32_t>((layer++ % lcopies) * layer_floats);
        vk::attention_decode(b, {&h, 0}, {&q, 0}, {&kr, off}, {&vr, off}, d.NH, d.KVH, d.HD, kv_row,
                             0.125f, st, most_ctx, &work);
      };
      const double sec = bench::seconds_per_call(ctx, record, 3, 20, 2000);
      std::printf("| attention, context %u | f32 | %s%s | %.2f | %.1f | %.2f |\n", S, mode,
                  vk::attention_decode_path_name(vk::attention_decode_path(ctx, d.HD)) == std::string(mode)
                      ? "" : " (runs head)",
                  sec * 1e6, bytes / sec / 1e9, bytes / 1e6);
      std::fflush(stdout);
      char line[160];
      std::snprintf(line, sizeof line, "attention %s at context %u: %.1f µs a layer, %.3f ms per token", mode, S,
                    sec * 1e6, sec * d.layers * 1e3);
      sums.push_back(line);
    }
  }
  unsetenv("EDGELLM_VULKAN_ATTENTION_DECODE");
  std::printf("\n");
  for (const std::string& l : sums) std::printf("%s\n", l.c_str());
  return 0;
}
