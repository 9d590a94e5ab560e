// Plain-NEON quantized entries: the GINT dequant-dot (xsimd); the block-format dots keep the scalar refs.
// Deliberately empty rather than untested: the sdot kernels are in neon_dotprod/quant_dot.cpp.
#include "kernels/kernel_table.h"

namespace edgellm::detail {

void fill_neon_quant(KernelTable& t) { fill_neon_gint(t); }

}  // namespace edgellm::detail
