// Vulkan ops: a Batch records dispatches of the embedded shaders into one command buffer (a barrier between
// each) and submits them once; the op functions below record one shader each. Shapes as kernels/kernel_table.h.
// Not synchronous: nothing runs until Batch::submit(). Not a graph: callers order the ops.
#pragma once

#include <cstdint>
#include <cstddef>
#include <initializer_list>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/vulkan/context.h"
#include "runtime/dtype.h"

namespace edgellm::vk {

class Batch {
 public:
  explicit Batch(Context& c);
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  // Records shader `name` with buffers at bindings 0..n-1, push constants (<= kPushBytes), group counts.
  void dispatch(const char* name, std::initializer_list<const Buffer*> bufs, const void* push, size_t push_bytes,
                uint32_t gx, uint32_t gy = 1, uint32_t gz = 1);
  // Host data in and out within the batch (no extra submit): upload copies `src` now into the batch's staging
  // buffer (or straight into a mapped dst) and records the copy; download records a copy whose bytes reach
  // `dst` when submit() returns. Both are ordered with the dispatches around them.
  void upload(const Buffer& dst, const void* src, size_t bytes, size_t offset = 0);
  void download(const Buffer& src, void* dst, size_t bytes, size_t offset = 0);
  // Submits everything recorded, waits on the fence (timeout: Context::timeout_ns), and resets for reuse.
  void submit();
  Context& ctx() { return c_; }
  int recorded() const { return n_; }

