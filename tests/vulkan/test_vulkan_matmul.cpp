// The Vulkan GEMM (A·B, Aᵀ·B, A·Bᵀ) and the dequantizing matvec/matmul shaders for every weight type,
// against double-precision loops over the CPU scalar dequantizers, on ragged shapes.
#include <doctest/doctest.h>

#include <string>

#include "kernels/kernel_table.h"
#include "kernels/quant/gint.h"
#include "kernels/ref/quant.h"
#include "runtime/dtype.h"
#include "vk_test_util.h"

using namespace edgellm;
using namespace edgellm::vktest;

namespace {

// One f32 GEMM through `choice` against a double loop: A stored (M, K) or (K, M) (a_t), B (K, N) or (N, K) (b_t),
// each at an offset of `off` floats with rows padded by `pad`. C's padding must stay as it was; with beta == 0 its
// outputs start as NaN (never read).
void check_gemm(vk::GemmChoice ch, uint32_t M, uint32_t N, uint32_t K, bool a_t, bool b_t, uint32_t off,
                uint32_t pad, float alpha, float beta, uint32_t seed) {
  const uint32_t lda = (a_t ? M : K) + pad, ldb = (b_t ? K : N) + pad, ldc = N + pad;
  const uint32_t a_sm = a_t ? 1 : lda, a_sk = a_t ? lda : 1, b_sk = b_t ? 1 : ldb, b_sn = b_t ? ldb : 1;
  const auto a = randv(off + size_t(a_t ? K : M) * lda, seed), bm = randv(off + size_t(b_t ? N : K) * ldb, seed + 1);
  auto c0 = randv(off + size_t(M) * ldc, seed + 2);
  std::vector<float> want = c0;
  for (uint32_t m = 0; m < M; ++m)
    for (uint32_t n = 0; n < N; ++n) {
      double acc = 0;
      for (uint32_t k = 0; k < K; ++k) acc += double(a[off + m * a_sm + k * a_sk]) * bm[off + k * b_sk + n * b_sn];
      float& c = c0[off + m * ldc + n];
      want[off + m * ldc + n] = float(alpha * acc + (beta != 0 ? beta * double(c) : 0.0));
      if (beta == 0) c = NAN;
    }
  vk::Buffer ba = up(a), bb = up(bm), bc = up(c0);
  vk::Batch b(ctx());
  vk::gemm_f32_with(ch, b, {&bc, off}, ldc, {&ba, off}, a_sm, a_sk, {&bb, off}, b_sk, b_sn, M, N, K, alpha, beta);
  b.submit();
  INFO(vk::gemm_kernel_name(ch.kernel) << " split=" << ch.split << " M=" << M << " N=" << N << " K=" << K
                                       << " a_t=" << a_t << " b_t=" << b_t << " off=" << off << " pad=" << pad
                                       << " alpha=" << alpha << " beta=" << beta);
  CHECK(worst(down(bc, want.size()), want, 1e-4 * std::sqrt(double(K)), 1e-4) <= 1);
}

}  // namespace

TEST_CASE("vulkan gemm_f32: every kernel, A·B, Aᵀ·B, A·Bᵀ, Aᵀ·Bᵀ on ragged shapes, offsets, alpha/beta, split-K") {
  // Ragged against every tile (64, 128) and k-slice (8, 16); off 3 or pad 1 takes the scalar (unaligned) loads.
  const uint32_t shapes[][3] = {{1, 1, 1}, {7, 33, 5}, {33, 7, 257}, {65, 130, 17}, {130, 67, 40}, {129, 257, 33}};
  const float ab[][2] = {{0.5f, 2.0f}, {1.0f, 0.0f}, {-1.0f, 1.0f}};
  uint32_t seed = 1;
  for (vk::GemmKernel k : vk::kGemmKernels)
    for (uint32_t split : {1u, 3u}) {
      if (k == vk::GemmKernel::Generic && split > 1) continue;
      for (int layout = 0; layout < 4; ++layout)
        for (const auto& s : shapes) {
          const uint32_t v = seed % 3, off = v == 1 ? 3 : 0, pad = v == 2 ? 1 : v * 4;
          check_gemm({k, split}, s[0], s[1], s[2], layout & 1, layout & 2, off, pad, ab[seed % 3][0], ab[seed % 3][1],
                     seed);
          seed += 3;
        }
    }
}

