// Vulkan ops: a Batch (kernels/vulkan/batch.cpp) records dispatches of the embedded shaders into one command
// buffer (a barrier only where one touches what an earlier one wrote) and submits them once, or replays a kept
// recording; the op functions below (kernels/vulkan/ops.cpp) record one shader each. Shapes as kernels/kernel_table.h.
// Not synchronous: nothing runs until Batch::submit(). Not a graph: callers order the ops.
#pragma once

#include <cstdint>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/vulkan/context.h"
#include "runtime/dtype.h"

namespace edgellm::vk {

// What batches did on a context, for benchmarks of the per-token overhead: vkCmd* calls and descriptor sets
// recorded (host work), and the dispatches, barriers and copies submitted (a replay submits its recording's
// again without recording anything), and the submits.
struct BatchStats {
  uint64_t commands = 0, descriptor_sets = 0;       // recorded
  uint64_t dispatches = 0, barriers = 0, copies = 0;  // submitted
  uint64_t submits = 0;
};
BatchStats& batch_stats(const Context& c);

class Batch {
 public:
  // reusable: the recording survives submit() and replay() submits it again (no re-recording); its uploads and
  // downloads are recorded copies, so a replay reads and writes the same buffers (callers refresh host-visible
  // inputs before replaying). Otherwise submit() resets the batch for the next recording.
  explicit Batch(Context& c, bool reusable = false);
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  // Records shader `name` with buffers at bindings 0..n-1, push constants (<= kPushBytes), group counts.
  // `writes`: a bit per binding the shader may write (default: all). A barrier is recorded before a dispatch
  // only when it touches a buffer written since the last barrier, or writes one read since then: independent
  // dispatches (q, k, v of one token) run without one.
  void dispatch(const char* name, std::initializer_list<const Buffer*> bufs, const void* push, size_t push_bytes,
                uint32_t gx, uint32_t gy = 1, uint32_t gz = 1, uint32_t writes = ~0u);
  // Host data in and out within the batch (no extra submit): upload copies `src` now into the batch's staging
  // buffer (or straight into a mapped dst) and records the copy; download records a copy whose bytes reach
  // `dst` when submit() returns. Both are ordered with the dispatches around them.
  void upload(const Buffer& dst, const void* src, size_t bytes, size_t offset = 0);
  void download(const Buffer& src, void* dst, size_t bytes, size_t offset = 0);
  // A device copy between buffers, ordered with the dispatches around it.
  void copy(const Buffer& src, size_t src_offset, const Buffer& dst, size_t dst_offset, size_t bytes);
  // Submits everything recorded, waits on the fence (timeout: Context::timeout_ns), and resets for reuse
  // (a reusable batch keeps its recording: kept() turns true).
  void submit();
  // Submits a reusable batch's recording again and waits; its downloads are copied out again.
  void replay();
  // Drops a reusable batch's recording (the next dispatch starts a new one).
  void reset();
  bool kept() const { return kept_; }
  Context& ctx() { return c_; }
  int recorded() const { return n_; }

