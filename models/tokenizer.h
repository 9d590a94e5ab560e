// Tokenizers: the abstract Tokenizer, the vocabulary record a GGUF/HF loader fills, and the loaders.
// Not a training tool and not a Unicode normalizer (NFKC charsmaps are refused); chat templates are in chat_template.h.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/user_data.h"

namespace edgellm {

// ---- Untrusted-input limits (tests/fuzz/RESULTS.md lists every loader's) ---------------------------
// Far above real vocabularies (Gemma 3: 262,144 tokens; Llama 3: 280,147 merges; its tokenizer.json: 9 MB).
constexpr size_t kTokenizerMaxVocab = size_t{1} << 21;            // 2,097,152 tokens
constexpr size_t kTokenizerMaxMerges = size_t{1} << 22;           // 4,194,304 BPE merges
constexpr uint64_t kTokenizerMaxFileBytes = uint64_t{256} << 20;  // tokenizer.json / .model / encoder.json: 256 MiB

// Token kinds, numbered as SentencePiece's ModelProto and GGUF's tokenizer.ggml.token_type.
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,      // <s>, </s>, <|eot_id|>: matched in text only with parse_special, decoded only with render_special
  UserDefined = 4,  // always matched as a whole in text, always decoded as its text
  Unused = 5,
  Byte = 6,  // <0xNN> byte-fallback pieces
};

struct EncodeOptions {
  bool add_bos = false;        // prepend bos_id() when the vocabulary has one
  bool add_eos = false;        // append eos_id() when the vocabulary has one
  bool parse_special = false;  // turn the text of Control tokens ("<s>", "<|eot_id|>") into those tokens
};

// Everything a tokenizer is built from, named after GGUF's tokenizer.ggml.* keys so that a GGUF loader
// fills it field by field; the tokenizer.model and tokenizer.json loaders fill the same record.
struct TokenizerVocab {
  // tokenizer.ggml.model: "llama" (SentencePiece BPE), "unigram" (SentencePiece unigram), "gpt2" (byte-level BPE).
  std::string model;
  // tokenizer.ggml.pre for "gpt2": "gpt2", "llama-bpe" (alias "llama3"), "qwen2", "smollm" (see pretokenize.h).
  std::string pre;
  std::vector<std::string> tokens;  // tokenizer.ggml.tokens, index = id
  std::vector<float> scores;        // tokenizer.ggml.scores (SentencePiece; may be empty for gpt2)
  std::vector<int32_t> types;       // tokenizer.ggml.token_type (TokenType values; empty = all Normal)
  std::vector<std::string> merges;  // tokenizer.ggml.merges, "left right" in rank order (gpt2 only)
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;  // -1: none
  std::optional<bool> add_bos, add_eos;  // tokenizer.ggml.add_bos_token / add_eos_token
  std::optional<bool> add_space_prefix;  // tokenizer.ggml.add_space_prefix (SentencePiece; default true)
  bool remove_extra_whitespaces = false;  // SentencePiece normalizer option (GGUF has no key; default off)
  bool escape_whitespaces = true;         // SentencePiece: ' ' -> U+2581
  std::optional<bool> ignore_merges;      // byte BPE: a word that is itself a token skips merging (default: llama3)
  bool nfc = false;                       // byte BPE: NFC-normalize text first (tokenizer.json "NFC"; GGUF has no key)
  std::string source = "<vocab>";         // file name used in error messages
};

