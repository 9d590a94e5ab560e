// Overlays one architecture's attention, cross-entropy and embedding kernels on a table.
// Included by kernels/arch/<isa>/{attention,cross_entropy,embedding}.cpp, compiled with that ISA's flags.
#pragma once

#include "kernels/kernel_table.h"
#include "kernels/simd/attention.h"
#include "kernels/simd/cross_entropy.h"
#include "kernels/simd/embedding.h"

namespace edgellm::simd {

template <class A>
void fill_attention(KernelTable& t, const char* isa) {
  EDGELLM_SET_KERNEL(t, attention_forward, Attention<A>::forward, isa);
  EDGELLM_SET_KERNEL(t, attention_backward, Attention<A>::backward, isa);
}
template <class A>
void fill_cross_entropy(KernelTable& t, const char* isa) {
  EDGELLM_SET_KERNEL(t, cross_entropy_forward, CrossEntropy<A>::forward, isa);
  EDGELLM_SET_KERNEL(t, cross_entropy_backward, CrossEntropy<A>::backward, isa);
}
template <class A>
void fill_embedding(KernelTable& t, const char* isa) {
  EDGELLM_SET_KERNEL(t, embedding_forward, Embedding<A>::forward, isa);
  EDGELLM_SET_KERNEL(t, embedding_backward, Embedding<A>::backward, isa);
}

}  // namespace edgellm::simd
