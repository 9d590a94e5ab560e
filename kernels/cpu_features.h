// What this CPU can run, probed once (cpuid/xgetbv on x86, getauxval on aarch64).
#pragma once

#include <string>

namespace edgellm {

struct CpuFeatures {
  // x86
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false, avx512vnni = false,
       avx512bf16 = false, avxvnni = false;
  // aarch64
  bool neon = false, dotprod = false, i8mm = false, fp16 = false;
  std::string brand;  // the CPU's model name where the OS tells it

  std::string str() const;  // "avx2 fma f16c avx512f ..."
};

const CpuFeatures& cpu_features();

}  // namespace edgellm
