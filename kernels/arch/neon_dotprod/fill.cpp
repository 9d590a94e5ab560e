// NEON with the dot-product extension (sdot): integer dot kernels land here (kernels issue).
#include "kernels/kernel_table.h"

namespace edgellm::detail {

void fill_neon_dotprod(KernelTable& t) { (void)t; }

}  // namespace edgellm::detail