TEST_CASE("vulkan gemm_f32: strides without a unit one run the generic kernel, whatever is asked") {
  // A(m, k) = a[2m + 2Mk], B(k, n) = b[3k + 3Kn]: the tiled kernels need a unit stride and must not be taken.
  const uint32_t M = 40, N = 70, K = 33;
  const auto a = randv(size_t(2) * M * K, 7), bm = randv(size_t(3) * K * N, 8);
  std::vector<float> want(size_t(M) * N);
  for (uint32_t m = 0; m < M; ++m)
    for (uint32_t n = 0; n < N; ++n) {
      double acc = 0;
      for (uint32_t k = 0; k < K; ++k) acc += double(a[2 * m + 2 * M * k]) * bm[3 * k + 3 * K * n];
      want[m * N + n] = float(acc);
    }
  for (vk::GemmKernel k : {vk::GemmKernel::Auto, vk::GemmKernel::T128x128_8x8}) {
    vk::Buffer ba = up(a), bb = up(bm), bc = ctx().alloc(want.size() * 4);
    vk::Batch b(ctx());
    vk::gemm_f32_with({k, 2}, b, {&bc, 0}, N, {&ba, 0}, 2, 2 * M, {&bb, 0}, 3, 3 * K, M, N, K);
    b.submit();
    CHECK(worst(down(bc, want.size()), want, 1e-4 * std::sqrt(double(K)), 1e-4) <= 1);
  }
  CHECK(vk::gemm_choice(ctx(), 2, 2 * M, 3, 3 * K, 4096, 4096, 4096).kernel == vk::GemmKernel::Generic);
  CHECK(vk::gemm_choice(ctx(), 4096, 1, 1, 4096, 4096, 4096, 4096).kernel != vk::GemmKernel::Generic);
}

namespace {

// A random (N, K) weight in type t: raw bytes and its dequantized f32 rows (what the shader must reproduce).
struct QW {
  std::vector<uint8_t> raw;
  std::vector<float> deq;
};
QW make_weight(DType t, uint32_t N, uint32_t K, uint32_t seed, int bits = 4, int group = 32) {
  const auto w = randv(size_t(N) * K, seed);
  QW q;
  q.deq.resize(w.size());
  const KernelTable& s = *kernels_for(Isa::Scalar);
  if (t == DType::F32) {
    q.raw.resize(w.size() * 4);
    std::memcpy(q.raw.data(), w.data(), q.raw.size());
    q.deq = w;
    return q;
  }
  if (t == DType::F16) {
    std::vector<uint16_t> h(w.size());
    for (size_t i = 0; i < w.size(); ++i) h[i] = f32_to_f16(w[i]), q.deq[i] = f16_to_f32(h[i]);
    q.raw.resize(h.size() * 2);
    std::memcpy(q.raw.data(), h.data(), q.raw.size());
    return q;
  }
  if (dtype_is_gint(t)) {
    const quant::GintParams p{bits, group};
    const int64_t rb = quant::gint_row_bytes(p, K);
    q.raw.resize(size_t(rb) * N);
    for (uint32_t n = 0; n < N; ++n) {
      quant::quantize_row_gint_ref(q.raw.data() + n * rb, w.data() + size_t(n) * K, K, p, n % 2 == 0);
      quant::dequantize_row_gint(q.deq.data() + size_t(n) * K, q.raw.data() + n * rb, K, p);
    }
    return q;
  }
  const int64_t rb = dtype_row_bytes(t, K);
  q.raw.resize(size_t(rb) * N);
  for (uint32_t n = 0; n < N; ++n) {
    void* dst = q.raw.data() + n * rb;
    float* out = q.deq.data() + size_t(n) * K;
    const float* src = w.data() + size_t(n) * K;
    switch (t) {
      case DType::Q4_0: ref::quantize_row_q4_0_ref(dst, src, K), s.dequantize_q4_0(out, dst, K); break;
      case DType::Q5_0: ref::quantize_row_q5_0_ref(dst, src, K), s.dequantize_q5_0(out, dst, K); break;
      case DType::Q5_1: ref::quantize_row_q5_1_ref(dst, src, K), s.dequantize_q5_1(out, dst, K); break;
      case DType::Q2_K: ref::quantize_row_q2_k_ref(dst, src, K), s.dequantize_q2_k(out, dst, K); break;
      case DType::Q3_K: ref::quantize_row_q3_k_ref(dst, src, K), s.dequantize_q3_k(out, dst, K); break;
      case DType::Q8_0: ref::quantize_row_q8_0_ref(dst, src, K), s.dequantize_q8_0(out, dst, K); break;
      case DType::Q4_K: ref::quantize_row_q4_k_ref(dst, src, K), s.dequantize_q4_k(out, dst, K); break;
      case DType::Q6_K: ref::quantize_row_q6_k_ref(dst, src, K), s.dequantize_q6_k(out, dst, K); break;
      default: FAIL("type");
    }
  }
  return q;
}

// Elements per quantization block (f32/f16: 32, any multiple works).
uint32_t block_elems(DType t) {
  return dtype_info(t).quantized ? static_cast<uint32_t>(dtype_info(t).block) : 32;
}

// y = x·Wᵀ for one shape through linear_with (the matvec, or the GEMM) against double loops over the scalar
// dequantizers; W at byte w_off of its buffer (18: rows off a 4-byte boundary), x at 3 floats for odd M (the
// matvec's vec4 loads of x take their unaligned path).
void check_linear_shape(DType t, uint32_t M, uint32_t N, uint32_t K, uint32_t w_off, bool use_gemm, uint32_t seed,
                        int bits = 4, int group = 32) {
  const QW w = make_weight(t, N, K, seed, bits, group);
  const auto x = randv(size_t(M) * K, seed + 1);
  std::vector<float> want(size_t(M) * N);
  double scale = 0;
  for (uint32_t m = 0; m < M; ++m)
    for (uint32_t n = 0; n < N; ++n) {
      double acc = 0, mag = 0;
      for (uint32_t k = 0; k < K; ++k)
        acc += double(x[m * K + k]) * w.deq[size_t(n) * K + k], mag += std::fabs(double(x[m * K + k]) * w.deq[size_t(n) * K + k]);
      want[m * N + n] = float(acc);
      scale = std::max(scale, mag);
    }
  // Padding past the last row: the GINT loader may read one byte beyond a code straddle.
  std::vector<uint8_t> raw(w_off, 0);
  raw.insert(raw.end(), w.raw.begin(), w.raw.end());
  raw.resize(raw.size() + 8);
  std::vector<float> xp(3, 0.0f);
  xp.insert(xp.end(), x.begin(), x.end());
  vk::Buffer bw = up(raw), bx = up(x), bxp = up(xp), by = ctx().alloc(want.size() * 4);
  vk::Batch b(ctx());
  const bool shifted = M % 2 == 1;
  vk::linear_with(use_gemm, b, {&by, 0}, shifted ? vk::View{&bxp, 3} : vk::View{&bx, 0}, bw, w_off, t, M, N, K, 0,
                  bits, group);
  b.submit();
  INFO(dtype_name(t) << " bits=" << bits << " M=" << M << " N=" << N << " K=" << K << " w_off=" << w_off
                     << " gemm=" << use_gemm << " matvec=" << vk::matvec_path_name(vk::matvec_path(ctx(), t)));
  CHECK(worst(down(by, want.size()), want, 1e-5 * scale, 0) <= 1);
}

void check_linear(DType t, int bits = 4, int group = 32) {
  const uint32_t blk = dtype_is_gint(t) ? uint32_t(group) : block_elems(t);
  const uint32_t shapes[][3] = {{1, 7, 1}, {2, 33, 3}, {7, 65, 2}, {33, 17, 5}, {70, 130, 1}};
  uint32_t seed = 100 + uint32_t(t);
  for (auto& s : shapes) {
    for (bool use_gemm : {false, true}) check_linear_shape(t, s[0], s[1], s[2] * blk, 0, use_gemm, seed, bits, group);
    seed += 2;
  }
}

}  // namespace

