// The LUT GEMV driver: packing group-int, Q2_K and Q3_K weights into bit-plane tiles, building activation tables,
// and the cache of packed weights used by decode. Not a kernel: the lookups are the table's lut_gemv and
// lut_gemv_kquant (kernels/ref/lut.cpp, arch/).
#include "kernels/lut_gemv.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kernels/quant/blocks.h"
#include "kernels/quant/gint.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/tensor.h"

namespace edgellm {

namespace {

// Shapes of W for N rows of K codes of `bits` in groups of gb 32-blocks; storage not yet allocated.
LutWeights lut_shape(LutFormat format, int64_t N, int64_t K, int bits, int gb) {
  LutWeights W;
  W.format = format, W.N = N, W.K = K, W.bits = bits, W.gb = gb;
  W.nb = (K + 31) / 32, W.Kp = W.nb * 32, W.ng = (W.nb + W.gb - 1) / W.gb;
  W.tiles = (N + kLutRows - 1) / kLutRows;
  W.codes.assign(static_cast<size_t>(W.tiles * W.nb * lut_block_bytes(bits)), 0);
  return W;
}

// Row r of a tile (q: W.Kp codes) into the tile's bit planes `c` (W.nb blocks, layout in lut_gemv.h).
void lut_put_codes(uint8_t* c, int r, const uint8_t* q, const LutWeights& W) {
  const int slot = lut_slot_of_row(r);
  const int64_t bb = lut_block_bytes(W.bits);
  for (int64_t b = 0; b < W.nb; ++b, c += bb)
    for (int j = 0; j < 4; ++j)
      for (int p = 0; p < W.bits; ++p) {
        uint8_t byte = 0;  // bit i: bit p of code 32b + 8j + i
        for (int i = 0; i < 8; ++i) byte |= static_cast<uint8_t>(((q[32 * b + 8 * j + i] >> p) & 1) << i);
        if (p < 2)
          c[j * 32 + 2 * slot + p] = byte;
        else  // plane 2: quad pair j's 16 bytes in slot order, the halves swapped for odd j
          c[128 + j * 16 + (slot ^ (j & 1 ? 8 : 0))] = byte;
      }
}

}  // namespace

LutWeights lut_pack(int64_t N, int64_t K, int bits, int group, const LutRowFn& row) {
  if (bits != 2 && bits != 3) fail("lut_pack: bits={} is not 2 or 3", bits);
  if (group <= 0 || group % 32 != 0) fail("lut_pack: group={} is not a positive multiple of 32", group);
  if (N <= 0 || K <= 0) fail("lut_pack: empty weight ({} x {})", N, K);
  LutWeights W = lut_shape(LutFormat::Group, N, K, bits, group / 32);
  const int64_t tile_scales = W.ng * 2 * kLutRows;
  W.scales.assign(static_cast<size_t>(W.tiles * tile_scales), 0);
  parallel_for(W.tiles, 1, [&](int64_t t0, int64_t t1) {
    std::vector<uint8_t> q(static_cast<size_t>(W.Kp));
    std::vector<float> s(static_cast<size_t>(W.ng)), z(static_cast<size_t>(W.ng));
    for (int64_t t = t0; t < t1; ++t) {
      for (int r = 0; r < kLutRows && t * kLutRows + r < N; ++r) {
        std::fill(q.begin(), q.end(), uint8_t{0});
        row(t * kLutRows + r, q.data(), s.data(), z.data());
        lut_put_codes(W.codes.data() + t * W.nb * lut_block_bytes(bits), r, q.data(), W);
        uint16_t* sc = W.scales.data() + t * tile_scales;
        for (int64_t g = 0; g < W.ng; ++g) {
          sc[g * 2 * kLutRows + r] = f32_to_f16(s[g]);
          sc[g * 2 * kLutRows + kLutRows + r] = f32_to_f16(z[g]);
        }
      }
    }
  });
  return W;
}

LutWeights lut_pack_gint(const uint8_t* w, int64_t N, int64_t K, int bits, int group) {
  const quant::GintParams p{bits, group};
  quant::gint_check(p, K);
  const int64_t rb = quant::gint_row_bytes(p, K), ng = K / group;
  return lut_pack(N, K, bits, group, [&](int64_t r, uint8_t* q, float* s, float* z) {
    const uint8_t* row = w + r * rb;
    for (int64_t k = 0; k < K; ++k) q[k] = static_cast<uint8_t>(quant::gint_code(row, k, bits));
    const uint8_t* sz = row + quant::gint_codes_bytes(p, K);
    for (int64_t g = 0; g < ng; ++g) {
      uint16_t s16, z16;
      std::memcpy(&s16, sz + 2 * g, 2);
      std::memcpy(&z16, sz + 2 * (ng + g), 2);
      s[g] = f16_to_f32(s16);  // f16 values: the packer's f16 rounding keeps them exact
      z[g] = f16_to_f32(z16);
    }
  });
}

LutWeights lut_pack_kquant(const uint8_t* w, DType type, int64_t N, int64_t K) {
  if (type != DType::Q2_K && type != DType::Q3_K)
    fail("lut_pack_kquant: type {} is not q2_k or q3_k", dtype_name(type));
  if (N <= 0 || K <= 0 || K % quant::QK_K != 0)
    fail("lut_pack_kquant: {} weight ({} x {}): K is not a positive multiple of 256", dtype_name(type), N, K);
  const bool q2 = type == DType::Q2_K;
  LutWeights W = lut_shape(q2 ? LutFormat::Q2_K : LutFormat::Q3_K, N, K, q2 ? 2 : 3, quant::QK_K / 32);
  const int nd = q2 ? 2 : 1;  // f16 per row and super-block: d (and dmin)
  const int64_t tile_scales = W.ng * nd * kLutRows, tile_sub = W.nb * 2 * kLutRows;
  W.scales.assign(static_cast<size_t>(W.tiles * tile_scales), 0);
  W.sub.assign(static_cast<size_t>(W.tiles * tile_sub), 0);
  const int64_t rb = dtype_row_bytes(type, K);
  parallel_for(W.tiles, 1, [&](int64_t t0, int64_t t1) {
    std::vector<uint8_t> q(static_cast<size_t>(W.Kp));
    for (int64_t t = t0; t < t1; ++t)
      for (int r = 0; r < kLutRows && t * kLutRows + r < N; ++r) {
        const uint8_t* row = w + (t * kLutRows + r) * rb;
        uint16_t* sc = W.scales.data() + t * tile_scales;
        uint8_t* sub = W.sub.data() + t * tile_sub;
        for (int64_t s = 0; s < W.ng; ++s) {
          // Element e: low 2 bits in qs[32·(e/128) + e%32] at bit 2·((e%128)/32); Q3_K's third bit in
          // hmask[e%32] at bit e/32 (kernels/quant/blocks.h): hmask set means no − 4, so plane 2 gets the −4
          // flag (1 − that bit) and q = (code & 3) − 4·(code >> 2).
          const auto* b2 = q2 ? reinterpret_cast<const quant::block_q2_K*>(row) + s : nullptr;
          const auto* b3 = q2 ? nullptr : reinterpret_cast<const quant::block_q3_K*>(row) + s;
          const uint8_t* qs = q2 ? b2->qs : b3->qs;
          uint8_t* qd = q.data() + s * quant::QK_K;
          for (int e = 0; e < quant::QK_K; ++e) {
            const int lo = (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            qd[e] = static_cast<uint8_t>(q2 ? lo : lo | ((~b3->hmask[e % 32] >> (e / 32)) & 1) << 2);
          }
          int8_t sc3[16];
          if (q2) {
            sc[s * nd * kLutRows + r] = b2->d;
            sc[s * nd * kLutRows + kLutRows + r] = b2->dmin;
          } else {
            sc[s * nd * kLutRows + r] = b3->d;
            quant::unpack_q3_k_scales(b3->scales, sc3);
          }
          for (int j = 0; j < 16; ++j)  // sub-block j sits in 32-block 8s + j/2, half j%2
            sub[(8 * s + j / 2) * 2 * kLutRows + 2 * r + j % 2] =
                q2 ? b2->scales[j] : static_cast<uint8_t>(static_cast<int8_t>(sc3[j] - 32));
        }
        lut_put_codes(W.codes.data() + t * W.nb * lut_block_bytes(W.bits), r, q.data(), W);
      }
  });
  return W;
}

namespace {

// The 8 tables of one 32-block of int8 activations a (32) into tab (256 bytes, layout in lut_gemv.h).
void lut_tables_of_block(uint8_t* block, const int* a) {
  for (int q = 0; q < 8; ++q) {
    uint8_t* tab = block + lut_quad_table(q);
    int16_t e[16];
    e[0] = 0;
    // Entry i adds one activation to the entry without i's lowest set bit: 15 adds per table.
    for (int i = 1; i < 16; ++i) e[i] = static_cast<int16_t>(e[i & (i - 1)] + a[4 * q + __builtin_ctz(i)]);
    for (int i = 0; i < 16; ++i) {
      tab[i] = static_cast<uint8_t>(static_cast<uint16_t>(e[i]) & 0xFF);
      tab[32 + i] = static_cast<uint8_t>(static_cast<uint16_t>(e[i]) >> 8);
    }
  }
}

}  // namespace

void lut_prepare(LutActivations& act, const float* x, const LutWeights& W, const KernelTable& t) {
  act.tables.resize(static_cast<size_t>(W.Kp / 4 * 32));
  if (W.format != LutFormat::Group) {
    // Q8_K, as matmul_quant quantizes for the Q2_K / Q3_K vec_dot: the same integers, the same scales.
    const int64_t nsb = W.ng;
    act.q8.resize(static_cast<size_t>(nsb) * sizeof(quant::block_q8_K));
    t.quantize_q8_k(act.q8.data(), x, W.K);
    act.xd.resize(static_cast<size_t>(nsb));
    act.bsums.resize(static_cast<size_t>(nsb * 16));
    const auto* xq = reinterpret_cast<const quant::block_q8_K*>(act.q8.data());
    for (int64_t s = 0; s < nsb; ++s) {
      act.xd[static_cast<size_t>(s)] = xq[s].d;
      std::copy(xq[s].bsums, xq[s].bsums + 16, act.bsums.begin() + s * 16);
      for (int b = 0; b < 8; ++b) {
        int a[32];
        for (int i = 0; i < 32; ++i) a[i] = xq[s].qs[32 * b + i];
        lut_tables_of_block(act.tables.data() + (8 * s + b) * 8 * 32, a);
      }
    }
    return;
  }
  act.xd.resize(static_cast<size_t>(W.nb));
  act.xg.assign(static_cast<size_t>(W.ng), 0.0f);
  for (int64_t b = 0; b < W.nb; ++b) {
    const int64_t k0 = 32 * b, n = std::min<int64_t>(32, W.K - k0);
    float amax = 0;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[k0 + i]));
    const float d = amax / 127.0f, inv = amax > 0 ? 127.0f / amax : 0.0f;
    int a[32] = {};
    int asum = 0;
    for (int64_t i = 0; i < n; ++i) asum += a[i] = static_cast<int>(std::lrintf(x[k0 + i] * inv));
    act.xd[static_cast<size_t>(b)] = d;
    act.xg[static_cast<size_t>(b / W.gb)] += d * static_cast<float>(asum);
    lut_tables_of_block(act.tables.data() + 8 * b * 32, a);
  }
}

