// Vulkan ops: one recorder per shader (the Batch they record into is kernels/vulkan/batch.cpp).
// Not the shaders (kernels/vulkan/shaders/*.comp) and not the model (models/vulkan/llama_vulkan.cpp).
#include "kernels/vulkan/ops.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string_view>
#include <vector>

#include "runtime/error.h"

namespace edgellm::vk {
namespace {
uint32_t groups(uint64_t n, uint32_t per) { return static_cast<uint32_t>((n + per - 1) / per); }
}  // namespace

// ---- ops -----------------------------------------------------------------------------------------------
namespace {
// The weight types with gemm_<name>/matvec_<name> shaders (cmake/vulkan_shaders.cmake's _wtypes, the same ids).
struct WeightShader {
  DType type;
  const char* name;
};
constexpr WeightShader kWeightShaders[] = {{DType::F32, "f32"},   {DType::F16, "f16"},   {DType::Q4_0, "q4_0"},
                                           {DType::Q5_0, "q5_0"}, {DType::Q5_1, "q5_1"}, {DType::Q8_0, "q8_0"},
                                           {DType::Q2_K, "q2_k"}, {DType::Q3_K, "q3_k"}, {DType::Q4_K, "q4_k"},
                                           {DType::Q6_K, "q6_k"}};
const char* find_wname(DType t) {
  if (dtype_is_gint(t)) return "gint";
  for (const WeightShader& w : kWeightShaders)
    if (w.type == t) return w.name;
  return nullptr;
}
}  // namespace

bool weight_type_supported(DType t) { return find_wname(t) != nullptr; }
const char* weight_shader_name(DType t) { return find_wname(t); }

void weight_row_units(DType wt, uint32_t K, uint32_t w_byte_off, int gint_bits, int gint_group, uint32_t& row,
                      uint32_t& off) {
  if (wt == DType::F32) row = K, off = w_byte_off / 4;
  else if (wt == DType::F16) row = K, off = w_byte_off / 2;
  else if (dtype_is_gint(wt)) row = static_cast<uint32_t>(K * gint_bits / 8 + 4 * (K / gint_group)), off = w_byte_off;
  else row = static_cast<uint32_t>(dtype_row_bytes(wt, K)), off = w_byte_off;
}

void linear_backward_x(Batch& b, View dx, View dy, const Buffer& w, uint32_t w_byte_off, DType wt, uint32_t M,
                       uint32_t N, uint32_t K, float beta, int gint_bits, int gint_group, GemmChoice gemm) {
  uint32_t row, off;
  weight_row_units(wt, K, w_byte_off, gint_bits, gint_group, row, off);
  if (wt == DType::F32) {  // the generic f32 GEMM: B(n, k) = W[n*K + k]
    gemm_f32(b, dx, K, dy, N, 1, {&w, off}, K, 1, M, K, N, 1.0f, beta);
    return;
  }
  // GEMM dims: M x K outputs, reduction over N; B(n, k) = W row n, column k.
  const QWeight q{&w, off, row, wt, static_cast<uint32_t>(gint_bits), static_cast<uint32_t>(gint_group)};
  qgemm_with(gemm, b, dx, K, dy, N, q, true, M, K, N, beta);
}

void linear_with(bool use_gemm, Batch& b, View y, View x, const Buffer& w, uint32_t w_byte_off, DType wt,
                 uint32_t M, uint32_t N, uint32_t K, float beta, int gint_bits, int gint_group, GemmChoice gemm) {
  uint32_t row, off;
  weight_row_units(wt, K, w_byte_off, gint_bits, gint_group, row, off);
  if (use_gemm && wt == DType::F32) {  // the f32 GEMM's own choice of kernel: B(k, n) = W[n*K + k]
    gemm_f32(b, y, N, x, K, 1, {&w, off}, 1, K, M, N, K, 1.0f, beta);
    return;
  }
  if (use_gemm) {
    const QWeight q{&w, off, row, wt, static_cast<uint32_t>(gint_bits), static_cast<uint32_t>(gint_group)};
    qgemm_with(gemm, b, y, N, x, K, q, false, M, N, K, beta);
    return;
  }
  matvec(b, y, x, w, w_byte_off, wt, M, N, K, beta, gint_bits, gint_group);
}

void linear(Batch& b, View y, View x, const Buffer& w, uint32_t w_byte_off, DType wt, uint32_t M, uint32_t N,
            uint32_t K, float beta, int gint_bits, int gint_group) {
  linear_with(M > 2, b, y, x, w, w_byte_off, wt, M, N, K, beta, gint_bits, gint_group);
}

void rmsnorm_forward(Batch& b, View y, const Buffer* rstd, View x, const Buffer& w, uint32_t rows, uint32_t C,
                     float eps) {
  struct {
    uint32_t rows, C, y_off, x_off, has_rstd;
    float eps;
  } p{rows, C, y.off, x.off, rstd ? 1u : 0u, eps};
  b.dispatch("rmsnorm", {y.b, rstd ? rstd : y.b, x.b, &w}, &p, sizeof p, rows, 1, 1, 3u);
}

// Scratch per context (split-K partials, reduction partials), grown on demand. A replaced buffer stays alive
// until the process ends (a batch recorded earlier may still bind it); static, so it is freed before the
// contexts (created first) are.
const Buffer& scratch(Context& c, size_t bytes) {
  struct Scratch {
    Buffer now;
    std::vector<Buffer> old;
  };
  static std::map<Context*, Scratch> all;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  Scratch& s = all[&c];
  if (s.now.bytes < bytes) {
    if (s.now.defined()) s.old.push_back(std::move(s.now));
    s.now = c.alloc(std::max(bytes, size_t{16} << 20));
  }
  return s.now;
}

void rmsnorm_backward(Batch& b, const Buffer& dx, const Buffer& dw, const Buffer& dy, const Buffer& x,
                      const Buffer& w, const Buffer& rstd, uint32_t rows, uint32_t C) {
  const uint32_t p[2] = {rows, C};
  b.dispatch("rmsnorm_backward", {&dx, &dy, &x, &w, &rstd}, p, sizeof p, rows);
  // dw: partial sums over chunks of rows (enough workgroups to fill a GPU), then the chunks added in order.
  const uint32_t chunk = 64, chunks = groups(rows, chunk);
  const Buffer& part = scratch(b.ctx(), size_t{chunks} * C * sizeof(float));
  const uint32_t p1[3] = {rows, C, chunk}, p2[2] = {chunks, C};
  b.dispatch("rmsnorm_backward_w", {&part, &dy, &x, &rstd}, p1, sizeof p1, groups(C, 64), chunks);
  b.dispatch("rmsnorm_backward_w_sum", {&dw, &part}, p2, sizeof p2, groups(C, 256));
}

void rope(Batch& b, View y, uint32_t y_st, View x, uint32_t x_st, const Buffer& cos, const Buffer& sin, uint32_t T,
          uint32_t NH, uint32_t HD, RopePairing pairing, bool backward, uint32_t rot_dims, uint32_t seqs) {
  const uint32_t D = rot_dims ? rot_dims : HD;
  EDGE_CHECK(D <= HD && D % 2 == 0, "Vulkan rope: {} rotated dims of a head of {}", D, HD);
  const uint32_t p[11] = {T, NH, HD, pairing == RopePairing::Interleaved ? 0u : 1u, backward ? 1u : 0u,
                          y.off, y_st, x.off, x_st, D, seqs};
  b.dispatch("rope", {y.b, x.b, &cos, &sin}, p, sizeof p, groups(uint64_t{seqs} * T * NH * (D / 2), 256));
}

void layernorm_forward(Batch& b, View y, const Buffer* rstd, View x, const Buffer& w, const Buffer& bias, uint32_t rows,
                       uint32_t C, float eps) {
  struct {
    uint32_t rows, C, y_off, x_off, has_rstd;
    float eps;
  } p{rows, C, y.off, x.off, rstd ? 1u : 0u, eps};
  b.dispatch("layernorm", {y.b, rstd ? rstd : y.b, x.b, &w, &bias}, &p, sizeof p, rows);
}

void softmax_forward(Batch& b, const Buffer& y, const Buffer& x, uint32_t rows, uint32_t C) {
  const uint32_t p[2] = {rows, C};
  b.dispatch("softmax", {&y, &x}, p, sizeof p, rows);
}

namespace {
// A 1-D grid of n threads (256 per group) laid out 2-D when it exceeds the x limit.
void grid_1d(uint64_t n, uint32_t& gx, uint32_t& gy) {
  const uint64_t g = (n + 255) / 256;
  gx = static_cast<uint32_t>(std::min<uint64_t>(g, 32768));
  gy = static_cast<uint32_t>((g + gx - 1) / gx);
}
}  // namespace

void elementwise(Batch& b, Ew op, View y, View a, View bb, uint32_t n, float s) {
  struct {
    uint32_t n, op, y_off, a_off, b_off;
    float s;
  } p{n, static_cast<uint32_t>(op), y.off, a.off, bb.b ? bb.off : 0u, s};
  uint32_t gx, gy;
  grid_1d(n, gx, gy);
  b.dispatch("elementwise", {y.b, a.b, bb.b ? bb.b : a.b}, &p, sizeof p, gx, gy, 1, 1u);
}

void fill(Batch& b, View y, uint32_t n, float value) { elementwise(b, Ew::Fill, y, y, {}, n, value); }

namespace {
void gelu_dispatch(Batch& b, View y, View a, View up, uint32_t n) {
  const uint32_t p[5] = {n, up.b ? 1u : 0u, y.off, a.off, up.b ? up.off : 0u};
  uint32_t gx, gy;
  grid_1d(n, gx, gy);
  b.dispatch("gelu", {y.b, a.b, up.b ? up.b : a.b}, p, sizeof p, gx, gy);
}
}  // namespace

void gelu_forward(Batch& b, View y, View x, uint32_t n) { gelu_dispatch(b, y, x, {}, n); }
void geglu_forward(Batch& b, View y, View gate, View up, uint32_t n) { gelu_dispatch(b, y, gate, up, n); }

void softcap_forward(Batch& b, View y, View x, uint32_t n, float cap) {
  EDGE_CHECK(cap > 0, "Vulkan softcap: the cap must be > 0, got {}", cap);
  struct {
    uint32_t n, y_off, x_off;
    float cap;
  } p{n, y.off, x.off, cap};
  uint32_t gx, gy;
  grid_1d(n, gx, gy);
  b.dispatch("softcap", {y.b, x.b}, &p, sizeof p, gx, gy);
}

void swiglu_backward(Batch& b, const Buffer& dgate, const Buffer& dup, const Buffer& dy, const Buffer& gate,
                     const Buffer& up, uint32_t n) {
  uint32_t gx, gy;
  grid_1d(n, gx, gy);
  b.dispatch("swiglu_backward", {&dgate, &dup, &dy, &gate, &up}, &n, sizeof n, gx, gy);
}

namespace {
// Three families of attention shaders, all against the same CPU reference in the tests:
// - flash (attention_flash*.comp): 128 threads, a query row (dq, forward) or a key (dk/dv) held in registers by a
//   cluster of 4 subgroup lanes (8 for heads of 65-128 dims), dot products finished with subgroup shuffles, k/v or
//   q/dO tiles in 16 KiB of shared memory. Needs subgroups of >= 4 (8) lanes with shuffles.
// - tiled (attention_tiled*.comp): 64 threads, FlashAttention-2 style tiles of 32 query rows x 32 keys (16 x 16 for
//   heads of up to 128 dims) in 31 KiB of shared memory, the online softmax one thread per row.
// - per-row (attention.comp, attention_backward_{dq,dkv}.comp): a workgroup per (row, head); any head up to 256.
// EDGELLM_VULKAN_ATTENTION=auto (default) takes the first that applies; flash, tiled or naive ask for one, and a
// shape or device it cannot take gets the next (flash -> tiled -> per-row), as auto does; attention_path says which.
constexpr int64_t kTiledMaxHD = 128;
constexpr uint32_t kTiledShared = 32768, kFlashShared = 16384;
struct AttentionShaders {
  const char *fwd, *dq, *dkv;
  uint32_t fwd_rows, dq_rows, dkv_keys;  // query rows per workgroup of the forward and dq, keys of dk/dv
};
AttentionShaders attention_shaders(AttentionPath path, int64_t HD) {
  if (path == AttentionPath::Flash) {
    if (HD <= 64) return {"attention_flash", "attention_flash_dq", "attention_flash_dkv", 64, 32, 32};
    return {"attention_flash_hd128", "attention_flash_dq_hd128", "attention_flash_dkv_hd128", 16, 16, 16};
  }
  if (HD <= 64) return {"attention_tiled", "attention_tiled_dq", "attention_tiled_dkv", 32, 32, 32};
  return {"attention_tiled_hd128", "attention_tiled_dq_hd128", "attention_tiled_dkv_hd128", 16, 16, 16};
}
bool flash_fits(const Context& c, const AttentionDims& d) {
  const uint32_t sg = c.subgroup_size(), lanes = d.HD <= 64 ? 4u : 8u;  // a cluster never straddles subgroups
  return d.HD <= kTiledMaxHD && c.subgroup_shuffle() && sg >= lanes && sg <= 128 && (sg & (sg - 1)) == 0 &&
         c.max_shared_bytes() >= kFlashShared;
}
bool tiled_fits(const Context& c, const AttentionDims& d) {
  return d.HD <= kTiledMaxHD && c.max_shared_bytes() >= kTiledShared;
}
}  // namespace

AttentionPath attention_path(const Context& c, const AttentionDims& d) {
  const char* e = std::getenv("EDGELLM_VULKAN_ATTENTION");
  const std::string_view m = e ? e : "";
  EDGE_CHECK(m.empty() || m == "auto" || m == "flash" || m == "tiled" || m == "naive",
             "EDGELLM_VULKAN_ATTENTION={}: expected auto, flash, tiled or naive", m);
  if (m == "naive") return AttentionPath::PerRow;
  if (m != "tiled" && flash_fits(c, d)) return AttentionPath::Flash;
  if (tiled_fits(c, d)) return AttentionPath::Tiled;
  return AttentionPath::PerRow;
}

const char* attention_path_name(AttentionPath path) {
  switch (path) {
    case AttentionPath::Flash: return "flash";
    case AttentionPath::Tiled: return "tiled";
    case AttentionPath::PerRow: break;
  }
  return "per-row";
}

void attention_forward(Batch& b, View o, const Buffer* L, View q, View k, View v, const AttentionDims& d,
                       uint32_t batch) {
  EDGE_CHECK(d.HD <= 256 && d.KVH > 0 && d.NH % d.KVH == 0, "Vulkan attention: HD {} (max 256), NH {}, KVH {}",
             d.HD, d.NH, d.KVH);
  EDGE_CHECK(d.window >= 0 && d.softcap >= 0, "Vulkan attention: window {} and soft-cap {} must be >= 0", d.window,
             d.softcap);
  struct {
    uint32_t T, S, NH, KVH, HD, pos0, q_st, k_st, v_st, o_st, q_off, k_off, v_off, o_off;
    float scale;
    uint32_t has_L, window;
    float softcap;
  } p{static_cast<uint32_t>(d.T), static_cast<uint32_t>(d.S), static_cast<uint32_t>(d.NH),
      static_cast<uint32_t>(d.KVH), static_cast<uint32_t>(d.HD), static_cast<uint32_t>(d.pos0),
      static_cast<uint32_t>(d.q_stride), static_cast<uint32_t>(d.k_stride), static_cast<uint32_t>(d.v_stride),
      static_cast<uint32_t>(d.o_stride), q.off, k.off, v.off, o.off, static_cast<float>(d.scale), L ? 1u : 0u,
      static_cast<uint32_t>(d.window), static_cast<float>(d.softcap)};
  // The three take the same bindings and push constants; tiled and flash a workgroup per tile of query rows.
  const AttentionPath path = attention_path(b.ctx(), d);
  const bool tiled = path != AttentionPath::PerRow;
  const AttentionShaders ta = attention_shaders(path, d.HD);
  b.dispatch(tiled ? ta.fwd : "attention", {o.b, L ? L : o.b, q.b, k.b, v.b}, &p, sizeof p,
             static_cast<uint32_t>(d.NH), tiled ? groups(d.T, ta.fwd_rows) : static_cast<uint32_t>(d.T), batch);
}

void attention_backward(Batch& b, const Buffer& dq, const Buffer& dk, const Buffer& dv, const Buffer& dO,
                        const Buffer& q, const Buffer& k, const Buffer& v, const Buffer& o, const Buffer& L,
                        const AttentionDims& d, uint32_t batch) {
  EDGE_CHECK(d.HD <= 256 && d.KVH > 0 && d.NH % d.KVH == 0, "Vulkan attention backward: HD {} (max 256), NH {}, KVH {}",
             d.HD, d.NH, d.KVH);
  EDGE_CHECK(d.window == 0 && d.softcap == 0, "Vulkan attention backward: a sliding window ({}) or soft-cap ({}) has no "
             "backward yet", d.window, d.softcap);
  struct {
    uint32_t T, S, NH, KVH, HD, pos0, q_st, k_st, v_st, o_st;
    float scale;
  } p{static_cast<uint32_t>(d.T), static_cast<uint32_t>(d.S), static_cast<uint32_t>(d.NH),
      static_cast<uint32_t>(d.KVH), static_cast<uint32_t>(d.HD), static_cast<uint32_t>(d.pos0),
      static_cast<uint32_t>(d.q_stride), static_cast<uint32_t>(d.k_stride), static_cast<uint32_t>(d.v_stride),
      static_cast<uint32_t>(d.o_stride), static_cast<float>(d.scale)};
  const auto T = static_cast<uint32_t>(d.T), NH = static_cast<uint32_t>(d.NH), KVH = static_cast<uint32_t>(d.KVH);
  if (T == 0) return;  // nothing to add
  const AttentionPath path = attention_path(b.ctx(), d);
  if (path == AttentionPath::PerRow) {
    b.dispatch("attention_backward_dq", {&dq, &dO, &q, &k, &v, &o, &L}, &p, sizeof p, NH, T, batch);
    b.dispatch("attention_backward_dkv", {&dk, &dO, &q, &k, &v, &o, &L, &dv}, &p, sizeof p, KVH,
               static_cast<uint32_t>(d.pos0) + T, batch);
    return;
  }
  // dq per tile of query rows (tiled or flash), which also writes D = rowsum(dO ∘ o) (batch·T, NH) into scratch;
  // then dk/dv per tile of keys (every key a query sees: pos0 + T of them), reading D where the per-row shader reads o.
  const AttentionShaders ta = attention_shaders(path, d.HD);
  const Buffer& D = scratch(b.ctx(), size_t{batch} * T * NH * sizeof(float));
  b.dispatch(ta.dq, {&dq, &dO, &q, &k, &v, &o, &L, &D}, &p, sizeof p, NH, groups(T, ta.dq_rows), batch, 1u | 128u);
  b.dispatch(ta.dkv, {&dk, &dO, &q, &k, &v, &D, &L, &dv}, &p, sizeof p, KVH, groups(d.pos0 + T, ta.dkv_keys), batch,
             1u | 128u);
}

void embedding(Batch& b, const Buffer& y, const Buffer& table, const Buffer& ids, uint32_t T, uint32_t C) {
  const uint32_t p[3] = {T, C, 0};
  uint32_t gx, gy;
  grid_1d(uint64_t{T} * C, gx, gy);
  b.dispatch("embedding", {&y, &table, &ids}, p, sizeof p, gx, gy);
}

void embedding_backward(Batch& b, const Buffer& dtable, const Buffer& dy, const Buffer& ids, uint32_t T, uint32_t C) {
  const uint32_t p[3] = {T, C, 1};
  b.dispatch("embedding", {&dtable, &dy, &ids}, p, sizeof p, groups(C, 256));
}

void cross_entropy(Batch& b, const Buffer& z, const Buffer& targets, const Buffer& loss, uint32_t rows, uint32_t V,
                   float scale) {
  struct {
    uint32_t V;
    float scale;
  } p{V, scale};
  b.dispatch("cross_entropy", {&z, &targets, &loss}, &p, sizeof p, rows);
}

void adamw(Batch& b, const Buffer& w, const Buffer& m, const Buffer& v, const Buffer& g, uint32_t n,
           const AdamWCoef& c) {
  struct {
    uint32_t n;
    float grad_scale, decay, b1, b2, one_m_b1, one_m_b2, step_size, bc2_sqrt, eps;
  } p{n, c.grad_scale, c.decay, c.b1, c.b2, c.one_m_b1, c.one_m_b2, c.step_size, c.bc2_sqrt, c.eps};
  uint32_t gx, gy;
  grid_1d(n, gx, gy);
  b.dispatch("adamw", {&w, &m, &v, &g}, &p, sizeof p, gx, gy);
}

uint32_t sumsq_partials(uint32_t n) { return groups(n, 4096); }

void sumsq(Batch& b, const Buffer& out, uint32_t off, const Buffer& x, uint32_t n) {
  const uint32_t p[2] = {n, off};
  b.dispatch("sumsq", {&out, &x}, p, sizeof p, sumsq_partials(n));
}

void triad(Batch& b, const Buffer& a, const Buffer& bb, const Buffer& c, uint32_t n, float s) {
  struct {
    uint32_t n;
    float s;
  } p{n / 4, s};
  b.dispatch("triad", {&a, &bb, &c}, &p, sizeof p, std::min<uint32_t>(groups(n / 4, 256), 65535));
}

}  // namespace edgellm::vk