TEST_CASE("vulkan linear (matvec and dequantizing gemm) per weight type, against the scalar dequantizers") {
  for (DType t : {DType::F32, DType::F16, DType::Q4_0, DType::Q5_0, DType::Q5_1, DType::Q8_0, DType::Q2_K, DType::Q3_K,
                  DType::Q4_K, DType::Q6_K})
    check_linear(t);
  check_linear(DType::GINT4_G32, 4, 32);
  check_linear(DType::GINT3_G64, 3, 64);
  check_linear(DType::GINT2_G128, 2, 128);
  check_linear(DType::GINT8_G32, 8, 32);
}

TEST_CASE("vulkan linear_backward_x: dx = dy·W (+ beta·dx) through every weight type") {
  struct T3 { DType t; int bits, group; };
  for (T3 c : {T3{DType::F32, 4, 32}, T3{DType::F16, 4, 32}, T3{DType::Q4_0, 4, 32}, T3{DType::Q8_0, 4, 32},
               T3{DType::Q5_0, 4, 32}, T3{DType::Q5_1, 4, 32}, T3{DType::Q2_K, 4, 32}, T3{DType::Q3_K, 4, 32},
               T3{DType::Q4_K, 4, 32}, T3{DType::Q6_K, 4, 32}, T3{DType::GINT3_G64, 3, 64}, T3{DType::GINT4_G32, 4, 32}}) {
    const uint32_t blk = dtype_is_gint(c.t) ? uint32_t(c.group) : block_elems(c.t);
    const uint32_t shapes[][3] = {{1, 7, 1}, {33, 65, 2}, {70, 17, 3}};
    for (auto& s : shapes) {
      const uint32_t M = s[0], N = s[1], K = s[2] * blk;
      const QW w = make_weight(c.t, N, K, M + N + K, c.bits, c.group);
      const auto dy = randv(size_t(M) * N, N), dx0 = randv(size_t(M) * K, K);
      std::vector<float> want(size_t(M) * K);
      double scale = 0;
      for (uint32_t m = 0; m < M; ++m)
        for (uint32_t k = 0; k < K; ++k) {
          double acc = 0.5 * dx0[m * K + k], mag = std::fabs(acc);
          for (uint32_t n = 0; n < N; ++n)
            acc += double(dy[m * N + n]) * w.deq[size_t(n) * K + k], mag += std::fabs(double(dy[m * N + n]) * w.deq[size_t(n) * K + k]);
          want[m * K + k] = float(acc);
          scale = std::max(scale, mag);
        }
      std::vector<uint8_t> raw = w.raw;
      raw.resize(raw.size() + 8);
      vk::Buffer bw = up(raw), bdy = up(dy), bdx = up(dx0);
      vk::Batch b(ctx());
      vk::linear_backward_x(b, {&bdx, 0}, {&bdy, 0}, bw, 0, c.t, M, N, K, 0.5f, c.bits, c.group);
      b.submit();
      INFO(dtype_name(c.t) << " M=" << M << " N=" << N << " K=" << K);
      CHECK(worst(down(bdx, want.size()), want, 1e-5 * scale, 0) <= 1);
    }
  }
}