void lut_matmul(float* y, const float* x, int64_t M, const LutWeights& W, const KernelTable& t) {
  thread_local std::vector<LutActivations> acts;
  if (static_cast<int64_t>(acts.size()) < M) acts.resize(static_cast<size_t>(M));
  // Plain pointers for the workers: a lambda does not capture a thread_local, it would name the worker's own copy.
  const LutActivations* act = acts.data();
  for (int64_t m = 0; m < M; ++m) lut_prepare(acts[static_cast<size_t>(m)], x + m * W.K, W, t);
  const bool kquant = W.format != LutFormat::Group;
  const int64_t tile_codes = W.nb * lut_block_bytes(W.bits), tile_sub = W.nb * 2 * kLutRows;
  const int64_t tile_scales = W.ng * (W.format == LutFormat::Q3_K ? 1 : 2) * kLutRows;
  // `n` tiles from tile t0 against row m of x into out.
  auto run = [&](float* out, int64_t m, int64_t t0, int64_t n) {
    const LutActivations& a = act[m];
    if (kquant)
      t.lut_gemv_kquant(out, W.codes.data() + t0 * tile_codes, W.sub.data() + t0 * tile_sub,
                        W.scales.data() + t0 * tile_scales, a.tables.data(), a.xd.data(), a.bsums.data(), n, W.ng,
                        W.bits);
    else
      t.lut_gemv(out, W.codes.data() + t0 * tile_codes, W.scales.data() + t0 * tile_scales, a.tables.data(),
                 a.xd.data(), a.xg.data(), n, W.nb, W.bits, W.gb);
  };
  // Several rows of x take a chunk of tiles in turn while its codes (<= 256 KiB) stay in L2: W streams once.
  const int64_t chunk = M == 1 ? W.tiles : std::max<int64_t>(1, (256 << 10) / tile_codes);
  const int64_t full = W.N / kLutRows;  // tiles written straight into y; a short last tile goes through a buffer
  parallel_for(W.tiles, 4, [&](int64_t t0, int64_t t1) {
    for (int64_t c0 = t0; c0 < t1; c0 += chunk) {
      const int64_t c1 = std::min(t1, c0 + chunk), f1 = std::min(c1, full);
      for (int64_t m = 0; m < M; ++m) {
        if (c0 < f1) run(y + m * W.N + c0 * kLutRows, m, c0, f1 - c0);
        if (c1 > full) {
          float tail[kLutRows];
          run(tail, m, full, 1);
          std::copy(tail, tail + (W.N - full * kLutRows), y + m * W.N + full * kLutRows);
        }
      }
    }
  });
}

