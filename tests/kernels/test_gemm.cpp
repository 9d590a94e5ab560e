// Tests of gemm_f32 / gemm_f32_w16 on every available ISA against the naive double-accumulating
// reference: all transposes, ragged sizes, alpha/beta, padded strides, 1 and 2 threads. No timing here.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/ref/gemm.h"
#include "runtime/error.h"
#include "runtime/parallel.h"

namespace {

using namespace edgellm;

std::vector<float> randv(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// Restores the thread count when a test ends.
struct ThreadsGuard {
  int saved = num_threads();
  ~ThreadsGuard() { set_num_threads(saved); }
};

struct Case {
  int64_t M, N, K;
  Trans ta, tb;
  float alpha, beta;
  int64_t pad;  // extra elements on every leading dimension
};

// Stored (rows, cols) of op(X) (r, c) under transpose t.
int64_t stored_rows(Trans t, int64_t r, int64_t c) { return t == Trans::N ? r : c; }
int64_t stored_cols(Trans t, int64_t r, int64_t c) { return t == Trans::N ? c : r; }

// Runs one case for table kt through `run` (f32 or widened weights) and compares with the reference.
// The tolerance scales with sqrt(K): f32 sums in blocked order vs a double sum.
template <class Run>
void check_case(const Case& c, std::mt19937& rng, Run&& run, const std::vector<float>* b_override = nullptr) {
  const int64_t lda = stored_cols(c.ta, c.M, c.K) + c.pad, ldb = stored_cols(c.tb, c.K, c.N) + c.pad, ldc = c.N + c.pad;
  const auto A = randv(static_cast<size_t>(stored_rows(c.ta, c.M, c.K) * lda), rng);
  const auto B = b_override ? *b_override : randv(static_cast<size_t>(stored_rows(c.tb, c.K, c.N) * ldb), rng);
  auto C = randv(static_cast<size_t>(c.M * ldc), rng);
  if (c.beta == 0.0f)  // beta == 0 must not read C: poison it
    for (auto& x : C) x = std::nanf("");
  auto want = C;
  ref::gemm_naive<float>(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, want.data(), ldc);
  run(A.data(), lda, B, ldb, C.data(), ldc);
  const float tol = 2e-6f * std::sqrt(static_cast<float>(c.K) + 1.0f) * 4.0f + 1e-6f;
  int bad = 0;
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      const float got = C[i * ldc + j], w = want[i * ldc + j];
      if (!(std::fabs(got - w) <= tol * (1.0f + std::fabs(w))) && bad++ < 3)
        FAIL_CHECK("C[" << i << "," << j << "] = " << got << ", want " << w);
    }
  CHECK(bad == 0);
  // Padding columns of C are never written.
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = c.N; j < ldc; ++j)
      if (!(C[i * ldc + j] == want[i * ldc + j] || (std::isnan(C[i * ldc + j]) && std::isnan(want[i * ldc + j]))))
        FAIL_CHECK("padding C[" << i << "," << j << "] was written");
}

std::vector<Case> cases(std::mt19937& rng) {
  const int64_t sizes[] = {1, 2, 7, 13, 33, 47, 100, 257};
  std::vector<Case> cs;
  const Trans tr[] = {Trans::N, Trans::T};
  // Every transpose pair on a few fixed ragged shapes, then random shapes.
  for (Trans ta : tr)
    for (Trans tb : tr) {
      cs.push_back({7, 33, 257, ta, tb, 1.0f, 0.0f, 0});
      cs.push_back({1, 257, 33, ta, tb, 0.5f, 1.0f, 3});  // GEMV path
      cs.push_back({33, 1, 100, ta, tb, 1.0f, 0.5f, 1});
      cs.push_back({47, 65, 300, ta, tb, -1.5f, 1.0f, 5});  // K crosses kc = 256
      cs.push_back({150, 70, 20, ta, tb, 1.0f, 0.0f, 0});   // several MR tiles, M > mc for the scalar table
    }
  std::uniform_int_distribution<int> pick(0, 7), tpick(0, 1), bpick(0, 2);
  const float betas[] = {0.0f, 1.0f, -0.75f};
  for (int i = 0; i < 10; ++i)
    cs.push_back({sizes[pick(rng)], sizes[pick(rng)], sizes[pick(rng)], tr[tpick(rng)], tr[tpick(rng)], 0.75f,
                  betas[bpick(rng)], static_cast<int64_t>(tpick(rng) * 9)});
  return cs;
}

}  // namespace