namespace {

// The weight's bytes 18 bytes (9 f16) into their buffer, so that its rows' words straddle (word_at's second load),
// with 8 bytes of padding past the end; x at 3 floats when x_off (the scalar loads of A).
constexpr uint32_t kWOff = 18;
vk::Buffer up_weight(const QW& w) {
  std::vector<uint8_t> raw(kWOff, 0);
  raw.insert(raw.end(), w.raw.begin(), w.raw.end());
  raw.resize(raw.size() + 8);
  return up(raw);
}
vk::Buffer up_x(const std::vector<float>& x, bool x_off) {
  std::vector<float> xp(x_off ? 3 : 0, 0.0f);
  xp.insert(xp.end(), x.begin(), x.end());
  return up(xp);
}

// The dequantizing GEMM forced to `ch` (gemm.comp, or a tile of gemm_tiled.comp with split-K) against double loops
// over the scalar dequantizers: y = x·Wᵀ (+ beta·y) through linear_with, or dx = dy·W (+ beta·dx) through
// linear_backward_x. W sits 18 bytes (9 f16) into its buffer, so its rows' words straddle (word_at's second load),
// and x at 3 floats when x_off (the scalar loads of A).
void check_qgemm(DType t, vk::GemmChoice ch, uint32_t M, uint32_t N, uint32_t kblocks, bool backward, bool x_off,
                 float beta, uint32_t seed, int bits = 4, int group = 32) {
  const uint32_t K = kblocks * (dtype_is_gint(t) ? uint32_t(group) : block_elems(t));
  const QW w = make_weight(t, N, K, seed, bits, group);
  const uint32_t out_cols = backward ? K : N, in_cols = backward ? N : K;
  const auto x = randv(size_t(M) * in_cols, seed + 1), y0 = randv(size_t(M) * out_cols, seed + 2);
  std::vector<float> want(y0.size());
  double scale = 0;
  for (uint32_t m = 0; m < M; ++m)
    for (uint32_t o = 0; o < out_cols; ++o) {
      double acc = beta * double(y0[size_t(m) * out_cols + o]), mag = std::fabs(acc);
      for (uint32_t i = 0; i < in_cols; ++i) {
        const double wv = backward ? w.deq[size_t(i) * K + o] : w.deq[size_t(o) * K + i];
        acc += double(x[size_t(m) * in_cols + i]) * wv, mag += std::fabs(double(x[size_t(m) * in_cols + i]) * wv);
      }
      want[size_t(m) * out_cols + o] = float(acc);
      scale = std::max(scale, mag);
    }
  vk::Buffer bw = up_weight(w), bx = up_x(x, x_off), by = up(y0);
  vk::Batch b(ctx());
  const vk::View xv{&bx, x_off ? 3u : 0u};
  if (backward)
    vk::linear_backward_x(b, {&by, 0}, xv, bw, kWOff, t, M, N, K, beta, bits, group, ch);
  else
    vk::linear_with(true, b, {&by, 0}, xv, bw, kWOff, t, M, N, K, beta, bits, group, ch);
  b.submit();
  INFO(dtype_name(t) << " bits=" << bits << " " << std::string(vk::gemm_kernel_name(ch.kernel)) << " split=" << ch.split
                     << " M=" << M << " N=" << N << " K=" << K << " backward=" << backward << " x_off=" << x_off
                     << " beta=" << beta);
  CHECK(worst(down(by, want.size()), want, 1e-5 * scale, 0) <= 1);
}

}  // namespace

TEST_CASE("vulkan dequantizing GEMM: gemm.comp and the tiles with split-K, every weight type, forward and dx") {
  // M, N ragged against both tiles (64, 128 rows; 64 columns) and K against the 16-wide k-slices and 3 splits.
  const uint32_t shapes[][3] = {{33, 65, 3}, {130, 17, 5}, {7, 131, 1}};
  struct T3 { DType t; int bits, group; };
  uint32_t seed = 900;
  for (T3 c : {T3{DType::F16, 4, 32}, T3{DType::Q4_0, 4, 32}, T3{DType::Q5_0, 4, 32}, T3{DType::Q5_1, 4, 32},
               T3{DType::Q8_0, 4, 32}, T3{DType::Q2_K, 4, 32}, T3{DType::Q3_K, 4, 32}, T3{DType::Q4_K, 4, 32},
               T3{DType::Q6_K, 4, 32}, T3{DType::GINT4_G32, 4, 32}, T3{DType::GINT3_G64, 3, 64}})
    for (vk::GemmChoice ch : {vk::GemmChoice{vk::GemmKernel::Generic, 1}, vk::GemmChoice{vk::GemmKernel::T64x64_4x4, 1},
                              vk::GemmChoice{vk::GemmKernel::T128x64_8x4, 1}, vk::GemmChoice{vk::GemmKernel::T64x64_4x4, 3},
                              vk::GemmChoice{vk::GemmKernel::T128x64_8x4, 3}})
      for (const auto& s : shapes) {
        // The super-block types (256 per block) with fewer blocks: the loops stay short on lavapipe.
        const uint32_t kb = block_elems(c.t) == 256 ? (s[2] + 1) / 2 : s[2];
        for (bool backward : {false, true}) {
          check_qgemm(c.t, ch, s[0], s[1], kb, backward, seed / 2 % 2 == 1, seed % 3 == 0 ? 0.5f : 0.0f, seed, c.bits,
                      c.group);
          ++seed;
        }
      }
}

