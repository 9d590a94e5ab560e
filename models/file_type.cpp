// llama.cpp file types: the name/id table and llama-quantize's per-tensor recipe for each mix.
#include "models/file_type.h"

#include <array>
#include <cctype>

#include "runtime/error.h"

namespace edgellm {
namespace {

constexpr std::array kFileTypes = {
#define EDGELLM_FILE_TYPE_INFO(name, id, base) FileTypeInfo{FileType::name, #name, DType::base},
    EDGELLM_FILE_TYPES(EDGELLM_FILE_TYPE_INFO)
#undef EDGELLM_FILE_TYPE_INFO
};

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// llama.cpp's use_more_bits: the first and last eighth of the blocks, and every third block between.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// Row length (K, GGUF's ne[0]) of a Llama matrix by its GGUF name.
int64_t matrix_cols(const std::string& name, const LlamaConfig& c) {
  if (contains(name, ".attn_output.")) return c.q_dim();
  if (contains(name, ".ffn_down.")) return c.ffn_dim;
  return c.dim;  // attn_q/k/v, ffn_gate/up, token_embd, output
}

// The type llama-quantize asks for before checking that the row length fits its block.
DType wanted_type(FileType f, DType t, const std::string& name, const LlamaConfig& c) {
  using F = FileType;
  if (name == "output.weight" || (c.tied_embeddings && name == "token_embd.weight"))
    return matrix_cols(name, c) % dtype_info(t).block != 0 ? DType::Q8_0 : t == DType::Q8_0 ? t : DType::Q6_K;
  if (name.rfind("blk.", 0) != 0) return t;  // token_embd keeps the base type
  const int64_t i = std::stoll(name.substr(4, name.find('.', 4) - 4)), n = c.n_layers;
  const int64_t gqa = c.n_kv_heads > 0 ? c.n_heads / c.n_kv_heads : 1;
  if (contains(name, ".attn_v.")) {
    if (f == F::Q2_K) return gqa >= 4 ? DType::Q4_K : DType::Q3_K;
    if (f == F::Q2_K_S && gqa >= 4) return DType::Q4_K;
    if (f == F::Q3_K_M) return i < 2 ? DType::Q5_K : DType::Q4_K;
    if (f == F::Q3_K_L) return DType::Q5_K;
    if ((f == F::Q4_K_M || f == F::Q5_K_M) && use_more_bits(i, n)) return DType::Q6_K;
    if (f == F::Q4_K_S && i < 4) return DType::Q5_K;
  } else if (contains(name, ".ffn_down.")) {
    if (f == F::Q2_K) return DType::Q3_K;
    if (f == F::Q2_K_S && i < n / 8) return DType::Q4_K;
    if (f == F::Q3_K_M) return i < n / 16 ? DType::Q5_K : DType::Q4_K;
    if (f == F::Q3_K_L) return DType::Q5_K;
    if ((f == F::Q4_K_M || f == F::Q5_K_M) && use_more_bits(i, n)) return DType::Q6_K;
    if (f == F::Q4_K_S && i < n / 8) return DType::Q5_K;
  } else if (contains(name, ".attn_output.")) {
    if (f == F::Q2_K) return DType::Q3_K;
    if (f == F::Q3_K_M) return DType::Q4_K;
    if (f == F::Q3_K_L) return DType::Q5_K;
  }
  return t;
}

}  // namespace

std::optional<FileTypeInfo> file_type_from_name(std::string_view name) {
  for (const auto& f : kFileTypes)
    if (same_name(f.name, name)) return f;
  return std::nullopt;
}

const FileTypeInfo& file_type_info(FileType t) {
  for (const auto& f : kFileTypes)
    if (f.ftype == t) return f;
  fail("unknown llama.cpp file type {}", static_cast<uint32_t>(t));
}

std::string file_type_names() {
  std::string out;
  for (const auto& f : kFileTypes) out += (out.empty() ? "" : ", ") + std::string(f.name);
  return out;
}

std::optional<FileType> pure_file_type(DType t) {
  const auto f = file_type_from_name(dtype_name(t));
  return f ? std::optional<FileType>(f->ftype) : std::nullopt;
}

DType file_type_tensor_type(const FileTypeInfo& ft, const std::string& gguf_name, const LlamaConfig& c) {
  if (!dtype_info(ft.base).quantized) return ft.base;  // F32/F16/BF16: no recipe, as llama-quantize
  const DType t = wanted_type(ft.ftype, ft.base, gguf_name, c);
  const int64_t cols = matrix_cols(gguf_name, c);
  if (cols % dtype_info(t).block == 0) return t;
  DType fallback = t;
  switch (t) {
    case DType::Q2_K: case DType::Q3_K: fallback = DType::Q4_0; break;  // llama.cpp: IQ4_NL
    case DType::Q4_K: fallback = DType::Q5_0; break;
    case DType::Q5_K: fallback = DType::Q5_1; break;
    case DType::Q6_K: fallback = DType::Q8_0; break;
    default: break;
  }
  return cols % dtype_info(fallback).block == 0 ? fallback : DType::F16;
}

}  // namespace edgellm