 private:
  void begin();
  VkDescriptorSet new_set(const Pipeline& p);
  size_t stage(size_t bytes);  // offset of `bytes` reserved in stage_ (grown between submits only)
  void transfer_barrier();
  void run(const char* what);  // submit and wait; on failure abandon the recording and rethrow
  // The GPU profile (kernels/vulkan/gpu_profile.h): a timestamp before the first dispatch and after each.
  void stamp_begin();
  void stamp(const char* name);
  void read_stamps();
  Context& c_;
  bool reusable_ = false, kept_ = false;
  Buffer stage_;  // host-visible: uploads and downloads of this batch
  size_t stage_used_ = 0;
  struct Readback {
    const void* from;
    void* to;
    size_t bytes;
  };
  std::vector<Readback> readbacks_;
  // Buffers bound since the last barrier: read (any binding) and possibly written (the `writes` bindings).
  std::vector<VkBuffer> touched_, written_;
  uint64_t rec_dispatches_ = 0, rec_barriers_ = 0, rec_copies_ = 0;  // of the current recording
  VkCommandBuffer cb_ = VK_NULL_HANDLE;
  std::vector<VkDescriptorPool> pools_;
  VkQueryPool stamps_ = VK_NULL_HANDLE;
  uint32_t stamp_cap_ = 0;
  std::vector<std::string> stamp_names_;  // the shader after timestamp i (timestamp 0 is the batch's start)
  bool stamping_ = false;                 // this recording writes timestamps
  uint32_t left_in_pool_ = 0;
  int n_ = 0;
  bool open_ = false;
};

// A float view: buffer + element offset.
struct View {
  const Buffer* b = nullptr;
  uint32_t off = 0;
};

// A device buffer of at least `bytes` for partial results within a batch (split-K, reductions), one per context,
// grown on demand (a replaced one stays alive: an earlier recording may bind it). Uses within one batch are
// ordered by its hazard barriers like any buffer's.
const Buffer& scratch(Context& c, size_t bytes);

// Weight types with gemm/matvec shaders.
bool weight_type_supported(DType t);

// C (M, N) = alpha · op(A) · op(B) + beta · C, all f32. A(m, k) at a[off + m*a_sm + k*a_sk], B(k, n) at
// b[off + k*b_sk + n*b_sn], C row-major with row stride c_sm. A·B: (K, 1), (N, 1); Aᵀ·B: a_sm=1, a_sk=M; A·Bᵀ: b_sk=1, b_sn=K.
// Runs as gemm_choice picks, or as EDGELLM_VULKAN_GEMM forces (kernels/vulkan/gemm.cpp).
void gemm_f32(Batch& b, View C, uint32_t c_sm, View A, uint32_t a_sm, uint32_t a_sk, View B, uint32_t b_sk,
              uint32_t b_sn, uint32_t M, uint32_t N, uint32_t K, float alpha = 1, float beta = 0);
// The f32 GEMM's kernels: Generic is gemm.comp (64x64 tiles, 4x4 per thread, any strides); the others are
// gemm_tiled.comp's BMxBN tiles for an A and a B each with a unit stride along one dimension (every A·B, Aᵀ·B,
// A·Bᵀ, Aᵀ·Bᵀ of contiguous matrices), exact fp32 FMAs too. split > 1 sums K in that many slices into partials
// and adds them up in a second pass (gemm_splitk.comp): more workgroups where the output has few tiles.
// Names: tile (BMxBN) and outputs per thread (TMxTN).
// Coop, C64x64, C128x64, C128x128: the dequantizing GEMM's tensor-core tiles (gemm_coop.comp, x·Wᵀ only; Coop: the
// tile coop_choice takes for the shape), not kernels of the f32 GEMM.
enum class GemmKernel : uint32_t {
  Auto, Generic, T64x64_4x4, T64x64_8x4, T128x64_8x4, T128x128_8x8, Coop, C64x64, C128x64, C128x128
};
constexpr GemmKernel kGemmKernels[] = {GemmKernel::Generic, GemmKernel::T64x64_4x4, GemmKernel::T64x64_8x4,
                                       GemmKernel::T128x64_8x4, GemmKernel::T128x128_8x8};
constexpr GemmKernel kCoopKernels[] = {GemmKernel::C64x64, GemmKernel::C128x64, GemmKernel::C128x128};
struct GemmChoice {
  GemmKernel kernel = GemmKernel::Auto;
  uint32_t split = 0;  // 0: gemm_choice's (Auto) or 1
};
const char* gemm_kernel_name(GemmKernel k);
// What gemm_f32 runs for a shape: the generic kernel for small products and other strides; else the biggest
// tile that still gives a big discrete GPU enough workgroups, and split-K where even that leaves it half idle.
GemmChoice gemm_choice(const Context& c, uint32_t a_sm, uint32_t a_sk, uint32_t b_sk, uint32_t b_sn, uint32_t M,
                       uint32_t N, uint32_t K);
// gemm_f32 with the kernel and split forced (tests, benchmarks); a tile without a unit-stride layout runs Generic.
void gemm_f32_with(GemmChoice choice, Batch& b, View C, uint32_t c_sm, View A, uint32_t a_sm, uint32_t a_sk, View B,
                   uint32_t b_sk, uint32_t b_sn, uint32_t M, uint32_t N, uint32_t K, float alpha = 1, float beta = 0);
// The dequantizing GEMM: C (M, N) = A (M, K) · op(W) (+ beta·C), A with rows lda apart, for a weight W of a type
// with shaders other than f32: op(W) = Wᵀ for W (N, K) (linear's forward) or, w_kn, W for W (K, N) (its input
// gradient). Kernels: Generic is gemm.comp (64x64 tiles, W element by element through load_w: the kernel before
// the tiles); 64x64_4x4 and 128x64_8x4 are gemm_tiled.comp's tiles with W's quads dequantized into shared memory
// as f32 (split-K as gemm_f32); coop_64x64, coop_128x64 and coop_128x128 are gemm_coop.comp's, the same staging
// in f16 with 16x16x16 products on tensor cores (Context::coop(); the input gradient takes the f32 tiles); Auto is
// qgemm_choice's: EDGELLM_VULKAN_QGEMM=old|tiled|coop|auto|<tile>[:S] (old: Generic; tiled: the tiles at every M;
// coop: the tensor-core tile for the shape; auto, the default: the f32 tiles from 32 rows, gemm_choice's tile and
// split; the tensor-core tiles are not its pick until measured on a card).
struct QWeight {
  const Buffer* b = nullptr;
  uint32_t off = 0, row = 0;  // W's first row and row pitch in dequant.glsl's units (f16: elements, else bytes)
  DType type = DType::Q4_0;
  uint32_t gint_bits = 4, gint_group = 128;
};
GemmChoice qgemm_choice(const Context& c, uint32_t M, uint32_t N, uint32_t K);
// The tensor-core tile and split EDGELLM_VULKAN_QGEMM=coop takes for a shape (kernels/vulkan/gemm.cpp).
GemmChoice coop_choice(uint32_t M, uint32_t N, uint32_t K);
void qgemm_with(GemmChoice choice, Batch& b, View C, uint32_t ldc, View A, uint32_t lda, const QWeight& w, bool w_kn,
                uint32_t M, uint32_t N, uint32_t K, float beta = 0);
// The shader name of a weight type (gemm_<name>, matvec_<name>), or nullptr.
const char* weight_shader_name(DType t);
// Row pitch of a weight with rows of K elements, and its offset, in the shaders' units (dequant.glsl): f32/f16
// elements, the block formats and GINT bytes.
void weight_row_units(DType wt, uint32_t K, uint32_t w_byte_off, int gint_bits, int gint_group, uint32_t& row,
                      uint32_t& off);

// y (M, N) = x (M, K) · Wᵀ (+ beta·y) for W (N, K) of type wt stored in `w` from byte w_byte_off (rows back to
// back; GINT needs bits/group). Picks the matvec shader for M <= 2, else the GEMM (f32: gemm_f32; other types:
// qgemm_with as qgemm_choice picks).
void linear(Batch& b, View y, View x, const Buffer& w, uint32_t w_byte_off, DType wt, uint32_t M, uint32_t N,
            uint32_t K, float beta = 0, int gint_bits = 4, int gint_group = 128);
// Forces the shader: gemm (true) or matvec (false), and for a quantized weight the GEMM's kernel; for tests.
void linear_with(bool use_gemm, Batch& b, View y, View x, const Buffer& w, uint32_t w_byte_off, DType wt,
                 uint32_t M, uint32_t N, uint32_t K, float beta, int gint_bits, int gint_group, GemmChoice gemm = {});

// The decode step's fused matvec (shaders/matvec_fused.comp), one token row: up to three weights of one type
// stored back to back in `w` (rows of K: q|k|v or gate|up), each segment's rows into its own output, with
// RMSNorm folded into the prologue (norm: its weight (K); the sums are scaled by the row's rstd), RoPE on the
// marked segments or silu(gate)·up in the epilogue, and y = result + beta·y (the residual add). Outputs marked
// at_pos advance by the position in `step` ((uint) pos at element 0, cos then sin (HD/2 each) from element 4),
// the KV cache rows, so a recorded step replays at any position.
enum class FusedPair : uint32_t { None = 0, RopeInterleaved = 1, RopeNeox = 2, Swiglu = 3 };
struct FusedOut {
  View y;
  uint32_t rows = 0;  // rows of W in this segment (swiglu: the F outputs; W has 2F rows)
  uint32_t stride = 0;  // y's row stride, used with at_pos
  bool at_pos = false, rope = false;
};
struct FusedMatvec {
  View x;                           // (K) the token's input
  const Buffer* norm = nullptr;     // (K) RMSNorm weight, or none
  float eps = 0, beta = 0;
  const Buffer* w = nullptr;
  uint32_t w_byte_off = 0, K = 0;
  DType wt = DType::F32;
  FusedOut out[3];
  int n_out = 1;
  FusedPair pair = FusedPair::None;
  uint32_t HD = 0;                  // RoPE's head dim
  const Buffer* step = nullptr;     // needed by at_pos and RoPE
};
// Records, where EDGELLM_VULKAN_PREFETCH (MiB) allows the size, shaders/prefetch.comp over `bytes` of `w` from
// byte_off with no barrier before it, so it runs beside the dispatch recorded last and leaves the weights in the
// GPU's L2 for the next one. Off by default: not yet measured on a card. matvec_fused calls it for its weights.
void matvec_fused(Batch& b, const FusedMatvec& f);
uint64_t prefetch_limit_bytes();  // EDGELLM_VULKAN_PREFETCH in bytes; 0 when unset (off)
void prefetch_weights(Batch& b, const Buffer& w, uint64_t byte_off, uint64_t bytes);
// The matvec shaders of a weight type (kernels/vulkan/decode.cpp): Wide (matvec_wide.glsl: Q4_0, Q8_0, Q4_K, Q6_K
// rows staged through shared memory by 16-byte loads, a 64-element unit per thread; needs subgroup shuffles),
// Words (matvec_dot.glsl: Q4_0/Q8_0 4 lanes per block, a word each; other types element by element), Blocks (Q4_0/
// Q8_0 a lane per block), Deep and Deep8 (Q4_0/Q8_0 as Words with 4 or 8 steps' loads issued before any is used:
// more bytes in flight; not yet measured on a card, so both are there for the card to choose).
// EDGELLM_VULKAN_MATVEC=wide|words|blocks|deep|deep8 asks for one (read at every recording); a type or device it
// does not apply to gets Words. Default: Wide for Q4_K and Q6_K where it applies, Words for the rest (measured on
// the H100: bench/RESULTS.md).
enum class MatvecPath { Words, Blocks, Wide, Deep, Deep8 };
MatvecPath matvec_path(const Context& c, DType t);
const char* matvec_path_name(MatvecPath path);  // "words", "blocks", "wide", "deep", "deep8"
// The plain matvec y (M, N) = x (M, K)·Wᵀ (+ beta·y), x rows K apart: linear_with(false, ...)'s shader.
void matvec(Batch& b, View y, View x, const Buffer& w, uint32_t w_byte_off, DType wt, uint32_t M, uint32_t N,
            uint32_t K, float beta, int gint_bits, int gint_group);

// Input gradient of a linear layer: dx (M, K) = dy (M, N) · W (+ beta·dx) for W (N, K) of type wt (the GEMM
// reading W transposed, dequantizing tiles). With linear(), the rest of matmul's backward is gemm_f32 (dWᵀ·x).
// `gemm` forces qgemm_with's kernel (tests).
void linear_backward_x(Batch& b, View dx, View dy, const Buffer& w, uint32_t w_byte_off, DType wt, uint32_t M,
                       uint32_t N, uint32_t K, float beta = 0, int gint_bits = 4, int gint_group = 128,
                       GemmChoice gemm = {});

void rmsnorm_forward(Batch& b, View y, const Buffer* rstd, View x, const Buffer& w, uint32_t rows, uint32_t C,
                     float eps);
void rmsnorm_backward(Batch& b, const Buffer& dx, const Buffer& dw, const Buffer& dy, const Buffer& x,
                      const Buffer& w, const Buffer& rstd, uint32_t rows, uint32_t C);
// y/x rows (T, NH, HD) at a row stride (elements) each; cos/sin (T, D/2). backward: y += Rᵀ·x. rot_dims D < HD
// (partial rotary): only the first D dims of each head rotate; 0: all HD. seqs: that many sequences of T rows back
// to back, each from the tables' first position, in one dispatch (a training batch: not one per sequence).
void rope(Batch& b, View y, uint32_t y_st, View x, uint32_t x_st, const Buffer& cos, const Buffer& sin, uint32_t T,
          uint32_t NH, uint32_t HD, RopePairing pairing, bool backward = false, uint32_t rot_dims = 0,
          uint32_t seqs = 1);
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
// Which shaders attention_forward / attention_backward take for d (ops.cpp says what each needs):
// flash (attention_flash*.comp: rows in registers, subgroup shuffles; HD <= 128), tiled (attention_tiled*.comp,
// FlashAttention-2 style tiles; HD <= 128, 32 KiB of shared memory) or per-row (any HD <= 256).
// EDGELLM_VULKAN_ATTENTION=auto (default) | flash | tiled | naive: the first that applies from the one asked for.
enum class AttentionPath { PerRow, Tiled, Flash };
AttentionPath attention_path(const Context& c, const AttentionDims& d);
const char* attention_path_name(AttentionPath path);  // "flash", "tiled", "per-row"
// One decoded token's attention (the fused decode step): o, q (NH·HD) of head h at offset h·HD; keys and values of
// group g at row s (0 ..= the position in `step`'s first uint) at k/v.off + s·kv_st + g·HD. Two shaders
// (kernels/vulkan/decode.cpp): Split (attention_decode_split.comp: the keys of a head over up to 32 workgroups of
// one or more 64-key tiles (32 for HD > 64), partials merged by the last workgroup; HD <= 128, subgroup shuffles,
// a `work` buffer) and Head (attention_decode.comp: one workgroup per head; any HD a multiple of 4 up to 256).
// EDGELLM_VULKAN_ATTENTION_DECODE=split|head asks for one (a shape or device Split cannot take gets Head);
// default Split where it applies. max_keys: the most keys a replay may see (the cache's capacity); work: zeroed
// once, attention_decode_work_bytes(NH, HD, max_keys) or more, used by Split only (the heads' tickets return to
// zero after each dispatch, so it stays valid across replays), or null (Head). Returns false (recording nothing)
// where neither applies (HD not a multiple of 4 up to 256, or k/v unaligned for vec4 loads).
enum class DecodeAttentionPath { Head, Split };
DecodeAttentionPath attention_decode_path(const Context& c, uint32_t HD);
const char* attention_decode_path_name(DecodeAttentionPath path);  // "head", "split"
size_t attention_decode_work_bytes(uint32_t NH, uint32_t HD, uint32_t max_keys);
bool attention_decode(Batch& b, View o, View q, View k, View v, uint32_t NH, uint32_t KVH, uint32_t HD,
                      uint32_t kv_st, float scale, const Buffer& step, uint32_t max_keys, const Buffer* work);
// Backward of attention_forward over whole buffers (no offsets): dq, dk, dv += (kernel_table.h's semantics,
// softmax recomputed from q, k and the forward's L). Two dispatches: dq (per tile of query rows of a head when
// tiled, else per (t, h)), then dk/dv (per tile of keys of a kv head, else per (s, g)). No window or soft-cap
// (refused, as the CPU's backward does).
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
