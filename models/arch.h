// The architecture registry: the one place where a family's name (Hugging Face config.json `model_type` or
// `architectures`, GGUF `general.architecture`) maps to the options of the transformer block it needs.
// Not the block's math (models/block.h walks it) and not tensor names (the loaders map those per format).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernel_table.h"

namespace edgellm {

// Per-family options of the block, as data. The defaults are the Llama block (pre-RMSNorm, full rotary RoPE on
// every layer, SwiGLU, causal full attention); every other value is described here so a family can name it.
// The CPU walk implements them (models/block.h); refuse_unimplemented() refuses what it does not yet, and
// refuse_family_options() what a backend or the backward lacks.
enum class NormKind { RmsNorm, LayerNorm };
enum class MlpKind { SwiGlu, GeluTanhGlu, Gelu };  // gated SiLU; gated tanh-GELU (GeGLU); plain GELU
enum class PositionKind { Rope, Learned };

struct BlockOptions {
  NormKind norm = NormKind::RmsNorm;
  bool norm_bias = false;          // LayerNorm with a bias (GPT-2)
  bool norm_plus_one = false;      // norm weights applied as 1 + w (Gemma)
  bool post_norms = false;         // a second norm after attention and after the MLP (Gemma 2/3)
  bool qk_norm = false;            // per-head RMSNorm on q and k before RoPE (Qwen3, Gemma 3)
  bool o_bias = false;             // bias on the attention output projection
  bool mlp_bias = false;           // biases in the MLP (GPT-2)
  bool fused_qkv = false;          // one qkv_proj and one gate_up_proj in the files (Phi-3)
  MlpKind mlp = MlpKind::SwiGlu;
  PositionKind positions = PositionKind::Rope;
  double partial_rotary = 1.0;     // fraction of head_dim that RoPE rotates (Phi-3)
  bool rope_skipped_layers = false;  // some layers without RoPE (SmolLM3 no_rope_layers)
  bool two_rope_bases = false;     // local and global rope_theta (Gemma 3)
  double attn_softcap = 0;         // logits ← cap·tanh(logits/cap) in attention, 0 = off (Gemma 2)
  double final_softcap = 0;        // the same on the output logits
  double query_scale = 0;          // attention scale 1/√query_pre_attn_scalar, 0 = 1/√head_dim (Gemma)
  bool embed_scale = false;        // embeddings multiplied by √hidden (Gemma)
  int64_t sliding_window = 0;      // keys within this many positions, 0 = full attention
  bool sliding_every_layer = true; // false: only some layers slide (Gemma 2/3 layer_types)
};

// One known family. `gguf` is the general.architecture a GGUF of it carries and edgellm writes.
struct ArchInfo {
  const char* name;          // edgellm's name (HF model_type where there is one)
  const char* hf_class;      // config.json architectures[0]
  const char* gguf;          // GGUF general.architecture
  RopePairing gguf_rope;     // how llama.cpp's GGUF stores q/k rows for it (permuted for llama: adjacent pairs)
  bool qkv_bias;             // q/k/v biases by default (Qwen2)
  BlockOptions block;        // the family's fixed options; config fields add the rest
};

// Every family known, runnable or not (a family whose options are unimplemented is refused on load).
const std::vector<ArchInfo>& known_archs();
// By HF model_type, then by any architectures entry. Throws FormatError(source, "model_type", ...).
const ArchInfo& arch_from_hf(const std::string& model_type, const std::vector<std::string>& architectures,
                             const std::string& source);
// By GGUF general.architecture (edgellm's name or the GGUF one). Throws FormatError(source, field, ...).
const ArchInfo& arch_from_gguf(const std::string& name, const std::string& source);
const ArchInfo& arch_by_name(const std::string& name);  // edgellm's own name; Error if unknown

// An option of `o` beyond the Llama block: the config field that asks for it (`family_field` for options fixed
// by the family itself) and what it is, in words.
struct OptionAsked {
  bool asked;
  std::string field;
  const char* what;
};
std::vector<OptionAsked> options_beyond_llama(const BlockOptions& o, const std::string& family_field);

// Throws FormatError(source, field, ...) for the first option the block walk does not implement, naming
// the config field that asked for it (`family_field` for options fixed by the family itself).
void refuse_unimplemented(const BlockOptions& o, const std::string& source, const std::string& family_field);

}  // namespace edgellm
