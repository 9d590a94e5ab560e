// Every basic-op kernel of every usable ISA against the scalar table, on random inputs of ragged sizes.
// Not a check of the scalar math itself: test_gradients.cpp does that against finite differences.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/kernel_table.h"

using namespace edgellm;
using edgellm::test::check_close;
using edgellm::test::kRaggedSizes;
using edgellm::test::uniform;
using edgellm::test::uniform_with_outliers;

namespace {

// ---- tolerances (|simd − scalar| <= atol + rtol·|scalar|) ---------------------------------------
// add/mul/scale forward are one IEEE operation per element in both paths: bitwise equal.
constexpr double kExact = 0.0;
// Backward of add/mul/scale: SIMD fuses (fma) where the scalar rounds twice, one rounding of the
// O(1) accumulated values apart at most; atol covers cancellation of the gradient start value.
constexpr double kFmaRtol = 2e-7, kFmaAtol = 2e-6;
// silu/swiglu: xsimd::exp is a polynomial approximation (about 1 ulp) against libm's expf;
// the sigmoid divides and multiplies it, a few ulp in all.
constexpr double kExpRtol = 4e-6, kExpAtol = 1e-6;
// gelu: xsimd::tanh is a rational/exp approximation; the backward's (1 − tanh²) cancels near
// saturation and scales the tanh error by x·du (up to about 10 for |x| <= 8).
constexpr double kTanhRtol = 4e-6, kTanhAtol = 4e-6;
// rmsnorm/softmax reduce rows in W-wide partial sums, not left to right: the sum's relative error
// grows like sqrt(C)·eps for C up to 4099, plus the exp approximation for softmax.
constexpr double kRowRtol = 5e-6, kRowAtol = 1e-6;
// rmsnorm/softmax backward subtract a reduced dot product (k·x, y·dot) from a pointwise term.
constexpr double kRowBwdRtol = 1e-5, kRowBwdAtol = 2e-6;
// rope: the SIMD rotation fuses one of its two products (fma/fms), the scalar rounds each.
constexpr double kRopeRtol = 1e-6, kRopeAtol = 1e-6;

// The basic ops every SIMD table must provide from its own ISA (not inherited from scalar).
const char* const kBasicOps[] = {"add_forward",     "add_backward",     "mul_forward",      "mul_backward",
                                 "scale_forward",   "scale_backward",   "silu_forward",     "silu_backward",
                                 "gelu_forward",    "gelu_backward",    "swiglu_forward",   "swiglu_backward",
                                 "rmsnorm_forward", "rmsnorm_backward", "softmax_forward",  "softmax_backward",
                                 "rope_forward",    "rope_backward",    "adamw_f32",        "sumsq_f32",
                                 "layernorm_forward", "softcap_forward"};

std::string at_n(const char* op, int64_t n) { return std::string(op) + " n=" + std::to_string(n); }
std::string at_rc(const char* op, int64_t rows, int64_t C) {
  return std::string(op) + " rows=" + std::to_string(rows) + " C=" + std::to_string(C);
}

}  // namespace

TEST_CASE("every kernel is filled in every usable ISA table, basic ops by that ISA") {
  for (Isa isa : available_isas()) {
    const KernelTable* k = kernels_for(isa);
    REQUIRE(k != nullptr);
    CHECK(k->isa == isa);
#define EDGELLM_CHECK_FILLED(name) CHECK_MESSAGE(bool(k->name != nullptr), #name " is null in " << std::string(isa_name(isa)));
    EDGELLM_KERNELS(EDGELLM_CHECK_FILLED)
#undef EDGELLM_CHECK_FILLED
    for (const auto& entry : kernel_isa_list(*k)) {
      const std::string &name = entry.first, &who = entry.second;  // (no structured binding: clang 14 cannot capture one)
      if (isa == Isa::Scalar) CHECK_MESSAGE(who == "scalar", name << " is " << who << " in the scalar table");
      for (const char* op : kBasicOps)
        if (isa != Isa::Scalar && name == op)
          CHECK_MESSAGE(who == isa_name(isa), name << " in the " << std::string(isa_name(isa)) << " table comes from " << who);
    }
  }
}

