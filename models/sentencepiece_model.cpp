// SentencePiece tokenizer.model reader: a minimal protobuf wire-format walker for ModelProto's few fields we use.
// Does not read self-test data or the denormalizer, and refuses models that need an NFKC charsmap.
#include <cstring>

#include "models/tokenizer.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"

namespace edgellm {
namespace {

// Protobuf wire types.
enum Wire : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

class ProtoReader {
 public:
  ProtoReader(std::string_view bytes, const std::string& source, std::string message)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()), source_(source), message_(std::move(message)) {}

  bool done() const { return p_ >= end_; }

  // Next field header; returns field number and stores the wire type.
  uint32_t next(uint32_t& wire) {
    const uint64_t key = varint("field key");
    wire = static_cast<uint32_t>(key & 7);
    if ((key >> 3) == 0 || (key >> 3) > 0x1FFFFFFF) error("field key", "field number {} is invalid", key >> 3);
    return static_cast<uint32_t>(key >> 3);
  }

  uint64_t varint(const char* what) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) error(what, "varint runs past the end of the message");
      const auto c = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(c & 0x7F) << shift;
      if (c < 0x80) return v;
    }
    error(what, "varint longer than 10 bytes");
  }

  std::string_view bytes(const char* what) {
    const uint64_t n = varint(what);
    if (n > static_cast<uint64_t>(end_ - p_)) error(what, "length {} runs past the end ({} bytes left)", n, end_ - p_);
    std::string_view s(p_, n);
    p_ += n;
    return s;
  }

  float fixed32_float(const char* what) {
    if (end_ - p_ < 4) error(what, "float runs past the end of the message");
    float f;
    std::memcpy(&f, p_, 4);  // little-endian on every target we build for
    p_ += 4;
    return f;
  }

  void skip(uint32_t wire, const char* what) {
    switch (wire) {
      case kVarint: varint(what); return;
      case kFixed64: advance(8, what); return;
      case kLengthDelimited: bytes(what); return;
      case kFixed32: advance(4, what); return;
      default: error(what, "unsupported wire type {}", wire);
    }
  }

  void expect(uint32_t wire, uint32_t want, const char* what) {
    if (wire != want) error(what, "wire type {} where {} was expected", wire, want);
  }

  template <class... Args>
  [[noreturn]] void error(const char* field, fmt::format_string<Args...> f, Args&&... args) {
    fail_format(source_, message_ + "." + field, f, std::forward<Args>(args)...);
  }

 private:
  void advance(size_t n, const char* what) {
    if (static_cast<size_t>(end_ - p_) < n) error(what, "value runs past the end of the message");
    p_ += n;
  }
  const char* p_;
  const char* end_;
  const std::string& source_;
  std::string message_;
};

int32_t as_int32(uint64_t v) { return static_cast<int32_t>(static_cast<int64_t>(v)); }  // proto int32: sign-extended

}  // namespace

