// Plain-NEON quantized dots: none yet, the scalar references serve (see bench/RESULTS-quant.md).
// Deliberately empty rather than untested: the sdot kernels are in neon_dotprod/quant_dot.cpp.
#include "kernels/kernel_table.h"

namespace edgellm::detail {

void fill_neon_quant(KernelTable& t) { (void)t; }

}  // namespace edgellm::detail
