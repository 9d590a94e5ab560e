// llama.cpp's file types (GGUF general.file_type; llama-quantize's names Q4_0, Q4_K_M, Q3_K_S, ...) and the
// per-tensor types llama-quantize picks for each on a Llama-family model. Not the quantizers (kernels/quant).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "models/llama_config.h"
#include "runtime/dtype.h"

namespace edgellm {

// The one list of file types: llama-quantize's name, its llama_ftype id, the base matrix type (DType).
// Mixes (Q2_K, Q3_K_M, Q4_K_S, ...) raise some tensors above the base; see file_type_tensor_type.
#define EDGELLM_FILE_TYPES(X)                                                                                  \
  X(F32, 0, F32) X(F16, 1, F16) X(Q4_0, 2, Q4_0) X(Q4_1, 3, Q4_1) X(Q8_0, 7, Q8_0) X(Q5_0, 8, Q5_0)            \
  X(Q5_1, 9, Q5_1) X(Q2_K, 10, Q2_K) X(Q3_K_S, 11, Q3_K) X(Q3_K_M, 12, Q3_K) X(Q3_K_L, 13, Q3_K)               \
  X(Q4_K_S, 14, Q4_K) X(Q4_K_M, 15, Q4_K) X(Q5_K_S, 16, Q5_K) X(Q5_K_M, 17, Q5_K) X(Q6_K, 18, Q6_K)            \
  X(Q2_K_S, 21, Q2_K) X(BF16, 32, BF16)

enum class FileType : uint32_t {
#define EDGELLM_FILE_TYPE_ENUM(name, id, base) name = id,
  EDGELLM_FILE_TYPES(EDGELLM_FILE_TYPE_ENUM)
#undef EDGELLM_FILE_TYPE_ENUM
};

struct FileTypeInfo {
  FileType ftype;
  std::string_view name;  // "Q4_K_M"
  DType base;             // the type of every matrix the recipe does not raise
};

// Case-insensitive ("q4_k_m", "Q4_K_M"); nullopt for a name that is not a llama.cpp file type.
std::optional<FileTypeInfo> file_type_from_name(std::string_view name);
const FileTypeInfo& file_type_info(FileType t);
// Comma-separated names of all file types, for help and error messages.
std::string file_type_names();

// The general.file_type of a file whose every matrix is `t` (what is written): the file type named like t
// (Q4_0, Q8_0, Q6_K, F16, ...). nullopt for Q3_K, Q4_K and Q5_K: llama.cpp has no "all Q4_K" file type
// (Q4_K_M and Q4_K_S are mixes), so such a file carries none rather than a mix's label.
std::optional<FileType> pure_file_type(DType t);

// llama-quantize's choice (llama_tensor_get_type, non-pure, no imatrix) for the matrix `gguf_name`
// ("blk.3.ffn_down.weight", "output.weight") of a Llama-family model `c`, when writing file type `ft`:
// Q6_K for the output matrix, more bits for attn_v / ffn_down / attn_output in the first, last and every
// third blocks per mix, and llama.cpp's fallback when the row length is not a multiple of the type's block
// (Q4_K→Q5_0, Q5_K→Q5_1, Q6_K→Q8_0, then F16; Q2_K/Q3_K→Q4_0, where llama.cpp uses IQ4_NL, which edgellm
// does not have). With tied embeddings token_embd is the output matrix and takes its type.
DType file_type_tensor_type(const FileTypeInfo& ft, const std::string& gguf_name, const LlamaConfig& c);

}  // namespace edgellm
