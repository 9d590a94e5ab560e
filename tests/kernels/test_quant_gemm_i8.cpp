// The 8-bit panel GEMM (kernels/quant_gemm_i8.h): every ISA's i8_panel_ukernel and panel packers against the scalar
// definitions on edge tiles and ragged rows, which table gets which kernel, and matmul_i8_panel against matmul_quant
// (the same 8-bit activations through the vec_dot kernels) and against dequantize + f32 matmul within the
// activation-quantization bound.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <tuple>

#include "kernels/cpu_features.h"
#include "kernels/kernel_table.h"
#include "kernels/quant_gemm_i8.h"
#include "kernels/quant_matmul.h"
#include "kernels/ref/i8_panel.h"
#include "quant_test_util.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

using namespace edgellm;
using namespace edgellm::test;

namespace {

// One ISA's kernel against the definition on every edge tile (m <= MR rows, 1, 7, 17 or 32 columns, with and without
// the minimum) for nb blocks of kb elements whose codes are below 2^code_bits. Tables that read 8-bit codes as signed
// bytes get signed codes q, the definition q + 128 with the −128·Σx correction the driver would fold in.
void check_ukernel(Isa isa, int64_t kb, int64_t nb, int code_bits, std::mt19937& rng) {
  const KernelTable& t = *kernels_for(isa);
  const bool signed8 = code_bits == 8 && t.i8_panel_signed_codes;
  const int64_t MR = t.i8_panel_mr, K = nb * kb, ldx = K + 7, ldd = nb + 2, ldc = kI8PanelCols + 3;
  std::uniform_int_distribution<int> byte(0, (1 << code_bits) - 1), sbyte(-127, 127), corr(-4000, 4000);
  std::uniform_real_distribution<float> scale(0.001f, 0.1f);
  std::vector<uint8_t> u(static_cast<size_t>(K * kI8PanelCols));
  std::vector<float> wd(static_cast<size_t>(nb * kI8PanelCols)), wm(wd.size()), dx(static_cast<size_t>(MR * ldd)),
      dsx(dx.size());
  std::vector<int8_t> x(static_cast<size_t>(MR * ldx));
  std::vector<int32_t> cr(static_cast<size_t>(MR * ldd));
  for (auto& v : u) v = static_cast<uint8_t>(byte(rng));
  for (auto& v : x) v = static_cast<int8_t>(sbyte(rng));
  for (auto& v : wd) v = scale(rng);
  for (auto& v : dx) v = scale(rng);
  for (auto& v : wm) v = -scale(rng);
  for (auto& v : dsx) v = scale(rng) * 50.0f;
  for (auto& v : cr) v = corr(rng);
  if (signed8) {  // the extremes the sign trick must survive: −128 codes against ±127 activations
    for (size_t i = 0; i < u.size(); i += 7) u[i] = 0x80;
    for (size_t i = 0; i < x.size(); i += 5) x[i] = static_cast<int8_t>(i % 2 ? 127 : -127);
  }
  std::vector<uint8_t> u_ref = u;
  std::vector<int32_t> cr_ref = cr;
  if (signed8) {
    for (auto& v : u_ref) v = static_cast<uint8_t>(v ^ 0x80);  // q + 128
    for (int64_t i = 0; i < MR; ++i)
      for (int64_t b = 0; b < nb; ++b)
        for (int64_t e = 0; e < kb; ++e) cr_ref[static_cast<size_t>(i * ldd + b)] -= 128 * x[i * ldx + b * kb + e];
  }
  for (bool with_min : {false, true})
    for (int64_t m = 1; m <= MR; ++m)
      for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{17}, kI8PanelCols}) {
        const float* wmp = with_min ? wm.data() : nullptr;
        std::vector<float> c(static_cast<size_t>(MR * ldc), -9.0f), want = c;
        t.i8_panel_ukernel(nb, kb, code_bits, x.data(), ldx, dx.data(), cr.data(), dsx.data(), ldd, u.data(),
                           wd.data(), wmp, c.data(), ldc, m, n);
        ref::i8_panel_ukernel(nb, kb, code_bits, x.data(), ldx, dx.data(), cr_ref.data(), dsx.data(), ldd,
                              u_ref.data(), wd.data(), wmp, want.data(), ldc, m, n);
        // FMA versus multiply-then-add rounding, on sums with cancellation: relative to the tile's scale.
        float top = 1.0f;
        for (float v : want) top = std::max(top, std::fabs(v));
        int bad = 0;
        for (size_t i = 0; i < c.size(); ++i) bad += std::fabs(c[i] - want[i]) > 1e-5f * top;
        CHECK_MESSAGE(bad == 0, std::string(isa_name(isa)) << " kb " << kb << " nb " << nb << " bits " << code_bits
                                                           << " m " << m << " n " << n << " min " << with_min);
      }
}

}  // namespace

