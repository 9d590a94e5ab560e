// Builds the kernel tables once and selects the active one.
#include "kernels/kernel_table.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>

#include "kernels/cpu_features.h"
#include "kernels/kernel_profile.h"
#include "runtime/error.h"

#ifndef EDGELLM_HAVE_AVX2
#define EDGELLM_HAVE_AVX2 0
#endif
#ifndef EDGELLM_HAVE_AVX512
#define EDGELLM_HAVE_AVX512 0
#endif
#ifndef EDGELLM_HAVE_NEON
#define EDGELLM_HAVE_NEON 0
#endif
#ifndef EDGELLM_HAVE_NEON_DOTPROD
#define EDGELLM_HAVE_NEON_DOTPROD 0
#endif

namespace edgellm {
namespace {

constexpr std::array<Isa, 4> kAllIsas = {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon};

// Each ISA's families, in overlay order. A quantized family lands here as one more line per ISA.
#if EDGELLM_HAVE_AVX2
void fill_avx2_all(KernelTable& t) {
  detail::fill_avx2(t);
  detail::fill_avx2_attention(t);
  detail::fill_avx2_cross_entropy(t);
  detail::fill_avx2_embedding(t);
  detail::fill_avx2_gemm(t);
  detail::fill_avx2_quant(t);  // GGUF blocks + GINT (h-quant)
}
#endif
#if EDGELLM_HAVE_AVX512
void fill_avx512_all(KernelTable& t) {
  detail::fill_avx512(t);
  detail::fill_avx512_attention(t);
  detail::fill_avx512_cross_entropy(t);
  detail::fill_avx512_embedding(t);
  detail::fill_avx512_gemm(t);
  detail::fill_avx512_quant(t);  // GGUF blocks + GINT (h-quant)
}
#endif
#if EDGELLM_HAVE_NEON
void fill_neon_all(KernelTable& t) {
  detail::fill_neon(t);
  detail::fill_neon_attention(t);
  detail::fill_neon_cross_entropy(t);
  detail::fill_neon_embedding(t);
  detail::fill_neon_gemm(t);
  detail::fill_neon_quant(t);  // GGUF blocks + GINT (h-quant)
}
#endif

// Fills `t` in place: the table is large, and a by-value return through a temporary on the stack is
// what ASan flagged (stack-buffer-underflow in the AVX2 GEMM filler) under GCC 12.
void build(Isa isa, KernelTable& t) {
  t = KernelTable{};
  detail::fill_scalar(t);
  detail::fill_scalar_attention(t);
  detail::fill_scalar_gemm(t);
  detail::fill_scalar_quant(t);
  switch (isa) {
    case Isa::Scalar:
      break;
    case Isa::Avx512:
#if EDGELLM_HAVE_AVX2
      fill_avx2_all(t);
#endif
#if EDGELLM_HAVE_AVX512
      fill_avx512_all(t);
#endif
      break;
    case Isa::Avx2:
#if EDGELLM_HAVE_AVX2
      fill_avx2_all(t);
#endif
      break;
    case Isa::Neon:
#if EDGELLM_HAVE_NEON
      fill_neon_all(t);
#endif
#if EDGELLM_HAVE_NEON_DOTPROD
      if (cpu_features().dotprod) {
        detail::fill_neon_dotprod(t);
        detail::fill_neon_dotprod_quant(t);
      }
#endif
      break;
  }
  t.isa = isa;
}

struct Tables {
  std::array<KernelTable, 4> table;
  std::array<bool, 4> ok{};
};

const Tables& tables() {
  static const Tables ts = [] {
    Tables r;
    for (size_t i = 0; i < kAllIsas.size(); ++i) {
      if (isa_compiled(kAllIsas[i]) && isa_supported(kAllIsas[i])) {
        build(kAllIsas[i], r.table[i]);
        r.ok[i] = true;
      }
    }
    return r;
  }();
  return ts;
}

Isa pick_active() {
  if (const char* env = std::getenv("EDGELLM_ISA"); env && *env) {
    const Isa want = isa_from_name(env);
    if (!isa_compiled(want))
      fail("EDGELLM_ISA={}: this build has no {} kernels (compiled: {})", env, isa_name(want),
           compiled_isas_string());
    if (!isa_supported(want))
      fail("EDGELLM_ISA={}: this CPU lacks {} (it has: {})", env, isa_name(want), cpu_features().str());
    return want;
  }
  Isa best = Isa::Scalar;
  for (Isa i : kAllIsas)
    if (isa_compiled(i) && isa_supported(i)) best = i;
  return best;
}

}  // namespace

bool isa_compiled(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return true;
    case Isa::Avx2:
      return EDGELLM_HAVE_AVX2 == 1;
    case Isa::Avx512:
      return EDGELLM_HAVE_AVX512 == 1;
    case Isa::Neon:
      return EDGELLM_HAVE_NEON == 1;
  }
  return false;
}

bool isa_supported(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::Scalar:
      return true;
    case Isa::Avx2:
      return f.avx2 && f.fma && f.f16c;
    case Isa::Avx512:
      return f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
    case Isa::Neon:
      return f.neon;
  }
  return false;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
    case Isa::Neon:
      return "neon";
  }
  return "?";
}

Isa isa_from_name(const std::string& name) {
  for (Isa i : kAllIsas)
    if (name == isa_name(i)) return i;
  fail("unknown ISA '{}': expected scalar, avx2, avx512 or neon", name);
}

std::string compiled_isas_string() {
  std::string s;
  for (Isa i : kAllIsas)
    if (isa_compiled(i)) s += (s.empty() ? "" : " ") + std::string(isa_name(i));
  return s;
}

std::vector<Isa> available_isas() {
  std::vector<Isa> v;
  for (size_t i = 0; i < kAllIsas.size(); ++i)
    if (tables().ok[i]) v.push_back(kAllIsas[i]);
  return v;
}

const KernelTable* kernels_for(Isa isa) {
  const auto i = static_cast<size_t>(isa);
  return tables().ok[i] ? &tables().table[i] : nullptr;
}

Isa active_isa() {
  static const Isa isa = pick_active();
  return isa;
}

namespace {
// The recording table while --profile runs (kernels/kernel_profile.cpp), else null.
std::atomic<const KernelTable*> g_profiled{nullptr};
}  // namespace

void detail::set_profiled_table(const KernelTable* t) { g_profiled.store(t, std::memory_order_release); }

const KernelTable& kernels() {
  static const KernelTable* t = kernels_for(active_isa());
  if (const KernelTable* p = g_profiled.load(std::memory_order_relaxed)) return *p;
  return *t;
}

std::vector<std::pair<std::string, std::string>> kernel_isa_list(const KernelTable& t) {
  std::vector<std::pair<std::string, std::string>> v;
#define EDGELLM_KERNEL_NAME(name) v.emplace_back(#name, t.name##_isa);
  EDGELLM_KERNELS(EDGELLM_KERNEL_NAME)
#undef EDGELLM_KERNEL_NAME
  return v;
}

}  // namespace edgellm