TEST_CASE("add, mul, scale: forward and accumulating backward match scalar") {
  test::for_each_simd_isa("add/mul/scale", [](Isa, const KernelTable& k, const KernelTable& s) {
    for (int64_t n : kRaggedSizes) {
      const size_t N = static_cast<size_t>(n);
      const auto a = uniform(N, -4, 4), b = uniform(N, -4, 4), dy = uniform(N, -2, 2);
      const auto g0a = uniform(N, -1, 1), g0b = uniform(N, -1, 1);  // gradients accumulate onto these
      const float sc = uniform(1, -3, 3)[0];
      std::vector<float> y1(N), y2(N);

      s.add_forward(y1.data(), a.data(), b.data(), n);
      k.add_forward(y2.data(), a.data(), b.data(), n);
      check_close(at_n("add_forward", n), y2, y1, kExact, kExact);
      s.mul_forward(y1.data(), a.data(), b.data(), n);
      k.mul_forward(y2.data(), a.data(), b.data(), n);
      check_close(at_n("mul_forward", n), y2, y1, kExact, kExact);
      s.scale_forward(y1.data(), a.data(), sc, n);
      k.scale_forward(y2.data(), a.data(), sc, n);
      check_close(at_n("scale_forward", n), y2, y1, kExact, kExact);

      auto da1 = g0a, db1 = g0b, da2 = g0a, db2 = g0b;
      s.add_backward(da1.data(), db1.data(), dy.data(), n);
      k.add_backward(da2.data(), db2.data(), dy.data(), n);
      check_close(at_n("add_backward da", n), da2, da1, kExact, kExact);
      check_close(at_n("add_backward db", n), db2, db1, kExact, kExact);

      da1 = g0a, db1 = g0b, da2 = g0a, db2 = g0b;
      s.mul_backward(da1.data(), db1.data(), dy.data(), a.data(), b.data(), n);
      k.mul_backward(da2.data(), db2.data(), dy.data(), a.data(), b.data(), n);
      check_close(at_n("mul_backward da", n), da2, da1, kFmaRtol, kFmaAtol);
      check_close(at_n("mul_backward db", n), db2, db1, kFmaRtol, kFmaAtol);

      da1 = g0a, da2 = g0a;
      s.scale_backward(da1.data(), dy.data(), sc, n);
      k.scale_backward(da2.data(), dy.data(), sc, n);
      check_close(at_n("scale_backward", n), da2, da1, kFmaRtol, kFmaAtol);
    }
  });
}

TEST_CASE("silu, gelu, swiglu: forward and accumulating backward match scalar") {
  test::for_each_simd_isa("silu/gelu/swiglu", [](Isa, const KernelTable& k, const KernelTable& s) {
    for (int64_t n : kRaggedSizes) {
      const size_t N = static_cast<size_t>(n);
      const auto x = uniform_with_outliers(N, -8, 8), up = uniform(N, -3, 3), dy = uniform(N, -2, 2);
      const auto g0 = uniform(N, -1, 1), g1 = uniform(N, -1, 1);
      std::vector<float> y1(N), y2(N);

      s.silu_forward(y1.data(), x.data(), n);
      k.silu_forward(y2.data(), x.data(), n);
      check_close(at_n("silu_forward", n), y2, y1, kExpRtol, kExpAtol);
      s.gelu_forward(y1.data(), x.data(), n);
      k.gelu_forward(y2.data(), x.data(), n);
      check_close(at_n("gelu_forward", n), y2, y1, kTanhRtol, kTanhAtol);
      s.swiglu_forward(y1.data(), x.data(), up.data(), n);
      k.swiglu_forward(y2.data(), x.data(), up.data(), n);
      check_close(at_n("swiglu_forward", n), y2, y1, kExpRtol, kExpAtol);

      auto d1 = g0, d2 = g0;
      s.silu_backward(d1.data(), dy.data(), x.data(), n);
      k.silu_backward(d2.data(), dy.data(), x.data(), n);
      check_close(at_n("silu_backward", n), d2, d1, kExpRtol, kExpAtol);
      d1 = g0, d2 = g0;
      s.gelu_backward(d1.data(), dy.data(), x.data(), n);
      k.gelu_backward(d2.data(), dy.data(), x.data(), n);
      check_close(at_n("gelu_backward", n), d2, d1, kTanhRtol, kTanhAtol);
      d1 = g0, d2 = g0;
      auto u1 = g1, u2 = g1;
      s.swiglu_backward(d1.data(), u1.data(), dy.data(), x.data(), up.data(), n);
      k.swiglu_backward(d2.data(), u2.data(), dy.data(), x.data(), up.data(), n);
      check_close(at_n("swiglu_backward dgate", n), d2, d1, kExpRtol, kExpAtol);
      check_close(at_n("swiglu_backward dup", n), u2, u1, kExpRtol, kExpAtol);
    }
  });
}

