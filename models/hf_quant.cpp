// GPTQ / AWQ Hugging Face checkpoints → group-int tensors: quantization_config, then per linear the codes,
// zero points and scales repacked bit-exactly into kernels/quant/gint.h rows. Not a dequantizer to f32.
#include "models/hf_quant.h"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "kernels/quant/gint.h"
#include "models/load_model.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"
#include "runtime/parallel.h"
#include "runtime/parse_meter.h"
#include "runtime/safetensors.h"

namespace edgellm {
namespace {

using json = nlohmann::json;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int get_int(const json& q, const char* key, const std::string& file, const std::string& section) {
  const auto it = q.find(key);
  if (it == q.end() || !it->is_number_integer()) fail_format(file, section + key, "missing or not an integer");
  // Read as int64 and bounded first: get<int> would wrap 4294967300 to 4 and accept it as 4 bits.
  const int64_t v = it->get<int64_t>();
  if (v < 1 || v > 4096) fail_format(file, section + key, "{} is outside 1..4096", v);
  return static_cast<int>(v);
}

uint32_t word_at(const Tensor& t, int64_t i) {
  uint32_t w;
  std::memcpy(&w, t.raw() + 4 * i, 4);
  return w;
}

// `b` bits at bit `bit` of a little-endian stream of 32-bit words, word i = at(i).
template <class At>
int stream_code(const At& at, int64_t bit, int b) {
  const int64_t w = bit >> 5;
  const int off = static_cast<int>(bit & 31);
  uint64_t v = at(w) >> off;
  if (off + b > 32) v |= static_cast<uint64_t>(at(w + 1)) << (32 - off);
  return static_cast<int>(v & ((1u << b) - 1u));
}

Tensor int_tensor(const SafetensorsDir& st, const std::string& name, const Shape& shape) {
  Tensor t = st.tensor(name, shape);
  if (t.dtype() != DType::I32) fail_format(st.file_of(name)->path(), name, "expected i32, got {}", dtype_name(t.dtype()));
  return t;
}

// Scales as raw f16 bits (K/G, N); other float dtypes are rounded to f16.
std::vector<uint16_t> scales_f16(const SafetensorsDir& st, const std::string& name, int64_t groups, int64_t N) {
  const Tensor t = st.tensor(name, Shape{groups, N});
  std::vector<uint16_t> out(static_cast<size_t>(groups * N));
  if (t.dtype() == DType::F16) {
    std::memcpy(out.data(), t.raw(), out.size() * 2);
  } else if (t.dtype() == DType::F32 || t.dtype() == DType::BF16) {
    const Tensor f = t.to(DType::F32);
    for (size_t i = 0; i < out.size(); ++i) out[i] = f32_to_f16(f.data<float>()[i]);
  } else {
    fail_format(st.file_of(name)->path(), name, "scales must be a float type, got {}", dtype_name(t.dtype()));
  }
  return out;
}

// Writes code q at element j of a gint row's code stream (zeroed beforehand).
void put_code(uint8_t* codes, int64_t j, int q, int b) {
  const int64_t bit = j * b;
  codes[bit >> 3] |= static_cast<uint8_t>(q << (bit & 7));
  if ((bit & 7) + b > 8) codes[(bit >> 3) + 1] |= static_cast<uint8_t>(q >> (8 - (bit & 7)));
}

}  // namespace

HfQuantConfig hf_quant_config(const std::string& dir) {
  namespace fs = std::filesystem;
  HfQuantConfig qc;
  json root, older_q;
  std::string section = "quantization_config.";
  const std::string cfg = (fs::path(dir) / "config.json").string();
  root = parse_json_metered(read_file(cfg, 16u << 20), cfg, "config");
  const json* qp = &older_q;  // into the tree, not a copy of the subtree: copying recurses per level
  if (root.is_object() && root.contains("quantization_config") && root["quantization_config"].is_object()) {
    qp = &root["quantization_config"];
    qc.path = cfg;
  } else {
    const std::string older = (fs::path(dir) / "quantize_config.json").string();  // AutoGPTQ before transformers
    std::error_code ec;
    if (!fs::exists(older, ec)) return qc;
    older_q = parse_json_metered(read_file(older, 1u << 20), older);
    if (!older_q.is_object()) fail_format(older, "", "not a JSON object");
    if (!older_q.contains("quant_method")) older_q["quant_method"] = "gptq";
    qc.path = older;
    section.clear();
  }
  const json& q = *qp;
  const std::string method = q.contains("quant_method") && q["quant_method"].is_string() ? lower(q["quant_method"].get<std::string>()) : "";
  if (method == "gptq") qc.method = HfQuantConfig::Method::Gptq;
  else if (method == "awq") qc.method = HfQuantConfig::Method::Awq;
  else fail_format(qc.path, section + "quant_method", "'{}' is not a method edgellm reads (gptq, awq)", method);
  qc.bits = get_int(q, "bits", qc.path, section);
  qc.group = get_int(q, q.contains("group_size") ? "group_size" : "q_group_size", qc.path, section);
  if (qc.group != 32 && qc.group != 64 && qc.group != 128)
    fail_format(qc.path, section + "group_size", "{} is not a group size of edgellm's group-int format (32, 64, 128)", qc.group);
  if (qc.method == HfQuantConfig::Method::Gptq) {
    if (qc.bits != 2 && qc.bits != 3 && qc.bits != 4 && qc.bits != 8)
      fail_format(qc.path, section + "bits", "{} bits: GPTQ checkpoints are read with 2, 3, 4 or 8 bits", qc.bits);
    const std::string fmt = q.contains("checkpoint_format") && q["checkpoint_format"].is_string()
                                ? lower(q["checkpoint_format"].get<std::string>()) : "gptq";
    if (fmt != "gptq" && fmt != "gptq_v2")
      fail_format(qc.path, section + "checkpoint_format", "'{}' is not read (gptq, gptq_v2)", fmt);
    qc.zero_minus_one = fmt == "gptq";
  } else {
    if (qc.bits != 4) fail_format(qc.path, section + "bits", "{} bits: AWQ GEMM checkpoints are 4-bit", qc.bits);
    const std::string version = q.contains("version") && q["version"].is_string() ? lower(q["version"].get<std::string>()) : "gemm";
    if (version != "gemm") fail_format(qc.path, section + "version", "AWQ '{}' layout is not read (gemm)", version);
    if (q.contains("zero_point") && q["zero_point"].is_boolean() && !q["zero_point"].get<bool>())
      fail_format(qc.path, section + "zero_point", "AWQ without zero points is not read");
    qc.zero_minus_one = false;
  }
  return qc;
}

Tensor hf_quant_linear(const SafetensorsDir& st, const std::string& prefix, int64_t N, int64_t K,
                       const HfQuantConfig& qc, const std::string& name) {
  const int b = qc.bits, G = qc.group;
  const std::string file = st.file_of(prefix + ".qweight") ? st.file_of(prefix + ".qweight")->path() : st.dir();
  if (!st.has(prefix + ".qweight")) fail_format(file, prefix + ".qweight", "required tensor is missing");
  if (K % G != 0) fail_format(file, prefix + ".qweight", "in_features {} is not a multiple of group_size {}", K, G);
  const bool awq = qc.method == HfQuantConfig::Method::Awq;
  if ((awq ? N % 8 : N * b % 32) != 0 || K * b % 32 != 0)
    fail_format(file, prefix + ".qweight", "shape ({} out, {} in) does not pack into 32-bit words at {} bits", N, K, b);
  const int64_t ng = K / G;
  const Tensor qw = awq ? int_tensor(st, prefix + ".qweight", Shape{K, N / 8})
                        : int_tensor(st, prefix + ".qweight", Shape{K * b / 32, N});
  const Tensor qz = awq ? int_tensor(st, prefix + ".qzeros", Shape{ng, N / 8})
                        : int_tensor(st, prefix + ".qzeros", Shape{ng, N * b / 32});
  const std::vector<uint16_t> sc = scales_f16(st, prefix + ".scales", ng, N);

  // g_idx → stored column order: inputs sorted by group (stable), each group exactly G inputs.
  std::vector<int32_t> perm;
  if (!awq && st.has(prefix + ".g_idx")) {
    const Tensor gi = int_tensor(st, prefix + ".g_idx", Shape{K});
    const int32_t* g = gi.data<int32_t>();
    bool trivial = true;
    std::vector<int64_t> count(static_cast<size_t>(ng), 0);
    for (int64_t k = 0; k < K; ++k) {
      if (g[k] < 0 || g[k] >= ng) fail_format(file, prefix + ".g_idx", "entry {} is {}, outside 0..{}", k, g[k], ng - 1);
      trivial = trivial && g[k] == k / G;
      ++count[static_cast<size_t>(g[k])];
    }
    if (!trivial) {
      for (int64_t i = 0; i < ng; ++i)
        if (count[static_cast<size_t>(i)] != G)
          fail_format(file, prefix + ".g_idx", "group {} has {} inputs; group-int needs exactly {}", i, count[static_cast<size_t>(i)], G);
      std::vector<int64_t> next(static_cast<size_t>(ng));
      for (int64_t i = 0; i < ng; ++i) next[static_cast<size_t>(i)] = i * G;
      perm.resize(static_cast<size_t>(K));
      for (int64_t k = 0; k < K; ++k) perm[static_cast<size_t>(next[static_cast<size_t>(g[k])]++)] = static_cast<int32_t>(k);
    }
  }

  Tensor out = Tensor::empty({N, K}, gint_dtype(b, G));
  out.name = name;
  const quant::GintParams gp{b, G};
  const int64_t rb = quant::gint_row_bytes(gp, K), cb = quant::gint_codes_bytes(gp, K);
  static constexpr int kAwqSlot[8] = {0, 4, 1, 5, 2, 6, 3, 7};  // output 8c + j sits in nibble kAwqSlot[j]
  const int64_t zw = awq ? N / 8 : N * b / 32;                   // words per qzeros row
  parallel_for(N, 8, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      uint8_t* row = out.raw() + n * rb;
      std::memset(row, 0, static_cast<size_t>(cb));
      for (int64_t j = 0; j < K; ++j) {
        const int64_t k = perm.empty() ? j : perm[static_cast<size_t>(j)];
        const int q = awq ? static_cast<int>((word_at(qw, k * (N / 8) + n / 8) >> (4 * kAwqSlot[n % 8])) & 15u)
                          : stream_code([&](int64_t w) { return word_at(qw, w * N + n); }, k * b, b);
        put_code(row, j, q, b);
      }
      for (int64_t g = 0; g < ng; ++g) {
        int z = awq ? static_cast<int>((word_at(qz, g * zw + n / 8) >> (4 * kAwqSlot[n % 8])) & 15u)
                    : stream_code([&](int64_t w) { return word_at(qz, g * zw + w); }, n * b, b);
        if (qc.zero_minus_one) z += 1;
        const uint16_t s16 = sc[static_cast<size_t>(g * N + n)], z16 = f32_to_f16(static_cast<float>(z));
        std::memcpy(row + cb + 2 * g, &s16, 2);
        std::memcpy(row + cb + 2 * (ng + g), &z16, 2);
      }
    }
  });
  if (!perm.empty()) set_in_perm(out, std::move(perm), file, prefix + ".g_idx");
  return out;
}

}  // namespace edgellm
