// f16/bf16 <-> f32 conversions: every ISA bitwise against scalar; scalar against _Float16 (x86_64) and a double RNE.
// Not a check of NaN payloads: any NaN in gives some NaN out, which is all edgellm relies on.
#include <doctest/doctest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <limits>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/kernel_table.h"
#include "runtime/dtype.h"

using namespace edgellm;

namespace {

constexpr uint32_t kHalfInfBits = 0x7c00u;

// doctest's message streams drop std::hex, so hex is formatted here.
std::string hex(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%x", v);
  return b;
}

bool half_is_nan(uint16_t h) { return (h & 0x7fffu) > kHalfInfBits; }
bool bf16_is_nan(uint16_t b) { return (b & 0x7fffu) > 0x7f80u; }

// The value of half bits, decoded by the textbook formula in double (independent of dtype.h).
double half_value(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v;
  if (e == 0x1f) v = m ? std::numeric_limits<double>::quiet_NaN() : INFINITY;
  else if (e == 0) v = std::ldexp(m, -24);
  else v = std::ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

// Rounds a finite v to a binary format with p significand bits, smallest normal exponent emin and
// largest finite value maxv, ties to even, in double (exact: every step scales by a power of two).
// Overflow follows IEEE: the result with an unbounded exponent is compared to maxv.
double rne_reference(double v, int p, int emin, double maxv) {
  if (v == 0) return v;
  int e;
  std::frexp(std::fabs(v), &e);  // |v| = f·2^e, f in [0.5, 1): the leading bit has weight 2^(e−1)
  const int lead = std::max(e - 1, emin);
  const double ulp = std::ldexp(1.0, lead - (p - 1));
  const double r = std::nearbyint(v / ulp) * ulp;  // the default rounding mode is to nearest, ties even
  return std::fabs(r) > maxv ? std::copysign(INFINITY, v) : r;
}
double f16_reference(float f) { return rne_reference(f, 11, -14, 65504.0); }
double bf16_reference(float f) { return rne_reference(f, 8, -126, std::ldexp(255.0, 120)); }

// Inputs for f32 -> f16: specials, boundaries, exact ties and their neighbours, and random bits
// and values across magnitudes.
std::vector<float> f16_inputs() {
  const float inf = INFINITY, nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> v = {0.0f,     -0.0f,     inf,      -inf,     nan,      -nan,
                          bits_f32(0x7f800001u) /* signalling NaN */,   bits_f32(0xffc12345u),
                          65504.0f, -65504.0f, 65519.0f, std::nextafter(65520.0f, 0.0f), 65520.0f, -65520.0f,
                          65536.0f, 1e10f,     FLT_MAX,  -FLT_MAX,  1.0f,     -1.0f,
                          std::ldexp(1.0f, -14) /* smallest normal half */, std::ldexp(1023.0f, -24) /* largest subnormal */,
                          std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25) /* tie: largest subnormal vs smallest normal */,
                          std::ldexp(1.0f, -24) /* smallest subnormal */, std::ldexp(1.0f, -25) /* tie with 0 -> 0 */,
                          std::nextafter(std::ldexp(1.0f, -25), 1.0f), std::nextafter(std::ldexp(1.0f, -25), 0.0f),
                          std::ldexp(3.0f, -25) /* tie 1 vs 2 units -> 2 */, std::ldexp(5.0f, -25) /* tie 2 vs 3 -> 2 */,
                          std::ldexp(1.0f, -26), -std::ldexp(1.0f, -25), 1e-40f /* f32 subnormal */, FLT_TRUE_MIN,
                          FLT_MIN,  1.0f + std::ldexp(1.0f, -11) /* tie -> 1 */, 1.0f + std::ldexp(3.0f, -11) /* tie -> up */};
  // Exact midpoints between neighbouring finite halves (ties to even) and one f32 ulp either side.
  std::mt19937 g(7);
  for (int i = 0; i < 4000; ++i) {
    const uint16_t h = static_cast<uint16_t>(g() % 0x7bffu) | static_cast<uint16_t>((g() & 1u) << 15);
    const float mid = static_cast<float>((half_value(h) + half_value(static_cast<uint16_t>(h + 1))) / 2);
    v.insert(v.end(), {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY * mid)});
  }
  for (int i = 0; i < 20000; ++i) v.push_back(bits_f32(g()));  // every exponent, NaNs included
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_int_distribution<int> ex(-30, 17);  // half's range and a little past both ends
  for (int i = 0; i < 20000; ++i) v.push_back(std::ldexp(u(g), ex(g)));
  return v;
}

