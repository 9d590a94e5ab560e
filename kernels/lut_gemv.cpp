// The LUT GEMV driver: packing weights into bit-plane tiles, building activation tables, and the cache of packed
// weights used by decode. Not a kernel: the lookups are the table's lut_gemv (kernels/ref/lut.cpp, arch/).
#include "kernels/lut_gemv.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kernels/quant/gint.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/tensor.h"

namespace edgellm {

LutWeights lut_pack(int64_t N, int64_t K, int bits, int group, const LutRowFn& row) {
  if (bits != 2 && bits != 3) fail("lut_pack: bits={} is not 2 or 3", bits);
  if (group <= 0 || group % 32 != 0) fail("lut_pack: group={} is not a positive multiple of 32", group);
  if (N <= 0 || K <= 0) fail("lut_pack: empty weight ({} x {})", N, K);
  LutWeights W;
  W.N = N, W.K = K, W.bits = bits, W.gb = group / 32;
  W.nb = (K + 31) / 32, W.Kp = W.nb * 32, W.ng = (W.nb + W.gb - 1) / W.gb;
  W.tiles = (N + kLutRows - 1) / kLutRows;
  const int64_t bb = lut_block_bytes(bits), tile_scales = W.ng * 2 * kLutRows;
  W.codes.assign(static_cast<size_t>(W.tiles * W.nb * bb), 0);
  W.scales.assign(static_cast<size_t>(W.tiles * tile_scales), 0);
  parallel_for(W.tiles, 1, [&](int64_t t0, int64_t t1) {
    std::vector<uint8_t> q(static_cast<size_t>(W.Kp));
    std::vector<float> s(static_cast<size_t>(W.ng)), z(static_cast<size_t>(W.ng));
    for (int64_t t = t0; t < t1; ++t) {
      for (int r = 0; r < kLutRows && t * kLutRows + r < N; ++r) {
        std::fill(q.begin(), q.end(), uint8_t{0});
        row(t * kLutRows + r, q.data(), s.data(), z.data());
        const int slot = lut_slot_of_row(r);
        for (int64_t b = 0; b < W.nb; ++b) {
          uint8_t* c = W.codes.data() + (t * W.nb + b) * bb;
          for (int j = 0; j < 4; ++j)
            for (int p = 0; p < bits; ++p) {
              uint8_t byte = 0;  // bit i: bit p of code 32b + 8j + i
              for (int i = 0; i < 8; ++i) byte |= static_cast<uint8_t>(((q[32 * b + 8 * j + i] >> p) & 1) << i);
              if (p < 2)
                c[j * 32 + 2 * slot + p] = byte;
              else  // plane 2: lane j (16 bytes each), row r at byte 2r (r < 8) or 2(r − 8) + 1
                c[128 + j * 16 + (r < 8 ? 2 * r : 2 * (r - 8) + 1)] = byte;
            }
        }
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

void lut_prepare(LutActivations& act, const float* x, const LutWeights& W) {
  act.tables.resize(static_cast<size_t>(W.Kp / 4 * 32));
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
    for (int q = 0; q < 8; ++q) {
      uint8_t* tab = act.tables.data() + (8 * b + q) * 32;
      int16_t e[16];
      e[0] = 0;
      // Entry i adds one activation to the entry without i's lowest set bit: 15 adds per table.
      for (int i = 1; i < 16; ++i) e[i] = static_cast<int16_t>(e[i & (i - 1)] + a[4 * q + __builtin_ctz(i)]);
      for (int i = 0; i < 16; ++i) {
        tab[i] = static_cast<uint8_t>(static_cast<uint16_t>(e[i]) & 0xFF);
        tab[16 + i] = static_cast<uint8_t>(static_cast<uint16_t>(e[i]) >> 8);
      }
    }
  }
}

void lut_gemv(float* y, const float* x, const LutWeights& W, const KernelTable& t) {
  thread_local LutActivations act;
  lut_prepare(act, x, W);
  // Plain locals for the workers: a lambda does not capture a thread_local, it would name the worker's own copy.
  const uint8_t* tables = act.tables.data();
  const float *xd = act.xd.data(), *xg = act.xg.data();
  const int64_t tile_codes = W.nb * lut_block_bytes(W.bits), tile_scales = W.ng * 2 * kLutRows;
  const int64_t full = W.N / kLutRows;  // tiles written straight into y; a short last tile goes through a buffer
  parallel_for(W.tiles, 4, [&](int64_t t0, int64_t t1) {
    const int64_t f1 = std::min(t1, full);
    if (t0 < f1)
      t.lut_gemv(y + t0 * kLutRows, W.codes.data() + t0 * tile_codes, W.scales.data() + t0 * tile_scales,
                 tables, xd, xg, f1 - t0, W.nb, W.bits, W.gb);
    if (t1 > full) {
      float tail[kLutRows];
      t.lut_gemv(tail, W.codes.data() + full * tile_codes, W.scales.data() + full * tile_scales, tables, xd, xg, 1,
                 W.nb, W.bits, W.gb);
      std::copy(tail, tail + (W.N - full * kLutRows), y + full * kLutRows);
    }
  });
}

bool lut_gemv_selected(DType w) {
  static const bool enabled = [] {
    const char* e = std::getenv("EDGELLM_LUT");
    return !(e && std::string(e) == "0");
  }();
  return enabled && dtype_is_gint(w) && (gint_bits(w) == 2 || gint_bits(w) == 3);
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
    fresh.packed = std::make_shared<const LutWeights>(
        lut_pack_gint(W.raw(), W.shape().rows(), W.shape().cols(), gint_bits(W.dtype()), gint_group(W.dtype())));
    return *fresh.packed;
  }
  return *e.packed;
}

}  // namespace edgellm
