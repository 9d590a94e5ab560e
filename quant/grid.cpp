// Quantization grids (Gint, Q4_0, Q4_1, Q8_0): parameters, rounding, packing, RTN over a matrix.
// Not the GGUF reference quantizers (kernels/ref/quant_legacy.cpp): these round to nearest, and GPTQ/AWQ
// call them with already-updated weights. Compiled with -ffp-contract=off so values match the decoders.
#include "quant/grid.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/quant/blocks.h"
#include "kernels/quant_convert.h"
#include "runtime/error.h"

namespace edgellm::quant {

GridKind grid_kind(const QuantSpec& s) {
  if (s.prefer_gguf && s.group == 32) {
    if (s.bits == 4) return s.symmetric ? GridKind::Q4_0 : GridKind::Q4_1;
    if (s.bits == 8 && s.symmetric) return GridKind::Q8_0;
  }
  if (s.bits != 2 && s.bits != 3 && s.bits != 4 && s.bits != 8)
    fail("quantize: bits={} is not one of 2, 3, 4, 8", s.bits);
  if (s.group != 32 && s.group != 64 && s.group != 128) fail("quantize: group={} is not 32, 64 or 128", s.group);
  return GridKind::Gint;
}

const char* grid_name(GridKind k) {
  switch (k) {
    case GridKind::Gint: return "gint";
    case GridKind::Q4_0: return "q4_0";
    case GridKind::Q4_1: return "q4_1";
    case GridKind::Q8_0: return "q8_0";
  }
  return "?";
}

bool parse_quant_spec(const std::string& name, QuantSpec& out) {
  if (name == "q4_0") { out = {4, 32, true, true}; return true; }
  if (name == "q4_1") { out = {4, 32, false, true}; return true; }
  if (name == "q8_0") { out = {8, 32, true, true}; return true; }
  bool sym;
  size_t pos;
  if (name.rfind("uint", 0) == 0) { sym = false; pos = 4; }
  else if (name.rfind("int", 0) == 0) { sym = true; pos = 3; }
  else return false;
  const size_t g = name.find('g', pos);
  if (g == std::string::npos || g == pos) return false;
  try {
    out.bits = std::stoi(name.substr(pos, g - pos));
    out.group = std::stoi(name.substr(g + 1));
  } catch (...) { return false; }
  out.symmetric = sym;
  out.prefer_gguf = false;  // an explicit intN name asks for the group-int format
  return true;
}

Grid::Grid(const QuantSpec& s) : kind(grid_kind(s)), bits(s.bits), group(s.group), symmetric(s.symmetric) {
  switch (kind) {
    case GridKind::Gint: qmin = 0; qmax = (1 << bits) - 1; break;
    case GridKind::Q4_0: case GridKind::Q4_1: qmin = 0; qmax = 15; break;
    case GridKind::Q8_0: qmin = -127; qmax = 127; break;
  }
}

static float f16r(float x) { return f16_to_f32(f32_to_f16(x)); }

GroupParams Grid::params(const float* w, int64_t n, int64_t stride, float shrink) const {
  float mn = w[0], mx = w[0], amax = 0, smax = 0;
  for (int64_t j = 0; j < n; ++j) {
    const float v = w[j * stride];
    mn = std::min(mn, v);
    mx = std::max(mx, v);
    if (std::fabs(v) > amax) { amax = std::fabs(v); smax = v; }
  }
  mn *= shrink; mx *= shrink; amax *= shrink; smax *= shrink;
  GroupParams p;
  switch (kind) {
    case GridKind::Gint:
      if (symmetric) {
        p.s = f16r(2.0f * amax / static_cast<float>(qmax));
        p.z = static_cast<float>(1 << (bits - 1));
      } else {
        const float lo = std::min(0.0f, mn), hi = std::max(0.0f, mx);
        p.s = f16r((hi - lo) / static_cast<float>(qmax));
        p.z = p.s > 0 ? std::clamp(std::round(-lo / p.s), 0.0f, static_cast<float>(qmax)) : 0.0f;
      }
      break;
    case GridKind::Q4_0: p.s = f16r(smax / -8.0f); break;
    case GridKind::Q4_1: p.s = f16r((mx - mn) / 15.0f); p.z = f16r(mn); break;
    case GridKind::Q8_0: p.s = f16r(amax / 127.0f); break;
  }
  return p;
}

int Grid::code(const GroupParams& p, float w) const {
  if (p.s == 0.0f) {
    switch (kind) {
      case GridKind::Gint: return std::clamp(static_cast<int>(p.z), qmin, qmax);
      case GridKind::Q4_0: return 8;
      default: return 0;
    }
  }
  float t = 0;
  switch (kind) {
    case GridKind::Gint: t = w / p.s + p.z; break;
    case GridKind::Q4_0: t = w / p.s + 8.0f; break;
    case GridKind::Q4_1: t = (w - p.z) / p.s; break;
    case GridKind::Q8_0: t = w / p.s; break;
  }
  return std::clamp(static_cast<int>(std::lrintf(t)), qmin, qmax);
}

// Same expressions, in the same order, as the storage decoders.
float Grid::value(const GroupParams& p, int q) const {
  switch (kind) {
    case GridKind::Gint: return p.s * (static_cast<float>(q) - p.z);
    case GridKind::Q4_0: return static_cast<float>(q - 8) * p.s;
    case GridKind::Q4_1: return static_cast<float>(q) * p.s + p.z;
    case GridKind::Q8_0: return static_cast<float>(q) * p.s;
  }
  return 0;
}

int64_t Grid::row_bytes(int64_t K) const {
  if (kind == GridKind::Gint) return gint_row_bytes(GintParams{bits, group}, K);
  return dtype_row_bytes(gguf_type(), K);
}

DType Grid::gguf_type() const {
  switch (kind) {
    case GridKind::Q4_0: return DType::Q4_0;
    case GridKind::Q4_1: return DType::Q4_1;
    case GridKind::Q8_0: return DType::Q8_0;
    default: return gint_dtype(bits, group);
  }
}

void Grid::pack_row(uint8_t* dst, const int* q, const GroupParams* gp, int64_t K) const {
  const int64_t ng = K / group;
  switch (kind) {
    case GridKind::Gint: {
      const GintParams gpar{bits, group};
      std::memset(dst, 0, static_cast<size_t>(row_bytes(K)));
      for (int64_t k = 0; k < K; ++k) {
        const int64_t bit = k * bits;
        dst[bit >> 3] |= static_cast<uint8_t>(q[k] << (bit & 7));
        if ((bit & 7) + bits > 8) dst[(bit >> 3) + 1] |= static_cast<uint8_t>(q[k] >> (8 - (bit & 7)));
      }
      uint8_t* sz = dst + gint_codes_bytes(gpar, K);
      for (int64_t g = 0; g < ng; ++g) {
        const uint16_t s16 = f32_to_f16(gp[g].s), z16 = f32_to_f16(gp[g].z);
        std::memcpy(sz + 2 * g, &s16, 2);
        std::memcpy(sz + 2 * (ng + g), &z16, 2);
      }
      break;
    }
    case GridKind::Q4_0: {
      auto* b = reinterpret_cast<block_q4_0*>(dst);
      for (int64_t g = 0; g < ng; ++g) {
        b[g].d = f32_to_f16(gp[g].s);
        for (int j = 0; j < QK / 2; ++j)
          b[g].qs[j] = static_cast<uint8_t>(q[g * QK + j] | (q[g * QK + j + QK / 2] << 4));
      }
      break;
    }
    case GridKind::Q4_1: {
      auto* b = reinterpret_cast<block_q4_1*>(dst);
      for (int64_t g = 0; g < ng; ++g) {
        b[g].d = f32_to_f16(gp[g].s);
        b[g].m = f32_to_f16(gp[g].z);
        for (int j = 0; j < QK / 2; ++j)
          b[g].qs[j] = static_cast<uint8_t>(q[g * QK + j] | (q[g * QK + j + QK / 2] << 4));
      }
      break;
    }
    case GridKind::Q8_0: {
      auto* b = reinterpret_cast<block_q8_0*>(dst);
      for (int64_t g = 0; g < ng; ++g) {
        b[g].d = f32_to_f16(gp[g].s);
        for (int j = 0; j < QK; ++j) b[g].qs[j] = static_cast<int8_t>(q[g * QK + j]);
      }
      break;
    }
  }
}

QuantizedMatrix rtn_quantize(const float* W, int64_t N, int64_t K, const QuantSpec& spec) {
  const Grid grid(spec);
  if (K % grid.group != 0) fail("rtn_quantize: K={} is not a multiple of the group size {}", K, grid.group);
  QuantizedMatrix out;
  out.spec = spec; out.kind = grid.kind; out.N = N; out.K = K;
  const int64_t rb = grid.row_bytes(K), ng = K / grid.group;
  out.data.resize(static_cast<size_t>(N * rb));
  out.values.resize(static_cast<size_t>(N * K));
  std::vector<int> q(static_cast<size_t>(K));
  std::vector<GroupParams> gp(static_cast<size_t>(ng));
  for (int64_t n = 0; n < N; ++n) {
    const float* w = W + n * K;
    for (int64_t g = 0; g < ng; ++g) {
      gp[g] = grid.params(w + g * grid.group, grid.group);
      for (int64_t j = g * grid.group; j < (g + 1) * grid.group; ++j) {
        q[j] = grid.code(gp[g], w[j]);
        out.values[n * K + j] = grid.value(gp[g], q[j]);
      }
    }
    grid.pack_row(out.data.data() + n * rb, q.data(), gp.data(), K);
  }
  return out;
}

void decode_quantized(const QuantizedMatrix& q, float* out) {
  const Grid grid(q.spec);
  const int64_t rb = grid.row_bytes(q.K);
  for (int64_t n = 0; n < q.N; ++n) {
    const uint8_t* row = q.data.data() + n * rb;
    if (grid.kind == GridKind::Gint) dequantize_row_gint(out + n * q.K, row, q.K, GintParams{grid.bits, grid.group});
    else dequantize_row_from(grid.gguf_type(), out + n * q.K, row, q.K);
  }
}

}  // namespace edgellm::quant