bool lut_gemv_selected(DType w, int64_t M) {
  static const bool enabled = [] {
    const char* e = std::getenv("EDGELLM_LUT");
    return !(e && std::string(e) == "0");
  }();
  return enabled && M >= 1 && M <= kLutMaxRows && (w == DType::Q2_K || w == DType::Q3_K ||
                     (dtype_is_gint(w) && (gint_bits(w) == 2 || gint_bits(w) == 3)));
}

const char* lut_gemv_isa(DType w, const KernelTable& t) {
  return w == DType::Q2_K || w == DType::Q3_K ? t.lut_gemv_kquant_isa : t.lut_gemv_isa;
}

const LutWeights& lut_weights_of(const Tensor& W) {
  // Keyed by the weight's bytes; the weak storage handle tells a live weight from a freed one whose address was
  // reused (then the entry is rebuilt).
  struct Entry {
    std::weak_ptr<Storage> storage;
    std::shared_ptr<const LutWeights> packed;
  };
  static std::mutex mu;
  static std::map<const uint8_t*, Entry> cache;
  std::lock_guard<std::mutex> lock(mu);
  Entry& e = cache[W.raw()];
  if (!e.packed || e.storage.expired() || e.storage.lock() != W.storage()) {
    for (auto it = cache.begin(); it != cache.end();) it = it->second.storage.expired() ? cache.erase(it) : ++it;
    Entry& fresh = cache[W.raw()];
    fresh.storage = W.storage();
    const int64_t N = W.shape().rows(), K = W.shape().cols();
    fresh.packed = std::make_shared<const LutWeights>(
        dtype_is_gint(W.dtype()) ? lut_pack_gint(W.raw(), N, K, gint_bits(W.dtype()), gint_group(W.dtype()))
                                 : lut_pack_kquant(W.raw(), W.dtype(), N, K));
    return *fresh.packed;
  }
  return *e.packed;
}

}  // namespace edgellm