TEST_CASE("i8_panel_ukernel of every ISA equals the scalar definition on edge tiles, 32- and 16-element blocks") {
  std::mt19937 rng(17);
  for (Isa isa : available_isas())
    for (int64_t kb : {32, 16})
      for (int64_t nb : {1, 3, 8})
        for (int bits : {4, 5, 6, 8}) check_ukernel(isa, kb, nb, bits, rng);
}

TEST_CASE("i8_panel_pack_* of every ISA writes the scalar packer's panel, ragged row counts") {
  using Pack = i8_panel_pack_fn* KernelTable::*;
  const std::tuple<DType, Pack, int64_t> types[] = {
      {DType::Q4_0, &KernelTable::i8_panel_pack_q4_0, 32}, {DType::Q8_0, &KernelTable::i8_panel_pack_q8_0, 32},
      {DType::Q4_K, &KernelTable::i8_panel_pack_q4_k, 32}, {DType::Q5_K, &KernelTable::i8_panel_pack_q5_k, 32},
      {DType::Q6_K, &KernelTable::i8_panel_pack_q6_k, 16}};
  const KernelTable& def = *kernels_for(Isa::Scalar);
  for (Isa isa : available_isas())
    for (const auto& type : types) {
      const DType wt = std::get<0>(type);
      const Pack pack = std::get<1>(type);
      const int64_t kb = std::get<2>(type), K = 3 * dtype_info(wt).block, nb = K / kb, wrb = dtype_row_bytes(wt, K);
      const auto wq = quantize(qtype(wt), random_weights(kI8PanelCols * K, 9, 0.05f), kI8PanelCols, K);
      for (int64_t rows : {1, 7, 8, 9, 17, 31, 32})
        for (bool signed_codes : {false, true}) {
          // Stale bytes in the buffers: the packer must write every code and scale, the empty columns' too.
          std::vector<uint8_t> u(static_cast<size_t>(K * kI8PanelCols), 0x5A), u_ref(u.size());
          std::vector<float> wd(static_cast<size_t>(nb * kI8PanelCols), 7.0f), wm(wd.size(), 7.0f), wd_ref(wd.size()),
              wm_ref(wd.size(), 7.0f);
          (kernels_for(isa)->*pack)(u.data(), wd.data(), wm.data(), wq.data(), wrb, rows, K, signed_codes);
          (def.*pack)(u_ref.data(), wd_ref.data(), wm_ref.data(), wq.data(), wrb, rows, K, signed_codes);
          INFO(std::string(isa_name(isa)), " ", dtype_name(wt), " rows ", rows, " signed ", signed_codes);
          CHECK(u == u_ref);
          CHECK(wd == wd_ref);
          CHECK(wm == wm_ref);
        }
    }
}

TEST_CASE("every x86 table with AVX2 has an integer panel kernel: maddubs without VNNI, vpdpbusd with it") {
  const KernelTable* avx2 = kernels_for(Isa::Avx2);
  if (!avx2) return;  // not an AVX2 build or CPU
  // EDGELLM_ISA=avx2 picks this table (what an AVX2-only CPU gets): prompts take the panel, not dequantize + f32.
  CHECK(std::string(avx2->i8_panel_ukernel_isa) == "avx2");
  CHECK(std::string(avx2->i8_panel_pack_q4_k_isa) == "avx2");
  CHECK(avx2->i8_panel_signed_codes);
  for (DType wt : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K})
    CHECK(i8_panel_supported(wt, *avx2));
  if (const KernelTable* avx512 = kernels_for(Isa::Avx512)) {
    const std::string want = cpu_features().avx512vnni ? "avx512vnni" : "avx2";
    CHECK(std::string(avx512->i8_panel_ukernel_isa) == want);
    CHECK(avx512->i8_panel_signed_codes == (want == "avx2"));
  }
}

