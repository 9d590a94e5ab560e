// Loaders for Hugging Face tokenizer.json (+ tokenizer_config.json) and GPT-2's encoder.json + vocab.bpe.
// Reads only the parts that decide ids: model, added_tokens, the pre-tokenizer kind; not truncation/padding.
#include <cctype>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "models/tokenizer.h"
#include "runtime/error.h"
#include "runtime/mmap_file.h"
#include "runtime/parse_meter.h"
#include "runtime/path_query.h"

namespace edgellm {
namespace {

using nlohmann::json;

json parse_json(std::string_view text, const std::string& source) { return parse_json_metered(text, source); }

// Every node of a pre_tokenizer/normalizer tree (a Sequence holds a list), depth first.
void walk(const json& node, const std::function<void(const json&)>& fn) {
  if (!node.is_object()) return;
  fn(node);
  for (const char* key : {"pretokenizers", "normalizers", "decoders"})
    if (node.contains(key) && node[key].is_array())
      for (const json& child : node[key]) walk(child, fn);
}

// The member `key` of `j`, or null: a reference into the tree, never a copy (copying a subtree recurses once per
// level of it; see kJsonMaxDepth).
const json& member_or_null(const json& j, const char* key) {
  static const json null_value;
  const auto it = j.find(key);
  return it == j.end() ? null_value : *it;
}

std::string str_field(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// tokenizer_config.json writes special tokens as "text" or {"content": "text", ...}.
std::string config_token(const json& cfg, const char* key) {
  if (!cfg.contains(key)) return {};
  const json& t = cfg[key];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object()) return str_field(t, "content");
  return {};
}

}  // namespace

// The parser proper; nlohmann's type errors (a string where a bool was expected, ...) escape from it and are
// turned into a FormatError by parse_hf_tokenizer_json below.
static TokenizerVocab parse_hf_tokenizer_json_unchecked(std::string_view json_text, const std::string& source,
                                                        std::string_view tokenizer_config_json) {
  const json j = parse_json(json_text, source);
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    fail_format(source, "model", "missing (is this a Hugging Face tokenizer.json?)");
  const json& m = j["model"];
  const std::string type = str_field(m, "type");
  TokenizerVocab v;
  v.source = source;

  // ---- vocabulary: BPE has {"token": id}, Unigram has [["piece", score], ...]
  const bool unigram = type == "Unigram";
  if (type != "BPE" && !unigram) fail_format(source, "model.type", "'{}' is not supported (BPE, Unigram)", type);
  if (!m.contains("vocab")) fail_format(source, "model.vocab", "missing");
  if (unigram) {
    if (!m["vocab"].is_array()) fail_format(source, "model.vocab", "a Unigram vocab must be a list");
    if (m["vocab"].size() > kTokenizerMaxVocab)
      fail_format(source, "model.vocab", "{} tokens is over the limit of {}", m["vocab"].size(), kTokenizerMaxVocab);
    for (const json& e : m["vocab"]) {
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
        fail_format(source, "model.vocab", "entry {} is not [piece, score]", v.tokens.size());
      v.tokens.push_back(e[0].get<std::string>());
      v.scores.push_back(e[1].get<float>());
    }
    if (m.contains("unk_id") && m["unk_id"].is_number_integer()) {
      const int64_t u = m["unk_id"].get<int64_t>();
      if (u < 0 || u >= static_cast<int64_t>(v.tokens.size()))
        fail_format(source, "model.unk_id", "id {} outside the vocabulary of {}", u, v.tokens.size());
      v.unk_id = static_cast<int32_t>(u);
    }
  } else {
    if (!m["vocab"].is_object()) fail_format(source, "model.vocab", "a BPE vocab must be an object");
    const json& vocab = m["vocab"];
    if (vocab.size() > kTokenizerMaxVocab)
      fail_format(source, "model.vocab", "{} tokens is over the limit of {}", vocab.size(), kTokenizerMaxVocab);
    v.tokens.resize(vocab.size());
    std::vector<bool> seen(vocab.size(), false);
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      if (!it.value().is_number_integer()) fail_format(source, "model.vocab", "'{}' has a non-integer id", it.key());
      const int64_t id = it.value().get<int64_t>();
      if (id < 0 || id >= static_cast<int64_t>(vocab.size()) || seen[id])
        fail_format(source, "model.vocab", "'{}' has id {}: ids must be 0..{} without repeats", it.key(), id, vocab.size() - 1);
      seen[id] = true;
      v.tokens[id] = it.key();
    }
  }
  v.types.assign(v.tokens.size(), static_cast<int32_t>(TokenType::Normal));