TEST_CASE("rmsnorm: forward (with and without rstd) and accumulating backward match scalar") {
  test::for_each_simd_isa("rmsnorm", [](Isa, const KernelTable& k, const KernelTable& s) {
    const float eps = 1e-5f;
    for (int64_t rows : {1, 3})
      for (int64_t C : kRaggedSizes) {
        const size_t N = static_cast<size_t>(rows * C), R = static_cast<size_t>(rows), CC = static_cast<size_t>(C);
        const auto x = uniform(N, -3, 3), w = uniform(CC, 0.5, 1.5), dy = uniform(N, -1, 1);
        const auto g0x = uniform(N, -1, 1), g0w = uniform(CC, -1, 1);
        std::vector<float> y1(N), y2(N), y3(N), r1(R), r2(R);
        s.rmsnorm_forward(y1.data(), r1.data(), x.data(), w.data(), rows, C, eps);
        k.rmsnorm_forward(y2.data(), r2.data(), x.data(), w.data(), rows, C, eps);
        k.rmsnorm_forward(y3.data(), nullptr, x.data(), w.data(), rows, C, eps);
        check_close(at_rc("rmsnorm_forward y", rows, C), y2, y1, kRowRtol, kRowAtol);
        check_close(at_rc("rmsnorm_forward rstd", rows, C), r2, r1, kRowRtol, 0);
        check_close(at_rc("rmsnorm_forward y (rstd null)", rows, C), y3, y2, kExact, kExact);

        // Both backwards take the scalar rstd so that only the backward itself is compared.
        auto dx1 = g0x, dx2 = g0x, dw1 = g0w, dw2 = g0w;
        s.rmsnorm_backward(dx1.data(), dw1.data(), dy.data(), x.data(), w.data(), r1.data(), rows, C);
        k.rmsnorm_backward(dx2.data(), dw2.data(), dy.data(), x.data(), w.data(), r1.data(), rows, C);
        check_close(at_rc("rmsnorm_backward dx", rows, C), dx2, dx1, kRowBwdRtol, kRowBwdAtol);
        check_close(at_rc("rmsnorm_backward dw", rows, C), dw2, dw1, kRowBwdRtol, kRowBwdAtol);
      }
  });
}

TEST_CASE("softmax: forward and accumulating backward match scalar, and stay stable for large inputs") {
  test::for_each_simd_isa("softmax", [](Isa, const KernelTable& k, const KernelTable& s) {
    for (int64_t rows : {1, 3})
      for (int64_t C : kRaggedSizes) {
        const size_t N = static_cast<size_t>(rows * C);
        // Scores spread over ±20 make the row max matter; the +1000 shift would overflow exp
        // without the max subtraction.
        for (double shift : {0.0, 1000.0}) {
          auto x = uniform(N, -20, 20);
          for (auto& v : x) v += static_cast<float>(shift);
          const auto dy = uniform(N, -1, 1), g0 = uniform(N, -0.1, 0.1);
          std::vector<float> y1(N), y2(N);
          s.softmax_forward(y1.data(), x.data(), rows, C);
          k.softmax_forward(y2.data(), x.data(), rows, C);
          const std::string tag = at_rc("softmax", rows, C) + " shift=" + std::to_string(static_cast<int>(shift));
          check_close(tag + " forward", y2, y1, kRowRtol, kRowAtol);
          for (int64_t r = 0; r < rows; ++r) {
            double sum = 0;
            for (int64_t i = 0; i < C; ++i) sum += y2[static_cast<size_t>(r * C + i)];
            CHECK_MESSAGE(std::fabs(sum - 1.0) < 1e-5, tag << " row " << r << " sums to " << sum);
          }
          auto d1 = g0, d2 = g0;
          s.softmax_backward(d1.data(), dy.data(), y1.data(), rows, C);
          k.softmax_backward(d2.data(), dy.data(), y1.data(), rows, C);
          check_close(tag + " backward", d2, d1, kRowBwdRtol, kRowBwdAtol);
        }
      }
  });
}

