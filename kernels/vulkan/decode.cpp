// The decode step's recorders: which matvec shaders a weight type takes (wide, words, blocks), the plain and the
// fused matvec, and one token's attention over the KV cache (split across workgroups, or one workgroup per head).
// Not the prompt's GEMM (kernels/vulkan/gemm.cpp) or attention (ops.cpp), and not the shaders themselves.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kernels/vulkan/ops.h"
#include "runtime/error.h"

namespace edgellm::vk {
namespace {
uint32_t groups(uint64_t n, uint32_t per) { return static_cast<uint32_t>((n + per - 1) / per); }

const char* wname(DType t) {
  const char* n = weight_shader_name(t);
  if (!n) fail("Vulkan: no matvec shader for weight type {}", dtype_name(t));
  return n;
}

// Shared memory of a matvec_*_wide shader (matvec_wide.glsl: 8 staged rows of a 2048-element chunk plus a spare
// 16 bytes, x with 4 floats of padding per 64, 128 vec4 of reduction partials).
uint32_t wide_shared_bytes(DType t) {
  const uint32_t row = static_cast<uint32_t>(dtype_row_bytes(t, 2048));
  return (8 * (row / 16 + 1) + 1) * 16 + (512 + 32) * 16 + 128 * 16;
}
bool wide_fits(const Context& c, DType t) {
  const uint32_t sg = c.subgroup_size();
  const bool type = t == DType::Q4_0 || t == DType::Q8_0 || t == DType::Q4_K || t == DType::Q6_K;
  return type && c.subgroup_shuffle() && sg >= 1 && sg <= 128 && (sg & (sg - 1)) == 0 &&
         c.max_shared_bytes() >= wide_shared_bytes(t);
}
constexpr uint32_t kWideRowsPerGroup = 8;  // 4 row pairs of 32 threads

std::string matvec_name(const char* stem, DType t, MatvecPath path) {
  const char* suffix = path == MatvecPath::Wide     ? "_wide"
                       : path == MatvecPath::Blocks ? "_blocks"
                       : path == MatvecPath::Deep   ? "_deep"
                       : path == MatvecPath::Deep8  ? "_deep8"
                                                    : "";
  return std::string(stem) + wname(t) + suffix;
}
}  // namespace

MatvecPath matvec_path(const Context& c, DType t) {
  const char* e = std::getenv("EDGELLM_VULKAN_MATVEC");
  const std::string_view m = e ? e : "";
  EDGE_CHECK(m.empty() || m == "wide" || m == "words" || m == "blocks" || m == "deep" || m == "deep8",
             "EDGELLM_VULKAN_MATVEC={}: expected wide, words, blocks, deep or deep8", m);
  if (m == "blocks") return t == DType::Q4_0 || t == DType::Q8_0 ? MatvecPath::Blocks : MatvecPath::Words;
  if (m == "deep" || m == "deep8")
    return t != DType::Q4_0 && t != DType::Q8_0 ? MatvecPath::Words : m == "deep" ? MatvecPath::Deep : MatvecPath::Deep8;
  if (m == "words" || !wide_fits(c, t)) return MatvecPath::Words;
  if (m == "wide") return MatvecPath::Wide;
  // Unset: per type, as measured on the H100 (bench_decode_ops_vulkan, bench/RESULTS.md "the decode shaders on
  // the card"): the K-quants' super-blocks go 3-14x faster staged (Q4_K gate_up 255 -> 51 us, the Q6_K head
  // 1009 -> 70 us), while Q4_0 and Q8_0 read straight from memory by words stay ahead (Q4_0 gate_up 18.6 against
  // 24.4 us, Q8_0 18.7 against 43.5): their staging costs more than their loads save.
  return t == DType::Q4_K || t == DType::Q6_K ? MatvecPath::Wide : MatvecPath::Words;
}

const char* matvec_path_name(MatvecPath path) {
  switch (path) {
    case MatvecPath::Wide: return "wide";
    case MatvecPath::Blocks: return "blocks";
    case MatvecPath::Deep: return "deep";
    case MatvecPath::Deep8: return "deep8";
    case MatvecPath::Words: break;
  }
  return "words";
}

void matvec(Batch& b, View y, View x, const Buffer& w, uint32_t w_byte_off, DType wt, uint32_t M, uint32_t N,
            uint32_t K, float beta, int gint_bits, int gint_group) {
  uint32_t row, off;
  weight_row_units(wt, K, w_byte_off, gint_bits, gint_group, row, off);
  struct {
    uint32_t M, N, K, x_off, x_sm, unused0, b_off, unused1, b_sn, c_off, c_sm;
    float alpha, beta;
    uint32_t gint_bits, gint_group, b_trans;
  } p{M, N, K, x.off, K, 1, off, 1, row, y.off, N, 1.0f, beta,
      static_cast<uint32_t>(gint_bits), static_cast<uint32_t>(gint_group), 0};
  const MatvecPath path = matvec_path(b.ctx(), wt);
  const uint32_t per = path == MatvecPath::Wide ? kWideRowsPerGroup : 16;  // rows of W per workgroup
  const uint32_t wgs = groups(N, per), gx = std::min<uint32_t>(wgs, 65535), gz = groups(wgs, 65535);
  b.dispatch(matvec_name("matvec_", wt, path).c_str(), {x.b, &w, y.b}, &p, sizeof p, gx, M, gz, 4u);
}

uint64_t prefetch_limit_bytes() {
  const char* e = std::getenv("EDGELLM_VULKAN_PREFETCH");
  if (!e || !*e) return 0;
  char* end = nullptr;
  const double mib = std::strtod(e, &end);
  EDGE_CHECK(end != e && *end == '\0' && mib >= 0 && mib <= 1 << 20,
             "EDGELLM_VULKAN_PREFETCH={}: expected the largest weight to prefetch in MiB (0: off)", e);
  return static_cast<uint64_t>(mib * 1048576.0);
}

void prefetch_weights(Batch& b, const Buffer& w, uint64_t byte_off, uint64_t bytes) {
  const uint64_t limit = prefetch_limit_bytes();
  if (bytes == 0 || bytes > limit) return;
  // Whole 16-byte units covering the range, within the buffer.
  const uint64_t first = byte_off / 16, last = std::min<uint64_t>((byte_off + bytes + 15) / 16, w.bytes / 16);
  if (last <= first) return;
  struct {
    uint32_t first, count, never;
  } p{static_cast<uint32_t>(first), static_cast<uint32_t>(last - first), 0};
  // About one workgroup per compute unit of a big GPU: the loads, not the threads, are what it needs in flight, and
  // the dispatch it runs beside keeps the rest. The weights buffer is also the (never written) sink: a buffer the
  // step writes would make the batch put a barrier first, which is what this must not have.
  const uint32_t gx = static_cast<uint32_t>(std::min<uint64_t>(128, (p.count + 1023) / 1024));
  b.dispatch("prefetch", {&w, &w}, &p, sizeof p, gx, 1, 1, 0u);
}

void matvec_fused(Batch& b, const FusedMatvec& f) {
  EDGE_CHECK(f.n_out >= 1 && f.n_out <= 3 && f.w && (f.pair != FusedPair::Swiglu || f.n_out == 1),
             "Vulkan matvec_fused: {} outputs", f.n_out);
  uint32_t row, off;
  weight_row_units(f.wt, f.K, f.w_byte_off, 4, 128, row, off);
  const bool paired = f.pair != FusedPair::None;
  uint32_t N = 0, ends[3] = {}, pos_segs = 0, rope_segs = 0;
  bool needs_step = false;
  for (int s = 0; s < f.n_out; ++s) {
    N += f.out[s].rows * (f.pair == FusedPair::Swiglu ? 2 : 1);
    ends[s] = N;
    pos_segs |= f.out[s].at_pos ? 1u << s : 0u;
    rope_segs |= f.out[s].rope ? 1u << s : 0u;
    needs_step = needs_step || f.out[s].at_pos || f.out[s].rope;
  }
  EDGE_CHECK(!needs_step || f.step, "Vulkan matvec_fused: positions or RoPE without a step buffer");
  EDGE_CHECK(!paired || (N % 2 == 0 && (f.pair == FusedPair::Swiglu || (f.HD % 2 == 0 && f.HD > 0))),
             "Vulkan matvec_fused: {} rows cannot pair (HD {})", N, f.HD);
  const FusedOut& o0 = f.out[0];
  const FusedOut& o1 = f.out[f.n_out > 1 ? 1 : 0];
  const FusedOut& o2 = f.out[f.n_out > 2 ? 2 : 0];
  struct {
    uint32_t M, N, K, x_off, x_sm, b_off, b_sn, end0, end1, y_off0, y_off1, y_off2, y_st0, y_st1, y_st2;
    uint32_t pos_segs, rope_segs, pair, HD, split;
    float eps, beta;
    uint32_t gint_bits, gint_group, b_trans;
  } p{1, N, f.K, f.x.off, f.K, off, row, ends[0], f.n_out > 1 ? ends[1] : N, o0.y.off, o1.y.off, o2.y.off,
      o0.stride, o1.stride, o2.stride, pos_segs, rope_segs, static_cast<uint32_t>(f.pair), f.HD, 1u,
      f.eps, f.beta, 4, 128, 0};
  const MatvecPath path = matvec_path(b.ctx(), f.wt);
  const uint32_t pairs = (N + 1) / 2;
  uint32_t per = kWideRowsPerGroup / 2;  // row pairs per workgroup
  if (path != MatvecPath::Wide) {
    // Threads per row pair 32·split: enough warps in flight where rows are few (o, down: a workgroup per pair or
    // two), while each thread keeps 8 blocks of 32 or more. EDGELLM_VULKAN_MATVEC_SPLIT (1, 2, 4, 8) forces it.
    // A lane per block (blocks): split only while every lane keeps two blocks or more.
    static const char* forced = std::getenv("EDGELLM_VULKAN_MATVEC_SPLIT");
    const bool blocks = path == MatvecPath::Blocks;
    uint32_t split = 1;
    while (split < 8 && pairs * split * 2 <= 4096 && f.K >= (blocks ? 2048u : 256u) * split * 2) split *= 2;
    if (forced && *forced) split = static_cast<uint32_t>(std::atoi(forced));
    EDGE_CHECK(split == 1 || split == 2 || split == 4 || split == 8,
               "EDGELLM_VULKAN_MATVEC_SPLIT: 1, 2, 4 or 8, got {}", split);
    p.split = split;
    per = 8 / split;
  }
  const uint32_t wgs = groups(pairs, per);
  const uint32_t gx = std::min<uint32_t>(wgs, 65535), gz = groups(wgs, 65535);
  const std::string name = matvec_name(f.norm ? "matvec_fused_norm_" : "matvec_fused_", f.wt, path);
  prefetch_weights(b, *f.w, f.w_byte_off, uint64_t{N} * dtype_row_bytes(f.wt, f.K));
  b.dispatch(name.c_str(), {f.x.b, f.norm ? f.norm : f.x.b, f.w, o0.y.b, o1.y.b, o2.y.b, f.step ? f.step : f.x.b},
             &p, sizeof p, gx, 1, gz, 0x38u);
}

// ---- attention of one token ----
namespace {
constexpr uint32_t kMaxSplits = 32;  // workgroups per head at most: the merge reads this many partials
// Keys per tile of attention_decode_split (a cluster of 4 lanes per key for HD <= 64, 8 up to 128, 256 threads).
uint32_t split_tile(uint32_t HD) { return HD <= 64 ? 64 : 32; }
// Keys per workgroup: whole tiles, as few as keep the splits of a head at most kMaxSplits for max_keys.
uint32_t split_chunk(uint32_t HD, uint32_t max_keys) {
  const uint32_t tile = split_tile(HD);
  return tile * std::max<uint32_t>(1, groups(max_keys, tile * kMaxSplits));
}
uint32_t split_count(uint32_t HD, uint32_t max_keys) { return groups(std::max<uint32_t>(max_keys, 1), split_chunk(HD, max_keys)); }
uint32_t split_part_off(uint32_t NH) { return (NH + 3) / 4 * 4; }  // floats before the partials: the tickets
bool split_fits(const Context& c, uint32_t HD) {
  const uint32_t sg = c.subgroup_size(), lanes = HD <= 64 ? 4u : 8u;  // a key's cluster never straddles subgroups
  return HD % 4 == 0 && HD <= 128 && c.subgroup_shuffle() && sg >= lanes && sg <= 128 && (sg & (sg - 1)) == 0 &&
         c.max_shared_bytes() >= 20480;
}
}  // namespace

DecodeAttentionPath attention_decode_path(const Context& c, uint32_t HD) {
  const char* e = std::getenv("EDGELLM_VULKAN_ATTENTION_DECODE");
  const std::string_view m = e ? e : "";
  EDGE_CHECK(m.empty() || m == "split" || m == "head", "EDGELLM_VULKAN_ATTENTION_DECODE={}: expected split or head",
             m);
  return m != "head" && split_fits(c, HD) ? DecodeAttentionPath::Split : DecodeAttentionPath::Head;
}

const char* attention_decode_path_name(DecodeAttentionPath path) {
  return path == DecodeAttentionPath::Split ? "split" : "head";
}

size_t attention_decode_work_bytes(uint32_t NH, uint32_t HD, uint32_t max_keys) {
  return (size_t{split_part_off(NH)} + size_t{NH} * split_count(HD, max_keys) * (HD + 2)) * 4;
}

bool attention_decode(Batch& b, View o, View q, View k, View v, uint32_t NH, uint32_t KVH, uint32_t HD,
                      uint32_t kv_st, float scale, const Buffer& step, uint32_t max_keys, const Buffer* work) {
  if (HD == 0 || HD % 4 != 0 || HD > 256 || k.off % 4 != 0 || kv_st % 4 != 0 || KVH == 0 || NH % KVH != 0)
    return false;
  const bool split = work && v.off % 4 == 0 && attention_decode_path(b.ctx(), HD) == DecodeAttentionPath::Split;
  if (!split) {
    struct {
      uint32_t NH, KVH, HD, kv_st, k_off, v_off, q_off, o_off;
      float scale;
    } p{NH, KVH, HD, kv_st, k.off, v.off, q.off, o.off, scale};
    b.dispatch("attention_decode", {o.b, q.b, k.b, v.b, &step}, &p, sizeof p, NH, 1, 1, 1u);
    return true;
  }
  EDGE_CHECK(work->bytes >= attention_decode_work_bytes(NH, HD, max_keys),
             "Vulkan attention_decode: a work buffer of {} bytes, {} needed for {} heads of {} and {} keys",
             work->bytes, attention_decode_work_bytes(NH, HD, max_keys), NH, HD, max_keys);
  const uint32_t nsplit = split_count(HD, max_keys);
  struct {
    uint32_t NH, KVH, HD, kv_st, k_off, v_off, q_off, o_off;
    float scale;
    uint32_t chunk, nsplit, part_off;
  } p{NH, KVH, HD, kv_st, k.off, v.off, q.off, o.off, scale, split_chunk(HD, max_keys), nsplit, split_part_off(NH)};
  b.dispatch(HD <= 64 ? "attention_decode_split" : "attention_decode_split_hd128", {o.b, q.b, k.b, v.b, &step, work},
             &p, sizeof p, NH, nsplit, 1, 1u | 32u);
  return true;
}

}  // namespace edgellm::vk