  // ---- added tokens extend or re-type the vocabulary
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const json& a : j["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content"))
        fail_format(source, "added_tokens", "an entry lacks id or content");
      const int64_t id = a["id"].get<int64_t>();
      if (id < 0 || id >= static_cast<int64_t>(kTokenizerMaxVocab))
        fail_format(source, "added_tokens", "id {} is out of range (vocabulary limit {})", id, kTokenizerMaxVocab);
      if (static_cast<size_t>(id) >= v.tokens.size()) {
        v.tokens.resize(id + 1);
        v.types.resize(id + 1, static_cast<int32_t>(TokenType::Unused));
      }
      v.tokens[id] = a["content"].get<std::string>();
      const bool special = a.value("special", false);
      v.types[id] = static_cast<int32_t>(special ? TokenType::Control : TokenType::UserDefined);
    }
  }

  // ---- which family: byte-level (ByteLevel pre-tokenizer) or SentencePiece-style (Metaspace / byte fallback)
  bool byte_level = false, digits_split = false, metaspace = false, prepend = false;
  std::string split_regex;
  walk(member_or_null(j, "pre_tokenizer"), [&](const json& n) {
    const std::string t = str_field(n, "type");
    if (t == "ByteLevel") {
      byte_level = true;
      if (n.value("add_prefix_space", false))  // RoBERTa style; GPT-2, Llama 3, Qwen2 and SmolLM all have false
        fail_format(source, "pre_tokenizer.add_prefix_space", "a ByteLevel prefix space is not supported");
      if (n.value("use_regex", true)) split_regex = "gpt2";
    } else if (t == "Split" && n.contains("pattern") && n["pattern"].is_object()) {
      split_regex = str_field(n["pattern"], "Regex");
    } else if (t == "Digits") {
      digits_split = n.value("individual_digits", false);
    } else if (t == "Metaspace") {
      metaspace = true;
      const std::string scheme = str_field(n, "prepend_scheme");
      prepend = scheme.empty() ? n.value("add_prefix_space", true) : scheme != "never";
    }
  });
  bool nfc = false;
  walk(member_or_null(j, "normalizer"), [&](const json& n) {  // older Llama files: Prepend("▁") + Replace(" ", "▁")
    const std::string t = str_field(n, "type");
    if (t == "Prepend" && str_field(n, "prepend") == "\xE2\x96\x81") metaspace = prepend = true;
    if (t == "Replace" && str_field(n, "content") == "\xE2\x96\x81") metaspace = true;
    if (t == "NFC") nfc = true;
    // The others change which ids a text gets; edgellm has no implementation of them, so they are refused.
    if (t == "NFKC" || t == "NFKD" || t == "NFD" || t == "Lowercase" || t == "StripAccents")
      fail_format(source, "normalizer", "'{}' is not supported (NFC, Prepend/Replace of U+2581 are)", t);
  });

  std::vector<std::string> merges;
  if (!unigram && m.contains("merges") && m["merges"].is_array()) {
    for (const json& e : m["merges"]) {
      if (e.is_string()) merges.push_back(e.get<std::string>());
      else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string())
        merges.push_back(e[0].get<std::string>() + " " + e[1].get<std::string>());
      else fail_format(source, "model.merges", "entry {} is neither \"a b\" nor [a, b]", merges.size());
    }
  }

  if (byte_level && !unigram) {
    v.model = "gpt2";
    v.merges = std::move(merges);
    if (split_regex == "gpt2") v.pre = digits_split ? "smollm" : "gpt2";
    else if (split_regex.find("\\p{N}{1,3}") != std::string::npos) v.pre = "llama-bpe";
    else if (split_regex.find("(?i:'s|'t|'re|'ve|'m|'ll|'d)") != std::string::npos) v.pre = "qwen2";
    else fail_format(source, "pre_tokenizer", "split pattern '{}' is not one edgellm implements", split_regex);
    if (m.contains("ignore_merges") && m["ignore_merges"].is_boolean()) v.ignore_merges = m["ignore_merges"].get<bool>();
    v.nfc = nfc;
  } else if (unigram || metaspace || m.value("byte_fallback", false)) {
    // SentencePiece splits on nothing but the space marker; a Split regex here (valid or not) would change the
    // ids that the reference tokenizer gives, so it is refused rather than ignored.
    if (!split_regex.empty())
      fail_format(source, "pre_tokenizer.pattern.Regex", "split pattern '{}' on a SentencePiece-style tokenizer is not one edgellm implements", split_regex);
    if (nfc) fail_format(source, "normalizer", "NFC on a SentencePiece-style tokenizer is not supported");
    v.model = unigram ? "unigram" : "llama";
    v.add_space_prefix = prepend;
    if (!unigram) {
      // SentencePiece BPE merges the pair whose result scores best; a merge list in rank order says the same
      // with score = -rank of the first merge producing the piece. Pieces no merge produces never merge.
      v.scores.assign(v.tokens.size(), -std::numeric_limits<float>::infinity());
      std::unordered_map<std::string, int32_t> index;
      for (size_t i = 0; i < v.tokens.size(); ++i) index.emplace(v.tokens[i], static_cast<int32_t>(i));
      for (size_t r = 0; r < merges.size(); ++r) {
        const size_t sp = merges[r].find(' ', 1);
        if (sp == std::string::npos) fail_format(source, "model.merges", "entry {} '{}' has no space", r, merges[r]);
        auto it = index.find(merges[r].substr(0, sp) + merges[r].substr(sp + 1));
        if (it == index.end()) fail_format(source, "model.merges", "entry {} '{}' produces no token", r, merges[r]);
        float& s = v.scores[it->second];
        if (std::isinf(s)) s = -static_cast<float>(r);
      }
    } else {
      v.scores.resize(v.tokens.size(), 0.0f);
    }
    for (size_t i = 0; i < v.tokens.size(); ++i) {
      const std::string& t = v.tokens[i];
      if (v.types[i] == static_cast<int32_t>(TokenType::Normal) && t.size() == 6 && t.compare(0, 3, "<0x") == 0 &&
          t[5] == '>' && std::isxdigit(static_cast<unsigned char>(t[3])) && std::isxdigit(static_cast<unsigned char>(t[4])))
        v.types[i] = static_cast<int32_t>(TokenType::Byte);
    }
  } else {
    fail_format(source, "pre_tokenizer", "neither ByteLevel nor Metaspace: this tokenizer kind is not supported");
  }

  // ---- special ids: model.unk_token, then tokenizer_config.json, then the post-processor's template
  auto id_of = [&](const std::string& text) -> int32_t {
    if (text.empty()) return -1;
    for (size_t i = 0; i < v.tokens.size(); ++i)
      if (v.tokens[i] == text) return static_cast<int32_t>(i);
    return -1;
  };
  if (v.unk_id < 0) v.unk_id = id_of(str_field(m, "unk_token"));
  if (!tokenizer_config_json.empty()) {
    const json cfg = parse_json(tokenizer_config_json, source + " (tokenizer_config.json)");
    v.bos_id = id_of(config_token(cfg, "bos_token"));
    v.eos_id = id_of(config_token(cfg, "eos_token"));
    v.pad_id = id_of(config_token(cfg, "pad_token"));
    if (const int32_t u = id_of(config_token(cfg, "unk_token")); u >= 0) v.unk_id = u;
    if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) v.add_bos = cfg["add_bos_token"].get<bool>();
    if (cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean()) v.add_eos = cfg["add_eos_token"].get<bool>();
  }
  const json& post = member_or_null(j, "post_processor");
  walk(post, [&](const json& n) {  // TemplateProcessing: a SpecialToken before $A is the BOS it adds
    if (str_field(n, "type") != "TemplateProcessing" || !n.contains("single") || !n["single"].is_array()) return;
    const json& single = n["single"];
    if (!single.empty() && single[0].contains("SpecialToken")) {
      const int32_t b = id_of(str_field(single[0]["SpecialToken"], "id"));
      if (v.bos_id < 0) v.bos_id = b;
      if (!v.add_bos) v.add_bos = b >= 0;
    }
  });
  if (!v.add_bos) v.add_bos = false;
  if (v.unk_id >= 0) v.types[v.unk_id] = static_cast<int32_t>(TokenType::Unknown);
  return v;
}