TEST_CASE("softmax: -inf entries (an attention mask) get exactly zero weight") {
  test::for_each_simd_isa("softmax masked", [](Isa, const KernelTable& k, const KernelTable& s) {
    for (int64_t C : kRaggedSizes) {
      const int64_t rows = 2;
      const size_t N = static_cast<size_t>(rows * C);
      auto x = uniform(N, -5, 5);
      // Mask the upper triangle of a causal row pattern: keep the first half(+1) of each row.
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = C / 2 + 1; i < C; ++i) x[static_cast<size_t>(r * C + i)] = -INFINITY;
      std::vector<float> y1(N), y2(N);
      s.softmax_forward(y1.data(), x.data(), rows, C);
      k.softmax_forward(y2.data(), x.data(), rows, C);
      check_close(at_rc("softmax masked", rows, C), y2, y1, kRowRtol, kRowAtol);
      int nonzero_masked = 0;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = C / 2 + 1; i < C; ++i) nonzero_masked += y2[static_cast<size_t>(r * C + i)] != 0.0f;
      CHECK(nonzero_masked == 0);
    }
  });
}

TEST_CASE("rope: both pairings, out of place and in place, forward and accumulating backward match scalar") {
  const std::vector<int64_t> dims = {2, 6, 16, 64, 128};
  test::for_each_simd_isa("rope", [&](Isa, const KernelTable& k, const KernelTable& s) {
    for (RopePairing p : {RopePairing::Interleaved, RopePairing::NeoX})
      for (int64_t T : dims)
        for (int64_t NH : dims)
          for (int64_t HD : dims) {
            // Every value of each dim runs, but not the largest products (keeps the case well under a second).
            if (T * NH * HD > (int64_t{1} << 16)) continue;
            const size_t N = static_cast<size_t>(T * NH * HD), H = static_cast<size_t>(T * HD / 2);
            const auto x = uniform(N, -2, 2), dy = uniform(N, -2, 2), g0 = uniform(N, -1, 1);
            const auto theta = uniform<double>(H, -10, 10);
            std::vector<float> c(H), sn(H);
            for (size_t i = 0; i < H; ++i) {
              c[i] = static_cast<float>(std::cos(theta[i]));
              sn[i] = static_cast<float>(std::sin(theta[i]));
            }
            const std::string tag = std::string(p == RopePairing::NeoX ? "neox" : "interleaved") + " T=" +
                                    std::to_string(T) + " NH=" + std::to_string(NH) + " HD=" + std::to_string(HD);
            std::vector<float> y1(N), y2(N);
            s.rope_forward(y1.data(), x.data(), c.data(), sn.data(), T, NH, HD, p);
            k.rope_forward(y2.data(), x.data(), c.data(), sn.data(), T, NH, HD, p);
            check_close(tag + " rope_forward", y2, y1, kRopeRtol, kRopeAtol);
            auto inplace = x;  // y == x is allowed
            k.rope_forward(inplace.data(), inplace.data(), c.data(), sn.data(), T, NH, HD, p);
            check_close(tag + " rope_forward in place", inplace, y1, kRopeRtol, kRopeAtol);

            auto d1 = g0, d2 = g0;
            s.rope_backward(d1.data(), dy.data(), c.data(), sn.data(), T, NH, HD, p);
            k.rope_backward(d2.data(), dy.data(), c.data(), sn.data(), T, NH, HD, p);
            check_close(tag + " rope_backward", d2, d1, kRopeRtol, kRopeAtol);
          }
  });
}