// encode_long's piece size, and what a tokenizer holds while it encodes, per byte of text (pre-tokenized words,
// symbol lists, merge queues): an estimate from issue 24's measurement, perplexity of a 40 MB text tokenized whole
// peaking at 1.77 GB (44 bytes per byte, the text and its ids included); not measured per tokenizer.
constexpr size_t kEncodePieceBytes = size_t{16} << 10;
constexpr size_t kEncodeWorkBytesPerByte = 48;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Text (UTF-8, any bytes) -> ids. Control tokens are recognised only with parse_special; UserDefined always.
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opt = {}) const;
  // encode() of a text of any length (a file to score, a training line, a document) into a vector charged to the
  // arena as `what`: the text goes to the tokenizer in pieces of about kEncodePieceBytes, cut before a space that
  // follows a non-blank byte (where every pre-tokenizer starts a new word), else after a newline, else at a UTF-8
  // boundary; the tokenizer's working memory (~40 bytes per byte of a piece) stays that of one piece. The ids
  // equal encode()'s unless a piece had to be cut inside a run of 16 KiB without spaces or newlines.
  ChargedVector<int32_t> encode_long(std::string_view text, const EncodeOptions& opt, const std::string& what) const;
  // Ids -> text. Control tokens (bos/eos/...) are dropped unless render_special; byte pieces are joined into
  // UTF-8 again (an incomplete sequence stays as raw bytes). Throws Error on an id outside the vocabulary.
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;
  // The bytes one token stands for (U+2581 -> ' ', <0x0A> -> '\n', byte-level chars -> bytes); no prefix stripping.
  std::string token_to_piece(int32_t id, bool render_special = false) const;

  const std::string& token_text(int32_t id) const;  // the vocabulary string as stored
  TokenType token_type(int32_t id) const;
  int32_t token_id(std::string_view text) const;  // -1 when absent
  int32_t vocab_size() const { return static_cast<int32_t>(tokens_.size()); }
  int32_t bos_id() const { return bos_; }
  int32_t eos_id() const { return eos_; }
  int32_t unk_id() const { return unk_; }
  int32_t pad_id() const { return pad_; }
  bool add_bos_default() const { return add_bos_; }  // what llama.cpp does by default for this vocabulary
  bool add_eos_default() const { return add_eos_; }
  // Ids of Control and UserDefined tokens (the ones matched in text before the model-specific split).
  const std::vector<int32_t>& special_ids() const { return special_ids_; }
  virtual std::string_view kind() const = 0;  // "spm-bpe", "spm-unigram", "byte-bpe"
  // The record this tokenizer was built from (what a GGUF writer stores as tokenizer.ggml.*).
  const TokenizerVocab& vocab() const { return vocab_; }

 protected:
  // Plain text between special tokens. `first` is true for the first fragment and for a fragment that
  // follows a special token (where SentencePiece adds its dummy prefix, as llama.cpp does).
  virtual void encode_fragment(std::string_view text, bool first, std::vector<int32_t>& out) const = 0;
  // Plain text with its special tokens matched; `first` as for encode_fragment, updated for the text that follows.
  void encode_text(std::string_view text, bool parse_special, bool& first, std::vector<int32_t>& out) const;
  // Appends the bytes of a non-Control token.
  virtual void append_piece(int32_t id, std::string& out) const = 0;
  // Whether decode() drops one leading space of the first piece (SentencePiece's dummy prefix).
  virtual bool strips_leading_space() const { return false; }
  // The text of a UserDefined token: as written, except that SentencePiece writes its spaces as U+2581 there too
  // (Gemma's "▁▁" tokens decode to two spaces, as in HF's decoder and llama.cpp).
  virtual void append_user_defined(int32_t id, std::string& out) const { out += tokens_[id]; }
  void init_common(const TokenizerVocab& v);  // tokens, types, ids, special-token index; validates

  TokenizerVocab vocab_;
  std::vector<std::string> tokens_;
  std::vector<TokenType> types_;
  std::unordered_map<std::string, int32_t> token_index_;  // text -> id (first id wins on duplicates)
  std::vector<int32_t> special_ids_;
  std::array<std::vector<int32_t>, 256> special_by_byte_;  // special ids by their first byte
  int32_t bos_ = -1, eos_ = -1, unk_ = -1, pad_ = -1;
  bool add_bos_ = false, add_eos_ = false;
  std::string source_;
};

// Builds the tokenizer that `v.model` names; throws FormatError (file = v.source, field = the GGUF key) on
// inconsistent input: sizes that disagree, ids out of range, an unknown model or pre-tokenizer name.
std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerVocab& v);

// The first 259 pieces of a SentencePiece BPE vocabulary with byte fallback, as llama's: <unk>, <s>, </s> (unk_id,
// bos_id, eos_id 0-2) then <0x00>..<0xFF>; scores 0. The built-in tokenizer and the study's trained one start here.
TokenizerVocab byte_fallback_vocab(std::string source);

// SentencePiece tokenizer.model (a ModelProto): parsed by hand, into the record above.
TokenizerVocab parse_sentencepiece_model(std::string_view bytes, const std::string& source);
std::unique_ptr<Tokenizer> load_sentencepiece_model(const std::string& path);

// Hugging Face tokenizer.json: byte-level BPE (GPT-2, Llama 3, Qwen2 style) or SentencePiece-style BPE
// (Metaspace + ByteFallback, as Llama 2 / TinyLlama ship it). bos/eos come from tokenizer_config.json
// beside it when present.
TokenizerVocab parse_hf_tokenizer_json(std::string_view json_text, const std::string& source,
                                       std::string_view tokenizer_config_json = {});
std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::string& path);

// GPT-2's original files: encoder.json (token -> id) and vocab.bpe (merges, one per line after a header).
TokenizerVocab parse_gpt2_encoder(std::string_view encoder_json, const std::string& encoder_source,
                                  std::string_view vocab_bpe, const std::string& bpe_source);
std::unique_ptr<Tokenizer> load_gpt2_encoder(const std::string& encoder_json_path, const std::string& vocab_bpe_path);

// A directory (tokenizer.json preferred, else tokenizer.model) or one of those files.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace edgellm