std::vector<float> bf16_inputs() {
  std::vector<float> v = f16_inputs();
  const uint32_t special[] = {0x7f7fffffu /* FLT_MAX -> inf */, 0x7f7f7fffu, 0x7f7f8000u /* tie, odd -> inf */,
                              0x7f7e8000u /* tie, even -> down */, 0x00008000u /* tie with 0 */, 0x00018000u,
                              0x80008000u, 0x3f808000u, 0x3f818000u, 0x00000001u, 0x807fffffu};
  for (uint32_t b : special) v.push_back(bits_f32(b));
  std::mt19937 g(11);
  for (int i = 0; i < 4000; ++i) {
    const uint32_t tie = (g() & 0xffff0000u) | 0x8000u;
    v.insert(v.end(), {bits_f32(tie), bits_f32(tie - 1), bits_f32(tie + 1)});
  }
  return v;
}

// Cross-ISA check of a 16-bit result: bitwise, except that NaN need only give NaN.
template <class IsNan>
void check_bits(const char* what, const std::vector<float>& in, const std::vector<uint16_t>& got,
                const std::vector<uint16_t>& want, IsNan is_nan) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const bool ok = is_nan(want[i]) ? is_nan(got[i]) : got[i] == want[i];
    if (!ok && bad++ == 0) first = i;
  }
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " mismatches; first: input bits " << hex(f32_bits(in[first]))
                               << " got " << hex(got[first]) << " want " << hex(want[first]));
}

}  // namespace

TEST_CASE("f16 -> f32: exhaustive over all 65536 halves, every ISA bitwise equal to scalar") {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> want(65536), got(65536);
  kernels_for(Isa::Scalar)->f16_to_f32(want.data(), all.data(), 65536);

  // The scalar itself against the textbook decode (and GCC's _Float16 where it is native).
  size_t bad = 0;
  for (uint32_t i = 0; i < 65536; ++i) {
    const double ref = half_value(static_cast<uint16_t>(i));
    const bool ok = std::isnan(ref) ? std::isnan(want[i])
                                    : (static_cast<double>(want[i]) == ref && std::signbit(want[i]) == std::signbit(ref));
#if defined(__x86_64__) && defined(__FLT16_MANT_DIG__)  // _Float16: GCC yes, clang 14 on x86 no
    _Float16 h;
    std::memcpy(&h, &all[i], 2);
    const float gcc = static_cast<float>(h);
    const bool ok_gcc = std::isnan(gcc) ? std::isnan(want[i]) : f32_bits(gcc) == f32_bits(want[i]);
    bad += !ok_gcc;
#endif
    bad += !ok;
  }
  CHECK_MESSAGE(bad == 0, bad << " halves decode differently from the reference");

  test::for_each_simd_isa("f16_to_f32", [&](Isa, const KernelTable& k, const KernelTable&) {
    // Ragged lengths too, so that masked and scalar tails run.
    for (int64_t n : {int64_t{65536}, int64_t{65535}, int64_t{4099}, int64_t{33}, int64_t{7}, int64_t{1}}) {
      std::fill(got.begin(), got.end(), -1.0f);
      k.f16_to_f32(got.data(), all.data(), n);
      size_t mism = 0, first = 0;
      for (int64_t i = 0; i < n; ++i) {
        const bool ok = std::isnan(want[i]) ? std::isnan(got[i]) : f32_bits(got[i]) == f32_bits(want[i]);
        if (!ok && mism++ == 0) first = static_cast<size_t>(i);
      }
      CHECK_MESSAGE(mism == 0, "n=" << n << ": " << mism << " mismatches, first half " << hex(static_cast<uint32_t>(first)));
      if (n < 65536) CHECK_MESSAGE(got[static_cast<size_t>(n)] == -1.0f, "wrote past n=" << n);
    }
  });
}

