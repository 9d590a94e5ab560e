// Driver of the embedding lookup and its backward: id checks, rows (forward) or columns (backward) over threads.
// Not ISA-specific: compiled without -m flags; rows go through the kernel table.
#include "kernels/embedding.h"

#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/profile.h"

namespace edgellm {
namespace {

void check_ids(const char* who, const int32_t* ids, int64_t T, int64_t C, int64_t vocab) {
  if (T < 0 || C <= 0 || vocab <= 0) fail("{}: T = {}, C = {}, vocab = {}: need T >= 0, C > 0, vocab > 0", who, T, C, vocab);
  for (int64_t t = 0; t < T; ++t)
    if (ids[t] < 0 || ids[t] >= vocab) fail("{}: ids[{}] = {}: outside the table's [0, {})", who, t, ids[t], vocab);
}

constexpr int64_t kColBlock = 16;  // 64 bytes: column blocks of different threads share no cache line

}  // namespace

void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t T, int64_t C, int64_t vocab,
                       const KernelTable& kt) {
  check_ids("embedding_forward", ids, T, C, vocab);
  profile::Scope prof("embedding", [&] { return fmt::format("f32 {}", kt.embedding_forward_isa); },
                      [&] { return profile::Cost{8.0 * T * C, 0}; });
  parallel_for(T, 16, [&](int64_t b, int64_t e) { kt.embedding_forward(out + b * C, table, ids + b, e - b, C, C); });
}

void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t T, int64_t C, int64_t vocab,
                        const KernelTable& kt) {
  check_ids("embedding_backward", ids, T, C, vocab);
  profile::Scope prof("embedding_backward", [&] { return fmt::format("f32 {}", kt.embedding_backward_isa); },
                      [&] { return profile::Cost{12.0 * T * C, static_cast<double>(T) * C}; });
  const int64_t blocks = (C + kColBlock - 1) / kColBlock;
  parallel_for(blocks, 8, [&](int64_t b, int64_t e) {
    const int64_t c0 = b * kColBlock, c1 = e * kColBlock < C ? e * kColBlock : C;
    kt.embedding_backward(dtable + c0, dout + c0, ids, T, c1 - c0, C);
  });
}

}  // namespace edgellm
