// NEON with the dot-product extension: the filler for non-quantized sdot kernels. None exists yet; the
// quantized sdot dots are filled by fill_neon_dotprod_quant (quant_dot.cpp beside this file).
#include "kernels/kernel_table.h"

namespace edgellm::detail {

void fill_neon_dotprod(KernelTable& t) { (void)t; }

}  // namespace edgellm::detail