TEST_CASE("bf16 -> f32: exhaustive, every ISA bitwise equal to scalar (a shift)") {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> want(65536), got(65536);
  kernels_for(Isa::Scalar)->bf16_to_f32(want.data(), all.data(), 65536);
  for (uint32_t i = 0; i < 65536; i += 257) CHECK(f32_bits(want[i]) == i << 16);
  test::for_each_simd_isa("bf16_to_f32", [&](Isa, const KernelTable& k, const KernelTable&) {
    for (int64_t n : {int64_t{65536}, int64_t{4099}, int64_t{7}}) {
      k.bf16_to_f32(got.data(), all.data(), n);
      size_t mism = 0;
      for (int64_t i = 0; i < n; ++i) mism += f32_bits(got[i]) != f32_bits(want[i]);
      CHECK_MESSAGE(mism == 0, "n=" << n << ": " << mism << " mismatches");
    }
  });
}

TEST_CASE("f32 -> f16: scalar is correct round-to-nearest-even, every ISA bitwise equal to scalar") {
  const auto in = f16_inputs();
  const int64_t n = static_cast<int64_t>(in.size());
  std::vector<uint16_t> want(in.size()), got(in.size());
  kernels_for(Isa::Scalar)->f32_to_f16(want.data(), in.data(), n);

  size_t bad = 0, first = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    bool ok;
    if (std::isnan(in[i])) {
      ok = half_is_nan(want[i]);
    } else {
      const double ref = f16_reference(in[i]), got_v = half_value(want[i]);
      ok = got_v == ref && std::signbit(got_v) == std::signbit(ref);
    }
#if defined(__x86_64__) && defined(__FLT16_MANT_DIG__)  // _Float16: GCC yes, clang 14 on x86 no
    // GCC's _Float16 conversion (libgcc's soft-float, or F16C) as a second, independent opinion.
    const _Float16 h = static_cast<_Float16>(in[i]);
    uint16_t hb;
    std::memcpy(&hb, &h, 2);
    ok = ok && (std::isnan(in[i]) ? half_is_nan(hb) : hb == want[i]);
#endif
    if (!ok && bad++ == 0) first = i;
  }
  CHECK_MESSAGE(bad == 0, bad << " scalar conversions are not RNE; first: input bits " << hex(f32_bits(in[first]))
                              << " -> " << hex(want[first]));

  test::for_each_simd_isa("f32_to_f16", [&](Isa, const KernelTable& k, const KernelTable&) {
    std::fill(got.begin(), got.end(), uint16_t{0xdead});
    k.f32_to_f16(got.data(), in.data(), n);
    check_bits("f32_to_f16", in, got, want, half_is_nan);
    for (int64_t m : {int64_t{1}, int64_t{7}, int64_t{33}, int64_t{257}}) {  // ragged tails, no overrun
      std::vector<uint16_t> part(static_cast<size_t>(m) + 1, 0xbeef);
      k.f32_to_f16(part.data(), in.data(), m);
      const std::vector<float> in_m(in.begin(), in.begin() + m);
      const std::vector<uint16_t> want_m(want.begin(), want.begin() + m), got_m(part.begin(), part.begin() + m);
      check_bits("f32_to_f16 (ragged)", in_m, got_m, want_m, half_is_nan);
      CHECK_MESSAGE(part[static_cast<size_t>(m)] == 0xbeef, "wrote past n=" << m);
    }
  });
}

TEST_CASE("f32 -> bf16: scalar is correct round-to-nearest-even, every ISA bitwise equal to scalar") {
  const auto in = bf16_inputs();
  const int64_t n = static_cast<int64_t>(in.size());
  std::vector<uint16_t> want(in.size()), got(in.size());
  kernels_for(Isa::Scalar)->f32_to_bf16(want.data(), in.data(), n);

  size_t bad = 0, first = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    bool ok;
    if (std::isnan(in[i])) {
      ok = bf16_is_nan(want[i]);
    } else {
      const double ref = bf16_reference(in[i]), got_v = bf16_to_f32(want[i]);
      ok = got_v == ref && std::signbit(got_v) == std::signbit(ref);
    }
    if (!ok && bad++ == 0) first = i;
  }
  CHECK_MESSAGE(bad == 0, bad << " scalar conversions are not RNE; first: input bits " << hex(f32_bits(in[first]))
                              << " -> " << hex(want[first]));

  test::for_each_simd_isa("f32_to_bf16", [&](Isa, const KernelTable& k, const KernelTable&) {
    k.f32_to_bf16(got.data(), in.data(), n);
    check_bits("f32_to_bf16", in, got, want, bf16_is_nan);
    std::vector<uint16_t> part(8, 0xbeef);
    k.f32_to_bf16(part.data(), in.data(), 7);
    CHECK_MESSAGE(part[7] == 0xbeef, "wrote past n=7");
  });
}