namespace {

// f16's rounding (round to nearest even), as the tensor-core tiles stage both operands.
double f16_round(double v) { return f16_to_f32(f32_to_f16(static_cast<float>(v))); }

// The tensor-core tile `ch` (gemm_coop.comp) against double loops over x and the dequantized W, both rounded to f16
// as the shader stages them: what is left is f32 accumulation order, so the bound is that of the f32 tiles and any
// misplaced element shows. Buffers as check_qgemm's (up_weight, up_x).
void check_coop(DType t, vk::GemmChoice ch, uint32_t M, uint32_t N, uint32_t kblocks, bool x_off, float beta,
                uint32_t seed, int bits = 4, int group = 32) {
  const uint32_t K = kblocks * (dtype_is_gint(t) ? uint32_t(group) : block_elems(t));
  const QW w = make_weight(t, N, K, seed, bits, group);
  const auto x = randv(size_t(M) * K, seed + 1), y0 = randv(size_t(M) * N, seed + 2);
  std::vector<float> want(y0.size());
  double scale = 0;
  for (uint32_t m = 0; m < M; ++m)
    for (uint32_t n = 0; n < N; ++n) {
      double acc = 0, mag = 0;
      for (uint32_t k = 0; k < K; ++k) {
        const double p = f16_round(x[size_t(m) * K + k]) * f16_round(w.deq[size_t(n) * K + k]);
        acc += p, mag += std::fabs(p);
      }
      want[size_t(m) * N + n] = float(acc + beta * double(y0[size_t(m) * N + n]));
      scale = std::max(scale, mag + std::fabs(beta * double(y0[size_t(m) * N + n])));
    }
  vk::Buffer bw = up_weight(w), bx = up_x(x, x_off), by = up(y0);
  vk::Batch b(ctx());
  vk::linear_with(true, b, {&by, 0}, {&bx, x_off ? 3u : 0u}, bw, kWOff, t, M, N, K, beta, bits, group, ch);
  b.submit();
  INFO(dtype_name(t) << " " << std::string(vk::gemm_kernel_name(ch.kernel)) << " split=" << ch.split << " M=" << M
                     << " N=" << N << " K=" << K << " x_off=" << x_off << " beta=" << beta);
  // A card converts to f16 in its own rounding mode (SPIR-V leaves OpFConvert's to the driver): there the bound is
  // f16's half ulp of the row's magnitude, still far below what one misplaced element adds (~scale/√K).
  const double tol = ctx().coop() == vk::Context::Coop::Emulated ? 1e-5 : 1e-3;
  CHECK(worst(down(by, want.size()), want, tol * scale, 0) <= 1);
}

}  // namespace

TEST_CASE("vulkan tensor-core prompt GEMM (gemm_coop.comp): every weight type, ragged tiles, split-K, alpha/beta") {
  // On lavapipe through EDGELLM_VULKAN_COOPMAT=emulate (tools/test-vulkan.sh); on a card with the NV extension
  // through its tensor cores.
  if (ctx().coop() == vk::Context::Coop::None) {
    MESSAGE("no cooperative matrices on this device (EDGELLM_VULKAN_COOPMAT=emulate checks the tiles' twin)");
    return;
  }
  // M, N ragged against both tiles (64, 128) and K against the 32-wide slices and 3 splits.
  const uint32_t shapes[][3] = {{33, 65, 3}, {130, 17, 5}, {7, 131, 2}};
  struct T3 { DType t; int bits, group; };
  uint32_t seed = 1900;
  // The types differ only in dequant_quad.glsl's loads, which the f32 tiles' test covers for all of them; lavapipe
  // compiles each emulated twin slowly (~5 s a pipeline, cold), so there it takes a block type, a super-block type,
  // f16 and a group-int type.
  const bool every = ctx().coop() == vk::Context::Coop::Hardware;
  for (T3 c : {T3{DType::F16, 4, 32}, T3{DType::Q4_0, 4, 32}, T3{DType::Q5_1, 4, 32}, T3{DType::Q8_0, 4, 32},
               T3{DType::Q2_K, 4, 32}, T3{DType::Q3_K, 4, 32}, T3{DType::Q4_K, 4, 32}, T3{DType::Q6_K, 4, 32},
               T3{DType::GINT3_G64, 3, 64}}) {
    if (!every && c.t != DType::F16 && c.t != DType::Q4_0 && c.t != DType::Q4_K && c.t != DType::GINT3_G64) continue;
    for (vk::GemmChoice ch : {vk::GemmChoice{vk::GemmKernel::C64x64, 1}, vk::GemmChoice{vk::GemmKernel::C128x64, 1},
                              vk::GemmChoice{vk::GemmKernel::C128x128, 1}, vk::GemmChoice{vk::GemmKernel::C64x64, 3}})
      for (const auto& s : shapes) {
        const uint32_t kb = block_elems(c.t) == 256 ? (s[2] + 1) / 2 : s[2];
        check_coop(c.t, ch, s[0], s[1], kb, seed % 2 == 1, seed % 3 == 0 ? 0.5f : 0.0f, seed, c.bits, c.group);
        ++seed;
      }
  }
  // The input gradient (dy·W) is not compiled for the tiles: asked for one, it takes the f32 tiles.
  check_qgemm(DType::Q4_0, {vk::GemmKernel::C64x64, 1}, 33, 65, 3, true, false, 0.0f, 77);
}

