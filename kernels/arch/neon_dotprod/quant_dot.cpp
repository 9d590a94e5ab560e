// NEON sdot quantized dots: placeholder filled below when written.
#include "kernels/kernel_table.h"

namespace edgellm::detail {

void fill_neon_dotprod_quant(KernelTable& t) { (void)t; }

}  // namespace edgellm::detail