TEST_CASE("gemm_f32 matches the naive reference on every ISA, transpose, alpha/beta and thread count") {
  ThreadsGuard guard;
  for (Isa isa : available_isas()) {
    const KernelTable& kt = *kernels_for(isa);
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      std::mt19937 rng(1234);
      for (const Case& c : cases(rng)) {
        CAPTURE(isa_name(isa));
        CAPTURE(threads);
        CAPTURE(c.M);
        CAPTURE(c.N);
        CAPTURE(c.K);
        CAPTURE(static_cast<int>(c.ta));
        CAPTURE(static_cast<int>(c.tb));
        CAPTURE(c.beta);
        check_case(c, rng,
                   [&](const float* A, int64_t lda, const std::vector<float>& B, int64_t ldb, float* C, int64_t ldc) {
                     gemm_f32(kt, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, lda, B.data(), ldb, c.beta, C, ldc);
                   });
      }
    }
  }
}

TEST_CASE("gemm_f32 on larger shapes splits over 2 threads without seams (shared-A and grid paths)") {
  ThreadsGuard guard;
  set_num_threads(2);
  std::mt19937 rng(7);
  // x·Wᵀ, wide N (threads share packed A); M > mc and K > kc; tall and narrow N (grid split over M).
  const Case big[] = {{70, 300, 530, Trans::N, Trans::T, 1.0f, 0.0f, 0},
                      {200, 300, 300, Trans::T, Trans::N, 0.5f, -1.0f, 3},
                      {300, 40, 100, Trans::N, Trans::N, 1.0f, 1.0f, 0},
                      // A·B (dX = dY·W): K past kc, M past mc, a ragged last panel
                      {200, 300, 530, Trans::N, Trans::N, 1.0f, 0.0f, 0},
                      // GEMV over threads in dynamic chunks: rows of W, and columns of B (K, N)
                      {1, 3001, 300, Trans::N, Trans::T, 1.0f, 0.5f, 0},
                      {1, 3001, 300, Trans::T, Trans::N, 2.0f, 0.0f, 2}};
  for (bool shared_a : {false, true}) {
    detail::gemm_set_shared_a(shared_a);
    for (Isa isa : available_isas()) {
      if (isa == Isa::Scalar) continue;
      const KernelTable& kt = *kernels_for(isa);
      for (const Case& c : big) {
        CAPTURE(shared_a);
        CAPTURE(isa_name(isa));
        CAPTURE(c.M);
        CAPTURE(c.N);
        check_case(c, rng,
                   [&](const float* A, int64_t lda, const std::vector<float>& B, int64_t ldb, float* C, int64_t ldc) {
                     gemm_f32(kt, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, lda, B.data(), ldb, c.beta, C, ldc);
                   });
      }
    }
  }
  detail::gemm_set_shared_a(false);
}

TEST_CASE("gemm_f32_w16 with f16 and bf16 weights matches the reference on the widened weights") {
  ThreadsGuard guard;
  for (Isa isa : available_isas()) {
    const KernelTable& kt = *kernels_for(isa);
    for (DType wt : {DType::F16, DType::BF16}) {
      for (int threads : {1, 2}) {
        set_num_threads(threads);
        std::mt19937 rng(99);
        for (const Case& c : cases(rng)) {
          CAPTURE(isa_name(isa));
          CAPTURE(dtype_name(wt));
          CAPTURE(threads);
          CAPTURE(c.M);
          CAPTURE(c.N);
          CAPTURE(c.K);
          CAPTURE(static_cast<int>(c.tb));
          // Round random weights to the 16-bit type; the reference multiplies the widened values.
          const int64_t ldb = stored_cols(c.tb, c.K, c.N) + c.pad;
          const auto raw = randv(static_cast<size_t>(stored_rows(c.tb, c.K, c.N) * ldb), rng);
          std::vector<uint16_t> w16(raw.size());
          std::vector<float> widened(raw.size());
          for (size_t i = 0; i < raw.size(); ++i) {
            w16[i] = wt == DType::F16 ? f32_to_f16(raw[i]) : f32_to_bf16(raw[i]);
            widened[i] = wt == DType::F16 ? f16_to_f32(w16[i]) : bf16_to_f32(w16[i]);
          }
          check_case(
              c, rng,
              [&](const float* A, int64_t lda, const std::vector<float>&, int64_t ldb_, float* C, int64_t ldc) {
                gemm_f32_w16(kt, wt, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, lda, w16.data(), ldb_, c.beta, C, ldc);
              },
              &widened);
        }
      }
    }
  }
}