TEST_CASE("vulkan qgemm: coop by shape; the f32 GEMM refuses the tensor-core tiles") {
  CHECK(std::string(vk::gemm_kernel_name(vk::GemmKernel::C64x64)) == "coop_64x64");
  CHECK(std::string(vk::gemm_kernel_name(vk::GemmKernel::C128x128)) == "coop_128x128");
  // By shape (EDGELLM_VULKAN_QGEMM=coop), the 1.1B at pp512: gate|up 128x128, q and o 128x64, k|v 64x64 split 8.
  CHECK(vk::coop_choice(512, 5632, 2048).kernel == vk::GemmKernel::C128x128);
  CHECK(vk::coop_choice(512, 2048, 2048).kernel == vk::GemmKernel::C128x64);
  const vk::GemmChoice kv = vk::coop_choice(512, 256, 2048);
  CHECK((kv.kernel == vk::GemmKernel::C64x64 && kv.split == 8));
  vk::Buffer a = ctx().alloc(64 * 64 * 4), bb = ctx().alloc(64 * 64 * 4), cc = ctx().alloc(64 * 64 * 4);
  vk::Batch b(ctx());
  CHECK_THROWS_WITH(vk::gemm_f32_with({vk::GemmKernel::C64x64, 1}, b, {&cc, 0}, 64, {&a, 0}, 64, 1, {&bb, 0}, 64, 1,
                                      64, 64, 64),
                    doctest::Contains("tensor-core tiles"));
  if (ctx().coop() == vk::Context::Coop::None) {
    const QW w = make_weight(DType::Q4_0, 64, 64, 5);
    vk::Buffer bw = up(w.raw), bx = ctx().alloc(64 * 64 * 4), by = ctx().alloc(64 * 64 * 4);
    vk::Batch b2(ctx());
    CHECK_THROWS_WITH(vk::linear_with(true, b2, {&by, 0}, {&bx, 0}, bw, 0, DType::Q4_0, 64, 64, 64, 0, 4, 32,
                                      {vk::GemmKernel::C64x64, 1}),
                      doctest::Contains("VK_NV_cooperative_matrix"));
  }
}

TEST_CASE("vulkan qgemm_choice: the tiles from 32 rows of x (a prompt), gemm.comp below") {
  CHECK(vk::qgemm_choice(ctx(), 3, 2048, 2048).kernel == vk::GemmKernel::Generic);
  CHECK(vk::qgemm_choice(ctx(), 31, 2048, 2048).kernel == vk::GemmKernel::Generic);
  const vk::GemmKernel k = vk::qgemm_choice(ctx(), 512, 2048, 2048).kernel;
  CHECK((k == vk::GemmKernel::T64x64_4x4 || k == vk::GemmKernel::T128x64_8x4));
}