TEST_CASE(
    "matmul_i8_panel equals matmul_quant and dequantize + f32 within the "
    "activation bound") {
  set_num_threads(2);
  for (Isa isa : available_isas()) {
    const KernelTable& t = *kernels_for(isa);
    for (DType wt : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K})
      for (const auto& shape :
           {std::tuple<int64_t, int64_t, int64_t>{33, 45, 256}, {70, 96, 256 * 3}, {6, 31, 512}, {5, 75, 256}}) {
        // Plain copies: clang 14 cannot capture structured bindings in doctest's INFO.
        const int64_t M = std::get<0>(shape), N = std::get<1>(shape), K = std::get<2>(shape);
        const QType& qw = qtype(wt);
        const auto wq = quantize(qw, random_weights(N * K, 5, 0.05f), N, K);
        const auto w_true = dequantize(qw, wq, N, K);
        const auto x = random_weights(M * K, 6);
        std::vector<float> y(static_cast<size_t>(M * N), NAN), yq(static_cast<size_t>(M * N));
        matmul_i8_panel(y.data(), x.data(), wq.data(), wt, M, N, K, t);
        matmul_quant(yq.data(), x.data(), wq.data(), wt, M, N, K, t);
        for (int64_t m = 0; m < M; ++m)
          for (int64_t n = 0; n < N; ++n) {
            double ref = 0, bound = 1e-5, mag = 0;
            for (int64_t k0 = 0; k0 < K; k0 += 32) {
              float amax = 0;
              for (int64_t k = k0; k < k0 + 32; ++k) amax = std::max(amax, std::fabs(x[m * K + k]));
              for (int64_t k = k0; k < k0 + 32; ++k) {
                ref += double(w_true[n * K + k]) * x[m * K + k];
                mag += std::fabs(w_true[n * K + k] * x[m * K + k]);
                bound += std::fabs(w_true[n * K + k]) * (amax / 127.0) * 0.57;
              }
            }
            const float got = y[static_cast<size_t>(m * N + n)];
            INFO(isa_name(isa), " ", dtype_name(wt), " M ", M, " N ", N, " K ", K, " m ", m, " n ", n);
            CHECK(std::fabs(got - ref) <= bound + 1e-6 * mag);
            // Q4_0 / Q8_0: the same integer products as the vec_dot path (Q8_0 activations); only the float summation
            // order differs. (The K-quants' vec_dot quantizes activations per 256, not per 32.)
            if (wt == DType::Q4_0 || wt == DType::Q8_0)
              CHECK(std::fabs(got - yq[static_cast<size_t>(m * N + n)]) <= 1e-5 * (1.0 + mag));
          }
      }
  }
  set_num_threads(0);
}

TEST_CASE("matmul_i8_panel rejects other weight types and K off the block") {
  std::vector<float> x(64), y(4);
  std::vector<uint8_t> w(1024);
  CHECK_THROWS_AS(matmul_i8_panel(y.data(), x.data(), w.data(), DType::Q2_K, 1, 1, 256), Error);
  CHECK_THROWS_AS(matmul_i8_panel(y.data(), x.data(), w.data(), DType::Q6_K, 1, 1, 128), Error);
  CHECK_THROWS_AS(matmul_i8_panel(y.data(), x.data(), w.data(), DType::Q4_K, 1, 1, 64), Error);
  CHECK_THROWS_AS(matmul_i8_panel(y.data(), x.data(), w.data(), DType::Q4_0, 1, 1, 48), Error);
  CHECK(i8_panel_supported(DType::Q4_0, *kernels_for(Isa::Scalar)) == false);  // the definition is not fast
}