TEST_CASE("gemm_f32 rejects bad sizes and strides with an Error naming the field") {
  float a[4] = {}, b[4] = {}, c[4] = {};
  CHECK_THROWS_AS(gemm_f32(Trans::N, Trans::N, 2, 2, 2, 1.0f, a, 1, b, 2, 0.0f, c, 2), Error);
  CHECK_THROWS_AS(gemm_f32(Trans::N, Trans::T, 2, 2, -1, 1.0f, a, 2, b, 2, 0.0f, c, 2), Error);
  CHECK_THROWS_AS(gemm_f32_w16(DType::F32, Trans::N, Trans::T, 2, 2, 2, 1.0f, a, 2, nullptr, 2, 0.0f, c, 2), Error);
  // K == 0: C = beta * C, no product.
  c[0] = 2.0f;
  gemm_f32(Trans::N, Trans::N, 1, 1, 0, 1.0f, a, 1, b, 1, 0.5f, c, 1);
  CHECK(c[0] == 1.0f);
}

TEST_CASE("sgemm micro-kernel and packers of every ISA match their definitions on edge tiles") {
  std::mt19937 rng(5);
  for (Isa isa : available_isas()) {
    const KernelTable& kt = *kernels_for(isa);
    const int MR = kt.sgemm_block.mr, NR = kt.sgemm_block.nr;
    for (int64_t kc : {1, 7, 259}) {
      // Packers: rows of W into (kc, NR), rows of A into (kc, MR), alpha applied, padding zeroed.
      const int64_t ld = kc + 5;
      const auto w = randv(static_cast<size_t>(NR * ld), rng);
      for (int64_t rows : {int64_t{1}, int64_t{NR - 1}, int64_t{NR}}) {
        std::vector<float> bp(static_cast<size_t>(kc * NR), -7.0f);
        kt.sgemm_pack_bt(bp.data(), w.data(), ld, kc, rows);
        int bad = 0;
        for (int64_t k = 0; k < kc; ++k)
          for (int64_t j = 0; j < NR; ++j) bad += bp[k * NR + j] != (j < rows ? w[j * ld + k] : 0.0f);
        CHECK_MESSAGE(bad == 0, isa_name(isa) << " sgemm_pack_bt kc=" << kc << " rows=" << rows);
      }
      for (int64_t rows : {int64_t{1}, int64_t{MR - 1}, int64_t{MR}}) {
        std::vector<float> ap(static_cast<size_t>(kc * MR), -7.0f);
        kt.sgemm_pack_an(ap.data(), w.data(), ld, kc, rows, 0.5f);
        int bad = 0;
        for (int64_t k = 0; k < kc; ++k)
          for (int64_t i = 0; i < MR; ++i) bad += ap[k * MR + i] != (i < rows ? 0.5f * w[i * ld + k] : 0.0f);
        CHECK_MESSAGE(bad == 0, isa_name(isa) << " sgemm_pack_an kc=" << kc << " rows=" << rows);
      }
      // Micro-kernel: every (m, n) edge, overwrite and accumulate, C columns past n untouched.
      const auto ap = randv(static_cast<size_t>(kc * MR), rng), bp = randv(static_cast<size_t>(kc * NR), rng);
      for (int64_t m : {int64_t{1}, int64_t{MR - 1}, int64_t{MR}})
        for (int64_t n : {int64_t{1}, int64_t{NR - 1}, int64_t{NR}})
          for (bool acc : {false, true}) {
            const int64_t ldc = NR + 3;
            auto c = randv(static_cast<size_t>(MR * ldc), rng);
            const auto c0 = c;
            kt.sgemm_ukernel(kc, ap.data(), bp.data(), c.data(), ldc, m, n, acc);
            int bad = 0;
            for (int64_t i = 0; i < MR; ++i)
              for (int64_t j = 0; j < ldc; ++j) {
                double want = c0[i * ldc + j];
                if (i < m && j < n) {
                  double s = 0;
                  for (int64_t k = 0; k < kc; ++k) s += double(ap[k * MR + i]) * bp[k * NR + j];
                  want = acc ? want + s : s;
                }
                bad += std::fabs(c[i * ldc + j] - want) > 1e-5 * (1.0 + std::fabs(want)) * std::sqrt(double(kc));
              }
            CHECK_MESSAGE(bad == 0, isa_name(isa) << " sgemm_ukernel kc=" << kc << " m=" << m << " n=" << n
                                                  << " acc=" << acc);
          }
    }
  }
}