namespace {

// The decode step's fused matvec against double loops: RMSNorm folded in, segments into their own outputs at a
// position, RoPE (both pairings) on the marked ones, silu(gate)·up, and the residual add.
struct FusedCase {
  DType t;
  vk::FusedPair pair;
  bool norm;
  float beta;
};

void check_fused(const FusedCase& fc, uint32_t K, uint32_t HD, uint32_t seed) {
  const uint32_t NH = 3, KVH = 1, F = 33, pos = 5, half = HD / 2;
  const bool swiglu = fc.pair == vk::FusedPair::Swiglu, rope = !swiglu && fc.pair != vk::FusedPair::None;
  // Segments: swiglu W = gate|up (F rows each, one output); else q|k|v with k, v at the position (stride KVH·HD).
  const std::vector<uint32_t> rows = swiglu ? std::vector<uint32_t>{F} : std::vector<uint32_t>{NH * HD, KVH * HD, KVH * HD};
  uint32_t N = 0;
  for (uint32_t r : rows) N += r * (swiglu ? 2 : 1);
  const QW w = make_weight(fc.t, N, K, seed);
  const auto x = randv(K, seed + 1), nw = randv(K, seed + 2, 0.5f, 1.5f), cs = randv(half, seed + 3),
             sn = randv(half, seed + 4);
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  const double rs = fc.norm ? 1.0 / std::sqrt(ss / K + 1e-5) : 1.0;
  std::vector<double> dot(N), mag(N);
  for (uint32_t n = 0; n < N; ++n)
    for (uint32_t k = 0; k < K; ++k) {
      const double xi = fc.norm ? double(x[k]) * rs * nw[k] : double(x[k]);
      dot[n] += xi * w.deq[size_t(n) * K + k], mag[n] += std::fabs(xi * w.deq[size_t(n) * K + k]);
    }
  // Expected outputs, each segment in its own buffer of `cap` rows (rows at pos for segments 1, 2).
  const uint32_t cap = pos + 2;
  std::vector<std::vector<float>> y0(rows.size()), want(rows.size());
  std::vector<double> scale(rows.size());
  uint32_t first = 0;
  for (size_t s = 0; s < rows.size(); ++s) {
    const uint32_t R = rows[s], row = s == 0 ? 0 : pos, stride = R;
    y0[s] = randv(size_t(cap) * R, seed + 10 + uint32_t(s));
    want[s] = y0[s];
    for (uint32_t j = 0; j < R; ++j) {
      double v = dot[first + j];
      if (swiglu) v = v / (1 + std::exp(-v)) * dot[first + R + j];
      if (rope && s < 2) {
        const uint32_t h = j / HD, i = fc.pair == vk::FusedPair::RopeInterleaved ? (j % HD) / 2 : (j % HD) % half;
        const bool second = fc.pair == vk::FusedPair::RopeInterleaved ? (j % 2) == 1 : (j % HD) >= half;
        const uint32_t a = fc.pair == vk::FusedPair::RopeInterleaved ? h * HD + 2 * i : h * HD + i;
        const uint32_t b = fc.pair == vk::FusedPair::RopeInterleaved ? a + 1 : a + half;
        const double xa = dot[first + a], xb = dot[first + b];
        v = second ? xa * sn[i] + xb * cs[i] : xa * cs[i] - xb * sn[i];
      }
      float& o = want[s][size_t(row) * stride + j];
      o = float(v + fc.beta * o);
      scale[s] = std::max(scale[s], mag[first + j] * (swiglu ? 1 + mag[first + R + j] : 1) + std::fabs(o));
    }
    first += R * (swiglu ? 2 : 1);
  }
  std::vector<uint8_t> raw = w.raw;
  raw.resize(raw.size() + 8);
  std::vector<float> step(4 + HD);
  const uint32_t p32 = pos;
  std::memcpy(step.data(), &p32, 4);
  std::copy(cs.begin(), cs.end(), step.begin() + 4);
  std::copy(sn.begin(), sn.end(), step.begin() + 4 + half);
  vk::Buffer bw = up(raw), bx = up(x), bn = up(nw), bs = up(step);
  std::vector<vk::Buffer> by;
  for (const auto& v : y0) by.push_back(up(v));
  vk::FusedMatvec f;
  f.x = {&bx, 0}, f.norm = fc.norm ? &bn : nullptr, f.eps = 1e-5f, f.beta = fc.beta;
  f.w = &bw, f.K = K, f.wt = fc.t, f.pair = fc.pair, f.HD = HD, f.step = &bs;
  f.n_out = static_cast<int>(rows.size());
  for (size_t s = 0; s < rows.size(); ++s) f.out[s] = {{&by[s], 0}, rows[s], rows[s], s > 0, rope && s < 2};
  vk::Batch b(ctx());
  vk::matvec_fused(b, f);
  b.submit();
  for (size_t s = 0; s < rows.size(); ++s) {
    INFO(dtype_name(fc.t) << " pair=" << int(fc.pair) << " norm=" << fc.norm << " beta=" << fc.beta << " K=" << K
                          << " HD=" << HD << " segment " << s);
    CHECK(worst(down(by[s], want[s].size()), want[s], 1e-5 * scale[s], 0) <= 1);
  }
}

}  // namespace

TEST_CASE("vulkan matvec_fused: RMSNorm prologue, q|k|v segments at a position, RoPE, silu·up, residual") {
  uint32_t seed = 500;
  for (DType t : {DType::F32, DType::Q4_0, DType::Q8_0, DType::Q4_K}) {
    const uint32_t blk = block_elems(t);
    for (const FusedCase& fc : {FusedCase{t, vk::FusedPair::RopeInterleaved, true, 0},
                                FusedCase{t, vk::FusedPair::RopeNeox, true, 0}, FusedCase{t, vk::FusedPair::None, true, 0},
                                FusedCase{t, vk::FusedPair::Swiglu, true, 0}, FusedCase{t, vk::FusedPair::None, false, 1},
                                FusedCase{t, vk::FusedPair::RopeNeox, false, 0}})
      for (uint32_t kb : {1u, 3u, 17u})  // 17 blocks: K past 512, where K splits over two warps per row pair
        for (uint32_t HD : {8u, 16u}) check_fused(fc, kb * blk, HD, seed++);
  }
}