TokenizerVocab parse_sentencepiece_model(std::string_view bytes, const std::string& source) {
  TokenizerVocab v;
  v.source = source;
  // ModelProto defaults (sentencepiece_model.proto): UNIGRAM, unk 0, bos 1, eos 2, pad -1,
  // add_dummy_prefix / remove_extra_whitespaces / escape_whitespaces true.
  int model_type = 1;
  v.unk_id = 0, v.bos_id = 1, v.eos_id = 2, v.pad_id = -1;
  bool add_dummy_prefix = true, remove_extra = true, escape = true, treat_ws_as_suffix = false;
  std::string norm_name;
  size_t charsmap_size = 0;

  ProtoReader top(bytes, source, "ModelProto");
  while (!top.done()) {
    uint32_t wire;
    const uint32_t field = top.next(wire);
    if (field == 1) {  // repeated SentencePiece pieces
      top.expect(wire, kLengthDelimited, "pieces");
      ProtoReader pr(top.bytes("pieces"), source, fmt::format("ModelProto.pieces[{}]", v.tokens.size()));
      std::string piece;
      float score = 0.0f;
      int32_t type = 1;
      while (!pr.done()) {
        uint32_t w;
        const uint32_t f = pr.next(w);
        if (f == 1) pr.expect(w, kLengthDelimited, "piece"), piece = std::string(pr.bytes("piece"));
        else if (f == 2) pr.expect(w, kFixed32, "score"), score = pr.fixed32_float("score");
        else if (f == 3) pr.expect(w, kVarint, "type"), type = as_int32(pr.varint("type"));
        else pr.skip(w, "unknown field");
      }
      if (type < 1 || type > 6) pr.error("type", "unknown piece type {}", type);
      if (v.tokens.size() >= kTokenizerMaxVocab) pr.error("pieces", "more than {} pieces", kTokenizerMaxVocab);
      v.tokens.push_back(std::move(piece));
      v.scores.push_back(score);
      v.types.push_back(type);
    } else if (field == 2) {  // TrainerSpec
      top.expect(wire, kLengthDelimited, "trainer_spec");
      ProtoReader tr(top.bytes("trainer_spec"), source, "ModelProto.trainer_spec");
      while (!tr.done()) {
        uint32_t w;
        const uint32_t f = tr.next(w);
        if (w != kVarint) {
          tr.skip(w, "unknown field");
          continue;
        }
        const uint64_t x = tr.varint("value");
        if (f == 3) model_type = as_int32(x);
        else if (f == 24) treat_ws_as_suffix = x != 0;
        else if (f == 40) v.unk_id = as_int32(x);
        else if (f == 41) v.bos_id = as_int32(x);
        else if (f == 42) v.eos_id = as_int32(x);
        else if (f == 43) v.pad_id = as_int32(x);
      }
    } else if (field == 3) {  // NormalizerSpec
      top.expect(wire, kLengthDelimited, "normalizer_spec");
      ProtoReader nr(top.bytes("normalizer_spec"), source, "ModelProto.normalizer_spec");
      while (!nr.done()) {
        uint32_t w;
        const uint32_t f = nr.next(w);
        if (f == 1 && w == kLengthDelimited) norm_name = std::string(nr.bytes("name"));
        else if (f == 2 && w == kLengthDelimited) charsmap_size = nr.bytes("precompiled_charsmap").size();
        else if (f == 3 && w == kVarint) add_dummy_prefix = nr.varint("add_dummy_prefix") != 0;
        else if (f == 4 && w == kVarint) remove_extra = nr.varint("remove_extra_whitespaces") != 0;
        else if (f == 5 && w == kVarint) escape = nr.varint("escape_whitespaces") != 0;
        else nr.skip(w, "unknown field");
      }
    } else {
      top.skip(wire, "unknown field");
    }
  }
  if (v.tokens.empty()) fail_format(source, "ModelProto.pieces", "no pieces (is this a SentencePiece model?)");
  if (model_type == 2) v.model = "llama";
  else if (model_type == 1) v.model = "unigram";
  else fail_format(source, "ModelProto.trainer_spec.model_type", "model type {} (WORD/CHAR) is not supported", model_type);
  if (charsmap_size > 0 && norm_name != "identity")
    fail_format(source, "ModelProto.normalizer_spec.name",
                "normalization '{}' needs its precompiled charsmap, which edgellm does not implement", norm_name);
  if (treat_ws_as_suffix)
    fail_format(source, "ModelProto.trainer_spec.treat_whitespace_as_suffix", "suffix whitespace is not supported");
  const int32_t n = static_cast<int32_t>(v.tokens.size());
  const std::pair<const char*, int32_t> ids[] = {
      {"unk_id", v.unk_id}, {"bos_id", v.bos_id}, {"eos_id", v.eos_id}, {"pad_id", v.pad_id}};
  for (const auto& [name, id] : ids)
    if (id < -1 || id >= n)
      fail_format(source, std::string("ModelProto.trainer_spec.") + name, "id {} outside the {} pieces", id, n);
  v.add_space_prefix = add_dummy_prefix;
  v.remove_extra_whitespaces = remove_extra;
  v.escape_whitespaces = escape;
  v.add_bos = v.bos_id >= 0;
  v.add_eos = false;
  return v;
}

std::unique_ptr<Tokenizer> load_sentencepiece_model(const std::string& path) {
  const std::string bytes = read_file(path, kTokenizerMaxFileBytes);
  return make_tokenizer(parse_sentencepiece_model(bytes, path));
}

}  // namespace edgellm
