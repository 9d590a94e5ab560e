// The GEMMs' recorder: which kernel runs a shape (gemm.comp's generic strides, or gemm_tiled.comp's tiles for
// operands with a unit stride), split-K with its partials buffer and the reducing pass (gemm_splitk.comp); the same
// tiles with a quantized weight dequantized on load (qgemm_with, for linear() and linear_backward_x()).
// Not the matvecs (kernels/vulkan/ops.cpp) and not the shaders.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/vulkan/ops.h"
#include "runtime/error.h"

namespace edgellm::vk {
namespace {

uint32_t groups(uint64_t n, uint32_t per) { return static_cast<uint32_t>((n + per - 1) / per); }

// gemm_tiled.comp's compiled tiles (cmake/vulkan_shaders.cmake's _tiles: the same names and shapes).
// quantized: also compiled per weight type with the dequantizing loads (the two tiles tile_choice picks).
// coop: gemm_coop.comp's tensor-core tiles, compiled only per weight type for x·Wᵀ (and as *_emu).
struct Tile {
  GemmKernel kernel;
  const char* name;
  uint32_t bm, bn, bk;
  bool quantized, coop;
};
constexpr Tile kTiles[] = {{GemmKernel::T64x64_4x4, "64x64_4x4", 64, 64, 16, true, false},
                           {GemmKernel::T64x64_8x4, "64x64_8x4", 64, 64, 16, false, false},
                           {GemmKernel::T128x64_8x4, "128x64_8x4", 128, 64, 16, true, false},
                           {GemmKernel::T128x128_8x8, "128x128_8x8", 128, 128, 8, false, false},
                           {GemmKernel::C64x64, "coop_64x64", 64, 64, 32, true, true},
                           {GemmKernel::C128x64, "coop_128x64", 128, 64, 32, true, true},
                           {GemmKernel::C128x128, "coop_128x128", 128, 128, 32, true, true}};
const Tile& tile_of(GemmKernel k) {
  for (const Tile& t : kTiles)
    if (t.kernel == k) return t;
  fail("Vulkan gemm: kernel {} has no tile", static_cast<uint32_t>(k));
}

// Workgroups that fill a big discrete GPU (an H100: 132 SMs, two 256-thread workgroups each): fewer tiles than
// this take the smaller tile. Integrated GPUs and CPUs fill with far fewer (and never split).
constexpr uint64_t kFillDiscrete = 256, kFillOther = 16;
// Split-K on a discrete GPU aims at this many workgroups: on the H100 (bench_gemm_vulkan at the l base's
// shapes, bench/RESULTS.md) the weight gradients (M, N <= 1536, K = 12288 tokens) ran at 26-29% of peak
// unsplit, 35% split 4 and 41-44% split 8, still rising; the layer products with >= 576 tiles gained nothing.
constexpr uint64_t kSplitTarget = 1024;
// Split-K: each slice sums at least this much of K, and the partials (S, M, N) stay under this many floats.
constexpr uint32_t kMinSliceK = 256, kMaxSplit = 16;
constexpr uint64_t kMaxPartials = uint64_t{16} << 20;  // 64 MiB
// The dequantizing GEMM takes the tiles from this many rows of x (a prompt's tokens); fewer keep gemm.comp, whose
// 64-row tile wastes as much, and M <= 2 (decoding) never gets here (linear() takes the matvec).
constexpr uint32_t kQgemmMinRows = 32;
// ... and the unsplit 128x64 tile from this many of its tiles (about one per compute unit of the H100's 132).
constexpr uint64_t kQgemmFill128 = 128;

struct Layout {
  bool ok = false;
  uint32_t a_t = 0, b_t = 0, lda = 0, ldb = 0;
};
// A with a unit stride along k ("n": rows of lda) or along m ("t": A stored (K, M)); B along n ("n": B stored
// (K, N)) or along k ("t": B stored (N, K)).
Layout layout_of(uint32_t a_sm, uint32_t a_sk, uint32_t b_sk, uint32_t b_sn) {
  Layout l;
  bool a = true, b = true;
  if (a_sk == 1) l.a_t = 0, l.lda = a_sm;
  else if (a_sm == 1) l.a_t = 1, l.lda = a_sk;
  else a = false;
  if (b_sn == 1) l.b_t = 0, l.ldb = b_sk;
  else if (b_sk == 1) l.b_t = 1, l.ldb = b_sn;
  else b = false;
  l.ok = a && b;
  return l;
}

// The tile and split for an M x N x K product of unit-stride operands (gemm_choice's, without its small-product rule).
GemmChoice tile_choice(const Context& c, uint32_t M, uint32_t N, uint32_t K) {
  const bool discrete = c.info().type == "discrete";
  const uint64_t fill = discrete ? kFillDiscrete : kFillOther;
  auto tiles = [&](GemmKernel k) { return uint64_t{groups(M, tile_of(k).bm)} * groups(N, tile_of(k).bn); };
  // 128x128_8x8 is never chosen: on the H100 it ran at 2.8% of peak at every training shape (its 64 accumulators
  // and vec4 operands spill), against 35-43% for 128x64_8x4. It stays for EDGELLM_VULKAN_GEMM=128x128_8x8.
  GemmKernel k = tiles(GemmKernel::T128x64_8x4) >= fill ? GemmKernel::T128x64_8x4 : GemmKernel::T64x64_4x4;
  // Fewer tiles than half the split target (the weight gradients: small M·N, K = the tokens): split K into
  // slices of kMinSliceK or more. Not on small GPUs (and CPUs), where the second pass costs more than idle units.
  uint32_t split = 1;
  const uint64_t t = tiles(k);
  if (discrete && 2 * t <= kSplitTarget) {
    split = static_cast<uint32_t>(std::min<uint64_t>({(kSplitTarget + t - 1) / t, K / kMinSliceK, kMaxSplit}));
    // The partials must fit the budget (they are allocated once, 16 MiB or more, and kept).
    const uint64_t room = c.budget() > c.used() ? (c.budget() - c.used()) / sizeof(float) : 0;
    while (split > 1 && uint64_t{split} * M * N > std::min(kMaxPartials, room)) --split;
    split = std::max(split, 1u);
  }
  return {k, split};
}

// The tiled kernel `name` (a gemm_tiled.comp variant of tile t) over C (M, N) = alpha · A · B + beta · C with split
// k-slices; `extra` are the dequantizing variants' push constants (gint_bits, gint_group, b_trans), zeros otherwise.
void record_tiled(Batch& b, const std::string& name, const Tile& t, uint32_t split, View C, uint32_t ldc, View A,
                  uint32_t lda, View B, uint32_t ldb, uint32_t M, uint32_t N, uint32_t K, float alpha, float beta,
                  uint32_t vec_ok, const uint32_t (&extra)[3]) {
  // k per slice: a multiple of BK, every slice non-empty.
  split = std::max(1u, std::min(split, groups(K, t.bk)));
  const uint32_t k_slice = split > 1 ? groups(groups(K, split), t.bk) * t.bk : K;
  const uint32_t slices = split > 1 ? groups(K, k_slice) : 1;
  struct {
    uint32_t M, N, K, a_off, lda, b_off, ldb, c_off, ldc;
    float alpha, beta;
    uint32_t k_slice, vec_ok, gint_bits, gint_group, b_trans;
  } p{M, N, K, A.off, lda, B.off, ldb, C.off, ldc, alpha, beta, k_slice, vec_ok, extra[0], extra[1], extra[2]};
  if (slices == 1) {
    b.dispatch(name.c_str(), {A.b, B.b, C.b, C.b}, &p, sizeof p, groups(N, t.bn), groups(M, t.bm), 1, 4u | 8u);
    return;
  }
  const Buffer& part = scratch(b.ctx(), size_t{slices} * M * N * sizeof(float));
  b.dispatch(name.c_str(), {A.b, B.b, C.b, &part}, &p, sizeof p, groups(N, t.bn), groups(M, t.bm), slices, 8u);
  struct {
    uint32_t M, N, S, c_off, ldc;
    float alpha, beta;
  } r{M, N, slices, C.off, ldc, alpha, beta};
  const uint32_t wgs = groups(uint64_t{M} * N, 256);
  const uint32_t gx = std::min<uint32_t>(wgs, 65535);
  b.dispatch("gemm_splitk", {&part, C.b}, &r, sizeof r, gx, groups(wgs, gx), 1, 2u);
}

// "auto", a kernel's name (gemm_kernel_name) or, for EDGELLM_VULKAN_QGEMM, "old" (the generic kernel), "tiled"
// (auto) and "coop" (the tensor-core tile by shape), with ":S" to force S k-slices.
GemmChoice parse_choice(const char* var, const char* e, bool quantized) {
  GemmChoice c{GemmKernel::Auto, 0};
  if (!e || !*e) return c;
  const std::string s(e), k = s.substr(0, s.find(':'));
  if (s.find(':') != std::string::npos) c.split = static_cast<uint32_t>(std::atoi(s.c_str() + s.find(':') + 1));
  bool found = k == "auto" || (quantized && k == "tiled");
  std::string names = quantized ? "old, tiled, coop, auto" : "auto";
  if (quantized && k == "old") c.kernel = GemmKernel::Generic, found = true;
  if (quantized && k == "coop") c.kernel = GemmKernel::Coop, found = true;
  std::vector<GemmKernel> kernels(std::begin(kGemmKernels), std::end(kGemmKernels));
  if (quantized) kernels.insert(kernels.end(), std::begin(kCoopKernels), std::end(kCoopKernels));
  for (GemmKernel g : kernels) {
    if (quantized && (g == GemmKernel::Generic || !tile_of(g).quantized)) continue;
    names += std::string(", ") + gemm_kernel_name(g);
    if (k == gemm_kernel_name(g)) c.kernel = g, found = true;
  }
  EDGE_CHECK(found, "{}: one of {} (then :S for S k-slices), got '{}'", var, names, s);
  EDGE_CHECK(c.split <= kMaxSplit, "{}: at most {} k-slices, got '{}'", var, kMaxSplit, s);
  return c;
}

// EDGELLM_VULKAN_GEMM: a kernel's name (gemm_kernel_name) or "auto", with ":S" to force S k-slices.
GemmChoice forced_choice() {
  static const GemmChoice forced = parse_choice("EDGELLM_VULKAN_GEMM", std::getenv("EDGELLM_VULKAN_GEMM"), false);
  return forced;
}

}  // namespace

const char* gemm_kernel_name(GemmKernel k) {
  if (k == GemmKernel::Auto) return "auto";
  if (k == GemmKernel::Generic) return "generic";
  if (k == GemmKernel::Coop) return "coop";
  return tile_of(k).name;
}

GemmChoice gemm_choice(const Context& c, uint32_t a_sm, uint32_t a_sk, uint32_t b_sk, uint32_t b_sn, uint32_t M,
                       uint32_t N, uint32_t K) {
  // Small products (inference's, the tests') keep the generic kernel, proven on every driver.
  if (!layout_of(a_sm, a_sk, b_sk, b_sn).ok || uint64_t{M} * N * K < (uint64_t{1} << 24) || M < 32 || N < 32 ||
      K < 32)
    return {GemmKernel::Generic, 1};
  return tile_choice(c, M, N, K);
}

void gemm_f32_with(GemmChoice ch, Batch& b, View C, uint32_t c_sm, View A, uint32_t a_sm, uint32_t a_sk, View B,
                   uint32_t b_sk, uint32_t b_sn, uint32_t M, uint32_t N, uint32_t K, float alpha, float beta) {
  const Layout l = layout_of(a_sm, a_sk, b_sk, b_sn);
  if (ch.kernel == GemmKernel::Auto) {
    const GemmChoice picked = gemm_choice(b.ctx(), a_sm, a_sk, b_sk, b_sn, M, N, K);
    ch = {picked.kernel, ch.split ? ch.split : picked.split};
  }
  if (ch.kernel == GemmKernel::Generic || !l.ok) {  // gemm.comp: any strides (a forced tile without a layout too)
    struct {
      uint32_t M, N, K, a_off, a_sm, a_sk, b_off, b_sk, b_sn, c_off, c_sm;
      float alpha, beta;
      uint32_t gint_bits, gint_group, b_trans;
    } p{M, N, K, A.off, a_sm, a_sk, B.off, b_sk, b_sn, C.off, c_sm, alpha, beta, 0, 0, 0};
    b.dispatch("gemm_f32", {A.b, B.b, C.b}, &p, sizeof p, groups(N, 64), groups(M, 64), 1, 4u);
    return;
  }
  EDGE_CHECK(ch.kernel != GemmKernel::Coop && !tile_of(ch.kernel).coop,
             "Vulkan gemm_f32: the tensor-core tiles are the quantized prompt GEMM's (qgemm_with), not the f32 GEMM's");
  const Tile& t = tile_of(ch.kernel);
  const std::string name = std::string("gemm_f32_") + (l.a_t ? "t" : "n") + (l.b_t ? "t" : "n") + "_" + t.name;
  record_tiled(b, name, t, ch.split, C, c_sm, A, l.lda, B, l.ldb, M, N, K, alpha, beta,
               (A.off % 4 == 0 && l.lda % 4 == 0 ? 1u : 0u) | (B.off % 4 == 0 && l.ldb % 4 == 0 ? 2u : 0u), {0, 0, 0});
}

void gemm_f32(Batch& b, View C, uint32_t c_sm, View A, uint32_t a_sm, uint32_t a_sk, View B, uint32_t b_sk,
              uint32_t b_sn, uint32_t M, uint32_t N, uint32_t K, float alpha, float beta) {
  gemm_f32_with(forced_choice(), b, C, c_sm, A, a_sm, a_sk, B, b_sk, b_sn, M, N, K, alpha, beta);
}

// The tensor-core tile for a prompt's x·Wᵀ: the largest of 128x128 and 128x64 (more products per staged slice)
// that alone gives about a workgroup per compute unit of the H100 (kQgemmFill128: the 1.1B's gate|up, q and o at
// pp512), else 64x64, split-K towards a quarter of kSplitTarget workgroups where even that leaves the GPU half idle
// (k|v), slices of kMinSliceK or more. Not yet measured on a card.
GemmChoice coop_choice(uint32_t M, uint32_t N, uint32_t K) {
  for (GemmKernel k : {GemmKernel::C128x128, GemmKernel::C128x64}) {
    const Tile& t = tile_of(k);
    if (uint64_t{groups(M, t.bm)} * groups(N, t.bn) >= kQgemmFill128) return {k, 1};
  }
  const Tile& t = tile_of(GemmKernel::C64x64);
  const uint64_t tiles = uint64_t{groups(M, t.bm)} * groups(N, t.bn), target = kSplitTarget / 4;
  uint32_t split = 1;
  if (tiles < kQgemmFill128)
    split = static_cast<uint32_t>(
        std::max<uint64_t>(1, std::min<uint64_t>({(target + tiles - 1) / tiles, K / kMinSliceK, kMaxSplit})));
  return {GemmKernel::C64x64, split};
}

namespace {
// "coop" (GemmKernel::Coop) made a tile: coop_choice's, with the asked split if there is one.
GemmChoice coop_resolved(GemmChoice asked, uint32_t M, uint32_t N, uint32_t K) {
  GemmChoice t = coop_choice(M, N, K);
  if (asked.split) t.split = asked.split;
  return t;
}
}  // namespace

GemmChoice qgemm_choice(const Context& c, uint32_t M, uint32_t N, uint32_t K) {
  static const char* e = std::getenv("EDGELLM_VULKAN_QGEMM");
  static const GemmChoice forced = parse_choice("EDGELLM_VULKAN_QGEMM", e, true);
  static const bool every_m = e && std::string(e).rfind("tiled", 0) == 0;  // "tiled": the tiles at every M
  if (forced.kernel == GemmKernel::Coop) return coop_resolved(forced, M, N, K);
  if (forced.kernel != GemmKernel::Auto) return forced;
  if (M < kQgemmMinRows && !every_m) return {GemmKernel::Generic, 1};
  GemmChoice t = tile_choice(c, M, N, K);
  // A prompt's products are shorter in K than training's: once the 128x64 tile alone gives a workgroup per compute
  // unit or so, it beats training's rule (split-K towards 1,024 workgroups, or the 64x64 tile). On the H100 at pp512
  // (bench_gemm_vulkan prompt, bench/RESULTS.md): 1.1B q and o 163 us unsplit against 195 (64x64, split 4), down 415
  // against 460, 110m gate|up 65 against 81; shapes with fewer tiles (k|v, 110m's q|k|v and down) keep the split.
  const Tile& big = tile_of(GemmKernel::T128x64_8x4);
  if (c.info().type == "discrete" && uint64_t{groups(M, big.bm)} * groups(N, big.bn) >= kQgemmFill128)
    t = {GemmKernel::T128x64_8x4, 1};
  if (forced.split) t.split = forced.split;
  return t;
}

void qgemm_with(GemmChoice ch, Batch& b, View C, uint32_t ldc, View A, uint32_t lda, const QWeight& w, bool w_kn,
                uint32_t M, uint32_t N, uint32_t K, float beta) {
  const char* wn = weight_shader_name(w.type);
  EDGE_CHECK(wn && w.type != DType::F32, "Vulkan qgemm: no dequantizing GEMM for weight type {}", dtype_name(w.type));
  if (ch.kernel == GemmKernel::Auto) ch = qgemm_choice(b.ctx(), M, N, K);
  if (ch.kernel == GemmKernel::Coop) ch = coop_resolved(ch, M, N, K);
  // The tensor-core tiles are compiled for x·Wᵀ only: the input gradient (dy·W) takes the f32 tiles.
  if (w_kn && ch.kernel != GemmKernel::Generic && tile_of(ch.kernel).coop) ch = tile_choice(b.ctx(), M, N, K);
  if (ch.kernel == GemmKernel::Generic) {  // gemm.comp: W element by element through load_w
    struct {
      uint32_t M, N, K, a_off, a_sm, a_sk, b_off, b_sk, b_sn, c_off, c_sm;
      float alpha, beta;
      uint32_t gint_bits, gint_group, b_trans;
    } p{M, N, K, A.off, lda, 1, w.off, 1, w.row, C.off, ldc, 1.0f, beta, w.gint_bits, w.gint_group, w_kn ? 1u : 0u};
    const std::string name = std::string("gemm_") + wn;
    b.dispatch(name.c_str(), {A.b, w.b, C.b}, &p, sizeof p, groups(N, 64), groups(M, 64), 1, 4u);
    return;
  }
  const Tile& t = tile_of(ch.kernel);
  EDGE_CHECK(t.quantized, "Vulkan qgemm: tile {} is not compiled for quantized weights (64x64_4x4, 128x64_8x4 are)",
             t.name);
  // The shader loads W in whole quads along its rows.
  EDGE_CHECK((w_kn ? N : K) % 4 == 0, "Vulkan qgemm: {} weight rows of {} elements, not a multiple of 4",
             dtype_name(w.type), w_kn ? N : K);
  std::string name = std::string("gemm_") + wn + (w_kn ? "_nn_" : "_nt_") + t.name;
  if (t.coop) {
    const Context::Coop coop = b.ctx().coop();
    EDGE_CHECK(coop != Context::Coop::None,
               "Vulkan qgemm: the tensor-core tile {} needs VK_NV_cooperative_matrix with 16x16x16 f16 products into "
               "f32, shaderFloat16, the Vulkan memory model and subgroups of 32; device '{}' lacks them "
               "(EDGELLM_VULKAN_COOPMAT=emulate runs the tile's plain-code twin)",
               t.name, b.ctx().info().name);
    if (coop == Context::Coop::Emulated) name += "_emu";
  }
  record_tiled(b, name, t, ch.split, C, ldc, A, lda, {w.b, w.off}, w.row, M, N, K, 1.0f, beta,
               A.off % 4 == 0 && lda % 4 == 0 ? 1u : 0u, {w.gint_bits, w.gint_group, w_kn ? 1u : 0u});
}

}  // namespace edgellm::vk