// The staged matvec (EDGELLM_VULKAN_MATVEC=wide, the default where it applies) and the words path for the types it
// takes: K ragged against its 2048-element chunks (one block, odd block counts whose rows start 2 bytes off a word,
// several chunks with a partial last), rows 18 bytes into the buffer, N odd and single rows, M = 1..4; fused with
// RMSNorm, RoPE, swiglu and the residual add. On lavapipe (subgroups of 8) a row pair's sums also cross subgroups.
TEST_CASE("vulkan matvec staged through shared memory (wide) against words: Q4_0, Q8_0, Q4_K, Q6_K, plain and fused") {
  uint32_t seed = 800;
  for (const char* mode : {"wide", "words"}) {
    setenv("EDGELLM_VULKAN_MATVEC", mode, 1);
    for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K}) {
      CHECK(vk::matvec_path(ctx(), t) == (std::string(mode) == "wide" ? vk::MatvecPath::Wide : vk::MatvecPath::Words));
      const bool kq = block_elems(t) == 256;
      const std::vector<uint32_t> ks = kq ? std::vector<uint32_t>{256, 768, 2304, 4352}
                                          : std::vector<uint32_t>{32, 96, 2048, 2080, 4192};
      const uint32_t ns[] = {1, 7, 33, 130};
      for (size_t i = 0; i < ks.size(); ++i) {
        const uint32_t M = 1 + uint32_t(i % 4), N = ns[i % 4];
        check_linear_shape(t, M, N, ks[i], i % 2 == 1 ? 18 : 0, false, seed);
        seed += 2;
      }
      for (const FusedCase& fc : {FusedCase{t, vk::FusedPair::RopeInterleaved, true, 0},
                                  FusedCase{t, vk::FusedPair::RopeNeox, true, 0},
                                  FusedCase{t, vk::FusedPair::Swiglu, true, 0},
                                  FusedCase{t, vk::FusedPair::None, false, 1}})
        for (uint32_t K : {ks[1], ks.back()}) check_fused(fc, K, 16, seed++);
    }
  }
  unsetenv("EDGELLM_VULKAN_MATVEC");
}

TEST_CASE("vulkan matvec by words with 4 or 8 steps' loads in flight (EDGELLM_VULKAN_MATVEC=deep|deep8): Q4_0, Q8_0") {
  uint32_t seed = 1700;
  for (const char* mode : {"deep", "deep8"}) {
    setenv("EDGELLM_VULKAN_MATVEC", mode, 1);
    CHECK(vk::matvec_path(ctx(), DType::Q4_0) ==
          (std::string(mode) == "deep" ? vk::MatvecPath::Deep : vk::MatvecPath::Deep8));
    CHECK(vk::matvec_path(ctx(), DType::Q4_K) == vk::MatvecPath::Words);
    check_linear(DType::Q4_0);
    check_linear(DType::Q8_0);
    // The plain matvec past one deep group (32 or 64 blocks for a warp per row pair), rows 18 bytes in
    // (straddling words).
    for (DType t : {DType::Q4_0, DType::Q8_0})
      for (uint32_t kb : {37u, 161u}) check_linear_shape(t, 2, 33, kb * 32, 18, false, seed), seed += 2;
    for (DType t : {DType::Q4_0, DType::Q8_0})
      for (const FusedCase& fc : {FusedCase{t, vk::FusedPair::RopeInterleaved, true, 0},
                                  FusedCase{t, vk::FusedPair::Swiglu, true, 0},
                                  FusedCase{t, vk::FusedPair::None, false, 1}})
        // Fewer blocks than one group, one group and part of the next, several groups with K split over two
        // warps per row pair.
        for (uint32_t kb : {3u, 37u, 161u}) check_fused(fc, kb * 32, 16, seed++);
  }
  unsetenv("EDGELLM_VULKAN_MATVEC");
}

TEST_CASE("vulkan matvec with a lane per block (EDGELLM_VULKAN_MATVEC=blocks): Q4_0, Q8_0, plain and fused") {
  setenv("EDGELLM_VULKAN_MATVEC", "blocks", 1);
  check_linear(DType::Q4_0);
  check_linear(DType::Q8_0);
  uint32_t seed = 700;
  for (DType t : {DType::Q4_0, DType::Q8_0})
    for (const FusedCase& fc : {FusedCase{t, vk::FusedPair::RopeInterleaved, true, 0},
                                FusedCase{t, vk::FusedPair::Swiglu, true, 0}, FusedCase{t, vk::FusedPair::None, false, 1}})
      // Fewer blocks than lanes, about two per lane, and enough (K >= 4096) for two warps per row pair.
      for (uint32_t kb : {3u, 17u, 70u, 140u}) check_fused(fc, kb * 32, 8, seed++);
  unsetenv("EDGELLM_VULKAN_MATVEC");
}