TEST_CASE("rope: a head dim past the SIMD bodies' stack buffers (HD = 2048) still matches scalar") {
  test::for_each_simd_isa("rope HD=2048", [](Isa, const KernelTable& k, const KernelTable& s) {
    const int64_t T = 2, NH = 1, HD = 2048;
    const size_t N = static_cast<size_t>(T * NH * HD), H = static_cast<size_t>(T * HD / 2);
    const auto x = uniform(N, -2, 2), c = uniform(H, -1, 1), sn = uniform(H, -1, 1), g0 = uniform(N, -1, 1);
    for (RopePairing p : {RopePairing::Interleaved, RopePairing::NeoX}) {
      std::vector<float> y1(N), y2(N);
      s.rope_forward(y1.data(), x.data(), c.data(), sn.data(), T, NH, HD, p);
      k.rope_forward(y2.data(), x.data(), c.data(), sn.data(), T, NH, HD, p);
      check_close("rope_forward HD=2048", y2, y1, kRopeRtol, kRopeAtol);
      auto d1 = g0, d2 = g0;
      s.rope_backward(d1.data(), x.data(), c.data(), sn.data(), T, NH, HD, p);
      k.rope_backward(d2.data(), x.data(), c.data(), sn.data(), T, NH, HD, p);
      check_close("rope_backward HD=2048", d2, d1, kRopeRtol, kRopeAtol);
    }
  });
}

TEST_CASE("rope: scalar in place equals scalar out of place, and backward inverts forward") {
  const KernelTable& s = *kernels_for(Isa::Scalar);
  for (RopePairing p : {RopePairing::Interleaved, RopePairing::NeoX}) {
    const int64_t T = 3, NH = 2, HD = 16;
    const size_t N = static_cast<size_t>(T * NH * HD), H = static_cast<size_t>(T * HD / 2);
    const auto x = uniform(N, -2, 2);
    const auto theta = uniform<double>(H, -3, 3);
    std::vector<float> c(H), sn(H), y(N), back(N, 0.0f);
    for (size_t i = 0; i < H; ++i) c[i] = static_cast<float>(std::cos(theta[i])), sn[i] = static_cast<float>(std::sin(theta[i]));
    s.rope_forward(y.data(), x.data(), c.data(), sn.data(), T, NH, HD, p);
    auto inplace = x;
    s.rope_forward(inplace.data(), inplace.data(), c.data(), sn.data(), T, NH, HD, p);
    check_close("scalar rope in place", inplace, y, kExact, kExact);
    // The rotation is orthogonal: its transpose (the backward, from zero) undoes it.
    s.rope_backward(back.data(), y.data(), c.data(), sn.data(), T, NH, HD, p);
    check_close("rope_backward(rope_forward(x))", back, x, 1e-6, 1e-6);
  }
}

TEST_CASE("adamw_f32 and sumsq_f32 match scalar (clip scale folded in)") {
  test::for_each_simd_isa("adamw/sumsq", [](Isa, const KernelTable& k, const KernelTable& s) {
    for (int64_t n : kRaggedSizes) {
      const size_t N = static_cast<size_t>(n);
      const auto w0 = uniform(N, -1, 1), g = uniform_with_outliers(N, -1e-2, 1e-2);
      const auto m0 = uniform(N, -1e-3, 1e-3), v0 = uniform(N, 0, 1e-5);
      AdamWCoef c;
      c.grad_scale = 0.37f, c.decay = 1.0f - 1e-5f, c.step_size = 1e-3f / 0.19f, c.bc2_sqrt = 0.0447f;
      auto w1 = w0, m1 = m0, v1 = v0, w2 = w0, m2 = m0, v2 = v0;
      s.adamw_f32(w1.data(), m1.data(), v1.data(), g.data(), n, c);
      k.adamw_f32(w2.data(), m2.data(), v2.data(), g.data(), n, c);
      // SIMD may fuse β·m + (1−β)·g into one FMA: an ulp of m or v, and of the update through them.
      check_close(at_n("adamw m", n), m2, m1, kFmaRtol, 1e-10);
      check_close(at_n("adamw v", n), v2, v1, kFmaRtol, 1e-12);
      check_close(at_n("adamw w", n), w2, w1, kFmaRtol, 1e-8);
      bool moved = false;
      for (size_t i = 0; i < N; ++i) moved |= w2[i] != w0[i];
      CHECK(moved);
      const double a = s.sumsq_f32(g.data(), n), b = k.sumsq_f32(g.data(), n);
      CHECK_MESSAGE(std::abs(a - b) <= 1e-6 * a, "sumsq n=" << n << " " << b << " vs " << a);
    }
  });
}