TokenizerVocab parse_hf_tokenizer_json(std::string_view json_text, const std::string& source,
                                       std::string_view tokenizer_config_json) {
  try {
    return parse_hf_tokenizer_json_unchecked(json_text, source, tokenizer_config_json);
  } catch (const json::exception& e) {
    fail_format(source, "json", "unexpected value: {}", e.what());
  }
}

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::string& path) {
  const std::string text = read_file(path, kTokenizerMaxFileBytes);
  const auto cfg_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  const std::string cfg = path_exists(cfg_path) ? read_file(cfg_path.string(), kTokenizerMaxFileBytes) : std::string();
  return make_tokenizer(parse_hf_tokenizer_json(text, path, cfg));
}

TokenizerVocab parse_gpt2_encoder(std::string_view encoder_json, const std::string& encoder_source,
                                  std::string_view vocab_bpe, const std::string& bpe_source) {
  const json enc = parse_json(encoder_json, encoder_source);
  if (!enc.is_object()) fail_format(encoder_source, "json", "expected an object of token -> id");
  if (enc.size() > kTokenizerMaxVocab)
    fail_format(encoder_source, "json", "{} tokens; at most {} are read", enc.size(), kTokenizerMaxVocab);
  TokenizerVocab v;
  v.model = "gpt2";
  v.pre = "gpt2";
  v.tokens.resize(enc.size());
  std::vector<bool> seen(enc.size(), false);
  for (auto it = enc.begin(); it != enc.end(); ++it) {
    const int64_t id = it.value().is_number_integer() ? it.value().get<int64_t>() : -1;
    if (id < 0 || id >= static_cast<int64_t>(enc.size()) || seen[id])
      fail_format(encoder_source, it.key(), "id must be 0..{} without repeats", enc.size() - 1);
    seen[id] = true;
    v.tokens[id] = it.key();
  }
  v.types.assign(v.tokens.size(), static_cast<int32_t>(TokenType::Normal));
  for (size_t i = 0; i < v.tokens.size(); ++i)
    if (v.tokens[i] == "<|endoftext|>") v.types[i] = static_cast<int32_t>(TokenType::Control), v.bos_id = v.eos_id = static_cast<int32_t>(i);
  size_t line_no = 0;
  for (size_t p = 0; p < vocab_bpe.size(); ++line_no) {
    size_t e = vocab_bpe.find('\n', p);
    if (e == std::string_view::npos) e = vocab_bpe.size();
    std::string_view line = vocab_bpe.substr(p, e - p);
    p = e + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 0 && line.starts_with("#version"))) continue;
    // Checked per line: a file of one-byte lines would otherwise hold ~30 bytes of string per input byte
    // before make_tokenizer's own check.
    if (v.merges.size() == kTokenizerMaxMerges)
      fail_format(bpe_source, "merges", "more than {} merges", kTokenizerMaxMerges);
    v.merges.emplace_back(line);
  }
  v.source = bpe_source;
  return v;
}

std::unique_ptr<Tokenizer> load_gpt2_encoder(const std::string& encoder_json_path, const std::string& vocab_bpe_path) {
  const std::string enc = read_file(encoder_json_path, kTokenizerMaxFileBytes);
  const std::string bpe = read_file(vocab_bpe_path, kTokenizerMaxFileBytes);
  return make_tokenizer(parse_gpt2_encoder(enc, encoder_json_path, bpe, vocab_bpe_path));
}

}  // namespace edgellm
