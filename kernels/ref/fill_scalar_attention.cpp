// Fills the table's attention, cross-entropy and embedding entries with their scalar references.
// Kept apart from fill_scalar.cpp so this family's additions merge cleanly.
#include "kernels/kernel_table.h"
#include "kernels/ref/attention.h"
#include "kernels/ref/cross_entropy.h"
#include "kernels/ref/embedding.h"

namespace edgellm::detail {

void fill_scalar_attention(KernelTable& t) {
  const char* s = "scalar";
  EDGELLM_SET_KERNEL(t, attention_forward, ref::attention_forward<float>, s);
  EDGELLM_SET_KERNEL(t, attention_backward, ref::attention_backward<float>, s);
  EDGELLM_SET_KERNEL(t, cross_entropy_forward, ref::cross_entropy_forward<float>, s);
  EDGELLM_SET_KERNEL(t, cross_entropy_backward, ref::cross_entropy_backward<float>, s);
  EDGELLM_SET_KERNEL(t, embedding_forward, ref::embedding_forward<float>, s);
  EDGELLM_SET_KERNEL(t, embedding_backward, ref::embedding_backward<float>, s);
}

}  // namespace edgellm::detail