 private:
  void begin();
  VkDescriptorSet new_set(const Pipeline& p);
  size_t stage(size_t bytes);  // offset of `bytes` reserved in stage_ (grown between submits only)
  void transfer_barrier();
  Context& c_;
  Buffer stage_;  // host-visible: uploads and downloads of this batch
  size_t stage_used_ = 0;
  struct Readback {
    const void* from;
    void* to;
    size_t bytes;
  };
  std::vector<Readback> readbacks_;
  VkCommandBuffer cb_ = VK_NULL_HANDLE;
  std::vector<VkDescriptorPool> pools_;
  uint32_t left_in_pool_ = 0;
  int n_ = 0;
  bool open_ = false;
};

// A float view: buffer + element offset.
struct View {
  const Buffer* b = nullptr;
  uint32_t off = 0;
};

// Weight types with gemm/matvec shaders.
bool weight_type_supported(DType t);

// C (M, N) = alpha · op(A) · op(B) + beta · C, all f32. A(m, k) at a[off + m*a_sm + k*a_sk], B(k, n) at
// b[off + k*b_sk + n*b_sn], C row-major with row stride c_sm. A·B: (K, 1), (N, 1); Aᵀ·B: a_sm=1, a_sk=M; A·Bᵀ: b_sk=1, b_sn=K.
void gemm_f32(Batch& b, View C, uint32_t c_sm, View A, uint32_t a_sm, uint32_t a_sk, View B, uint32_t b_sk,
              uint32_t b_sn, uint32_t M, uint32_t N, uint32_t K, float alpha = 1, float beta = 0);
// y (M, N) = x (M, K) · Wᵀ (+ beta·y) for W (N, K) of type wt stored in `w` from byte w_byte_off (rows back to
// back; GINT needs bits/group). Picks the matvec shader for M <= 2, else the tiled GEMM with dequantized tiles.
void linear(Batch& b, View y, View x, const Buffer& w, uint32_t w_byte_off, DType wt, uint32_t M, uint32_t N,
            uint32_t K, float beta = 0, int gint_bits = 4, int gint_group = 128);
// Forces the shader: gemm (true) or matvec (false); for tests.
void linear_with(bool use_gemm, Batch& b, View y, View x, const Buffer& w, uint32_t w_byte_off, DType wt,
                 uint32_t M, uint32_t N, uint32_t K, float beta, int gint_bits, int gint_group);

// Input gradient of a linear layer: dx (M, K) = dy (M, N) · W (+ beta·dx) for W (N, K) of type wt (the GEMM
// reading W transposed, dequantizing tiles). With linear(), the rest of matmul's backward is gemm_f32 (dWᵀ·x).
void linear_backward_x(Batch& b, View dx, View dy, const Buffer& w, uint32_t w_byte_off, DType wt, uint32_t M,
                       uint32_t N, uint32_t K, float beta = 0, int gint_bits = 4, int gint_group = 128);

void rmsnorm_forward(Batch& b, View y, const Buffer* rstd, View x, const Buffer& w, uint32_t rows, uint32_t C,
                     float eps);
void rmsnorm_backward(Batch& b, const Buffer& dx, const Buffer& dw, const Buffer& dy, const Buffer& x,
                      const Buffer& w, const Buffer& rstd, uint32_t rows, uint32_t C);
// y/x rows (T, NH, HD) at a row stride (elements) each; cos/sin (T, D/2). backward: y += Rᵀ·x. rot_dims D < HD
// (partial rotary): only the first D dims of each head rotate; 0: all HD.
void rope(Batch& b, View y, uint32_t y_st, View x, uint32_t x_st, const Buffer& cos, const Buffer& sin, uint32_t T,
          uint32_t NH, uint32_t HD, RopePairing pairing, bool backward = false, uint32_t rot_dims = 0);
// LayerNorm with bias (GPT-2): y = (x − mean)·rstd·w + bias over rows of C; rstd (rows) may be null. In place allowed.
void layernorm_forward(Batch& b, View y, const Buffer* rstd, View x, const Buffer& w, const Buffer& bias, uint32_t rows,
                       uint32_t C, float eps);
// tanh-GELU: y = gelu(x) (GPT-2's MLP); GeGLU: y = gelu(gate)·up (Gemma's). Over n floats; forward only.
void gelu_forward(Batch& b, View y, View x, uint32_t n);
void geglu_forward(Batch& b, View y, View gate, View up, uint32_t n);
// y = cap·tanh(x / cap) over n floats (Gemma 2's final logits); in place allowed.
void softcap_forward(Batch& b, View y, View x, uint32_t n, float cap);
void softmax_forward(Batch& b, const Buffer& y, const Buffer& x, uint32_t rows, uint32_t C);
// Elementwise over n: add y = a + b, mul y = a * b, scale y = s·a, axpy y += s·a, swiglu y = silu(a)·b,
// fill y = s (a unread).
enum class Ew : uint32_t { Add = 0, Mul = 1, Scale = 2, Axpy = 3, Swiglu = 4, Fill = 5 };
// y[0..n) = value.
void fill(Batch& b, View y, uint32_t n, float value = 0);
void elementwise(Batch& b, Ew op, View y, View a, View bb, uint32_t n, float s = 0);
void swiglu_backward(Batch& b, const Buffer& dgate, const Buffer& dup, const Buffer& dy, const Buffer& gate,
                     const Buffer& up, uint32_t n);
// Attention as kernels/kernel_table.h's AttentionDims (all query tokens, all heads, its window and soft-cap);
// views carry the offsets. L (T, NH) may be null. HD <= 256 and NH a multiple of KVH. batch > 1: that many sequences back to back (q, o,
// L rows of each T after the previous; k, v rows of each S), each its own attention.
void attention_forward(Batch& b, View o, const Buffer* L, View q, View k, View v, const AttentionDims& d,
                       uint32_t batch = 1);
// Backward of attention_forward over whole buffers (no offsets): dq, dk, dv += (kernel_table.h's semantics,
// softmax recomputed from q, k and the forward's L). Two dispatches: dq per (t, h), dk/dv per (s, g). No window
// or soft-cap (refused, as the CPU's backward does).
void attention_backward(Batch& b, const Buffer& dq, const Buffer& dk, const Buffer& dv, const Buffer& dO,
                        const Buffer& q, const Buffer& k, const Buffer& v, const Buffer& o, const Buffer& L,
                        const AttentionDims& d, uint32_t batch = 1);
// Training. y (T, C) = table[ids[t]] and its backward dtable[ids[t]] += dy[t]; ids (T) int32, f32 table.
void embedding(Batch& b, const Buffer& y, const Buffer& table, const Buffer& ids, uint32_t T, uint32_t C);
void embedding_backward(Batch& b, const Buffer& dtable, const Buffer& dy, const Buffer& ids, uint32_t T, uint32_t C);
// Per row of z (rows, V): loss = lse − z[y] into loss (rows); z ← (softmax − onehot)·scale (0 on masked rows, y < 0).
void cross_entropy(Batch& b, const Buffer& z, const Buffer& targets, const Buffer& loss, uint32_t rows, uint32_t V,
                   float scale);
// AdamW over n elements with the CPU trainer's coefficients (kernels/kernel_table.h's AdamWCoef).
void adamw(Batch& b, const Buffer& w, const Buffer& m, const Buffer& v, const Buffer& g, uint32_t n,
           const AdamWCoef& c);
// Partial Σ x² of x[0..n) into out[off ..]: returns how many partials (sumsq_partials(n)) it writes.
uint32_t sumsq_partials(uint32_t n);
void sumsq(Batch& b, const Buffer& out, uint32_t off, const Buffer& x, uint32_t n);
// Bandwidth probe: a = b + s·c over n floats (n a multiple of 4).
void triad(Batch& b, const Buffer& a, const Buffer& bb, const Buffer& c, uint32_t n, float s);

}  // namespace edgellm::vk
