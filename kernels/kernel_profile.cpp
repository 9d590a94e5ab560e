// The recording kernel table and the machine-bound probes of `--profile`.
// Not the recorder (runtime/profile.cpp) and not the drivers' scopes (kernels/*.cpp open their own).
#include "kernels/kernel_profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <tuple>
#include <vector>

#include "kernels/kernel_table.h"
#include "runtime/parallel.h"

namespace edgellm {
namespace {

enum KernelId : int {
#define EDGELLM_KERNEL_ID(name) k_##name,
  EDGELLM_KERNELS(EDGELLM_KERNEL_ID)
#undef EDGELLM_KERNEL_ID
};

const KernelTable* g_plain = nullptr;  // the table the recording one forwards to
KernelTable g_recording;

// Bytes and flops of one call, for the kernels that are ops of their own (norms, rope, elementwise, optimizer
// passes); 0 for the rest (their GB/s column stays empty).
template <int Id, class... A>
profile::Cost kernel_cost(const A&... args) {
  const auto a = std::tie(args...);
  const auto f = [](auto x) { return static_cast<double>(x); };
  if constexpr (Id == k_add_forward || Id == k_mul_forward || Id == k_swiglu_forward)
    return {12 * f(std::get<3>(a)), f(std::get<3>(a))};
  else if constexpr (Id == k_scale_forward)
    return {8 * f(std::get<3>(a)), f(std::get<3>(a))};
  else if constexpr (Id == k_silu_forward || Id == k_gelu_forward)
    return {8 * f(std::get<2>(a)), 4 * f(std::get<2>(a))};
  else if constexpr (Id == k_rmsnorm_forward)  // (y, rstd, x, w, rows, C, eps)
    return {8 * f(std::get<4>(a)) * f(std::get<5>(a)), 4 * f(std::get<4>(a)) * f(std::get<5>(a))};
  else if constexpr (Id == k_rmsnorm_backward)  // (dx, dw, dy, x, w, rstd, rows, C)
    return {16 * f(std::get<6>(a)) * f(std::get<7>(a)), 8 * f(std::get<6>(a)) * f(std::get<7>(a))};
  else if constexpr (Id == k_softmax_forward)  // (y, x, rows, C)
    return {8 * f(std::get<2>(a)) * f(std::get<3>(a)), 4 * f(std::get<2>(a)) * f(std::get<3>(a))};
  else if constexpr (Id == k_rope_forward || Id == k_rope_backward) {  // (y, x, cos, sin, T, NH, HD, pairing)
    const double T = f(std::get<4>(a)), NH = f(std::get<5>(a)), HD = f(std::get<6>(a));
    return {8 * T * NH * HD + 4 * T * HD, 3 * T * NH * HD};
  } else if constexpr (Id == k_adamw_f32)  // reads w, m, v, g; writes w, m, v
    return {28 * f(std::get<4>(a)), 12 * f(std::get<4>(a))};
  else if constexpr (Id == k_sumsq_f32)
    return {4 * f(std::get<1>(a)), 2 * f(std::get<1>(a))};
  else if constexpr (Id == k_f16_to_f32 || Id == k_f32_to_f16 || Id == k_bf16_to_f32 || Id == k_f32_to_bf16)
    return {6 * f(std::get<2>(a)), 0};
  else
    return {};
}

template <int Id, auto Member, class Fn>
struct Recording;
template <int Id, auto Member, class R, class... A>
struct Recording<Id, Member, R(A...)> {
  static const char* name;
  static const char* isa;
  static R call(A... args) {
    auto* fn = g_plain->*Member;
    profile::Scope s(name, [] { return std::string(isa); }, [&] { return kernel_cost<Id>(args...); });
    return fn(args...);
  }
};
template <int Id, auto Member, class R, class... A>
const char* Recording<Id, Member, R(A...)>::name = nullptr;
template <int Id, auto Member, class R, class... A>
const char* Recording<Id, Member, R(A...)>::isa = nullptr;

void build_recording_table() {
  g_recording = *g_plain;
#define EDGELLM_RECORDING(name_)                                                           \
  {                                                                                        \
    using W = Recording<k_##name_, &KernelTable::name_, name_##_fn>;                       \
    W::name = #name_;                                                                      \
    W::isa = g_plain->name_##_isa;                                                         \
    if (g_plain->name_) g_recording.name_ = &W::call;                                      \
  }
  EDGELLM_KERNELS(EDGELLM_RECORDING)
#undef EDGELLM_RECORDING
}

}  // namespace

void kernel_profile_start() {
  detail::set_profiled_table(nullptr);
  g_plain = &kernels();
  build_recording_table();
  profile::start();
  detail::set_profiled_table(&g_recording);
}

void kernel_profile_stop() {
  detail::set_profiled_table(nullptr);
  profile::stop();
}

profile::Bounds measure_machine_bounds() {
  using Clock = std::chrono::steady_clock;
  profile::Bounds b;
  b.threads = num_threads();
  const KernelTable& kt = kernels();
  // STREAM triad a = b + s·c over 3 × 64 MiB, far beyond any edge device's (or server's per-core) caches; the best
  // of 5 passes. Bytes counted as STREAM does: 3 arrays of 4-byte floats (write-allocate traffic not counted).
  {
    const int64_t n = int64_t{16} << 20;
    std::vector<float> x(static_cast<size_t>(n), 1.0f), y(static_cast<size_t>(n), 2.0f), z(static_cast<size_t>(n));
    double best = 0;
    for (int pass = 0; pass < 5; ++pass) {
      const auto t0 = Clock::now();
      parallel_for(n, 1 << 16, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) z[static_cast<size_t>(i)] = x[static_cast<size_t>(i)] + 3.0f * y[static_cast<size_t>(i)];
      });
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      best = std::max(best, 12.0 * static_cast<double>(n) / s / 1e9);
    }
    b.gbps = best;
  }
  // FMA peak: the table's sgemm micro-kernel on one packed (kc, MR) and (kc, NR) panel pair per thread, kept in L1.
  {
    const int mr = kt.sgemm_block.mr, nr = kt.sgemm_block.nr;
    const int64_t kc = 128, reps = 4000;
    const int nt = std::max(1, num_threads());
    std::vector<double> secs(static_cast<size_t>(nt));
    const auto t0 = Clock::now();
    parallel_region(nt, [&](int tid, int) {
      std::vector<float> ap(static_cast<size_t>(kc * mr), 0.5f), bp(static_cast<size_t>(kc * nr), 0.25f);
      std::vector<float> c(static_cast<size_t>(mr * nr), 0.0f);
      for (int64_t r = 0; r < reps; ++r) kt.sgemm_ukernel(kc, ap.data(), bp.data(), c.data(), nr, mr, nr, true);
      secs[static_cast<size_t>(tid)] = c[0];  // keeps the loop
    });
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    b.gflops = 2.0 * mr * nr * kc * static_cast<double>(reps) * nt / s / 1e9;
  }
  return b;
}

}  // namespace edgellm
