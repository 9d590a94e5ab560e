// config.json parsing with nlohmann_json: every required field is checked for presence,
// type and range, and every error names the file and the field.
// Not validation against the weights: shapes are checked where tensors are loaded.
#include "models/hf_config.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "runtime/error.h"
#include "runtime/mmap_file.h"
#include "runtime/parse_meter.h"
#include "runtime/path_query.h"

namespace edgellm {
namespace {

using json = nlohmann::json;

// Largest values accepted for sizes read from an untrusted config (far above real models).
constexpr int64_t kMaxDim = int64_t{1} << 20;           // hidden, ffn, heads, head_dim, layers
constexpr int64_t kMaxVocab = int64_t{1} << 24;         // 16M tokens
constexpr int64_t kMaxContext = int64_t{1} << 24;       // 16M positions

struct Reader {
  const json& j;
  const std::string& path;

  const json* find(const json& obj, const char* key) const {
    const auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }

  int64_t integer(const json& v, const std::string& field, int64_t lo, int64_t hi) const {
    if (!v.is_number_integer()) fail_format(path, field, "expected an integer, got {}", json_brief(v));
    const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                          ? INT64_MAX
                          : v.get<int64_t>();
    if (x < lo || x > hi) fail_format(path, field, "{} is out of range [{}, {}]", x, lo, hi);
    return x;
  }
  int64_t required_int(const char* key, int64_t lo, int64_t hi) const {
    const json* v = find(j, key);
    if (!v) fail_format(path, key, "required field is missing");
    return integer(*v, key, lo, hi);
  }
  int64_t optional_int(const char* key, int64_t def, int64_t lo, int64_t hi) const {
    const json* v = find(j, key);
    return v ? integer(*v, key, lo, hi) : def;
  }
  double number(const json& v, const std::string& field) const {
    if (!v.is_number()) fail_format(path, field, "expected a number, got {}", json_brief(v));
    const double x = v.get<double>();
    if (!(x > 0) || !std::isfinite(x)) fail_format(path, field, "{} must be a positive finite number", x);
    return x;
  }
  double optional_number(const json& obj, const char* key, double def, const std::string& field) const {
    const json* v = find(obj, key);
    return v ? number(*v, field) : def;
  }
  bool optional_bool(const char* key, bool def) const {
    const json* v = find(j, key);
    if (!v) return def;
    if (!v->is_boolean()) fail_format(path, key, "expected true or false, got {}", v->dump());
    return v->get<bool>();
  }
  std::vector<int64_t> token_ids(const char* key) const {
    const json* v = find(j, key);
    if (!v) return {};
    if (v->is_array()) {
      std::vector<int64_t> out;
      for (size_t i = 0; i < v->size(); ++i) out.push_back(integer((*v)[i], fmt::format("{}[{}]", key, i), 0, kMaxVocab));
      return out;
    }
    return {integer(*v, key, 0, kMaxVocab)};
  }
};

}  // namespace

HFConfig parse_hf_config(const std::string& text, const std::string& path) {
  const json j = parse_json_metered(text, path, "config");
  if (!j.is_object()) fail_format(path, "config", "expected a JSON object");
  const Reader r{j, path};
  HFConfig c;
  c.path = path;
  const json* mt = r.find(j, "model_type");
  if (!mt || !mt->is_string()) fail_format(path, "model_type", "required string field is missing");
  c.model_type = mt->get<std::string>();
  if (const json* a = r.find(j, "architectures")) {
    if (!a->is_array()) fail_format(path, "architectures", "expected an array of strings");
    for (const auto& x : *a) {
      if (!x.is_string()) fail_format(path, "architectures", "expected an array of strings");
      c.architectures.push_back(x.get<std::string>());
    }
  }
  // The family decides the block; its fixed options are refused before its fields are read, so a
  // family edgellm cannot run yet (GPT-2 names its sizes differently) gets that error, not a missing field.
  const ArchInfo& arch = arch_from_hf(c.model_type, c.architectures, path);
  c.model_type = arch.name;
  refuse_unimplemented(arch.block, path, "model_type");

  // GPT-2 names its sizes its own way (n_embd, n_head, ...); the meaning is the same.
  const bool gpt2 = c.model_type == "gpt2";
  auto key = [&](const char* hf, const char* gpt2_key) { return gpt2 ? gpt2_key : hf; };
  c.hidden_size = r.required_int(key("hidden_size", "n_embd"), 1, kMaxDim);
  c.intermediate_size = gpt2 ? r.optional_int("n_inner", 4 * c.hidden_size, 1, kMaxDim)
                             : r.required_int("intermediate_size", 1, kMaxDim);
  c.num_hidden_layers = r.required_int(key("num_hidden_layers", "n_layer"), 1, kMaxDim);
  c.num_attention_heads = r.required_int(key("num_attention_heads", "n_head"), 1, kMaxDim);
  c.num_key_value_heads = r.optional_int("num_key_value_heads", c.num_attention_heads, 1, kMaxDim);
  c.vocab_size = r.required_int("vocab_size", 1, kMaxVocab);
  c.max_position_embeddings = r.optional_int(key("max_position_embeddings", "n_positions"), 2048, 1, kMaxContext);
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    fail_format(path, "num_key_value_heads", "{} does not divide num_attention_heads = {}", c.num_key_value_heads,
                c.num_attention_heads);
  if (r.find(j, "head_dim")) {
    c.head_dim = r.required_int("head_dim", 1, kMaxDim);
  } else {
    if (c.hidden_size % c.num_attention_heads != 0)
      fail_format(path, "num_attention_heads", "{} does not divide hidden_size = {} and head_dim is absent",
                  c.num_attention_heads, c.hidden_size);
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.head_dim % 2 != 0) fail_format(path, "head_dim", "{} is odd; RoPE needs an even head dimension", c.head_dim);
  c.rms_norm_eps = r.optional_number(j, key("rms_norm_eps", "layer_norm_epsilon"), gpt2 ? 1e-5 : 1e-6,
                                     key("rms_norm_eps", "layer_norm_epsilon"));

  // RoPE: transformers 4 writes rope_theta and rope_scaling; transformers 5 writes both
  // into rope_parameters (rope_type "default" meaning no scaling).
  const json* rp = r.find(j, "rope_parameters");
  if (rp && !rp->is_object()) fail_format(path, "rope_parameters", "expected an object");
  const json* rs = r.find(j, "rope_scaling");
  if (rs && !rs->is_object()) fail_format(path, "rope_scaling", "expected an object or null");
  c.rope_theta = r.optional_number(j, "rope_theta", 10000.0, "rope_theta");
  std::string rp_name = "rope_parameters";
  if (rp && rp->contains("full_attention")) {
    // Gemma 3 (transformers 5): one set per layer type; the sliding layers' base is the local one.
    if (const json* sl = r.find(*rp, "sliding_attention")) {
      if (!sl->is_object()) fail_format(path, "rope_parameters.sliding_attention", "expected an object");
      if (const json* t = r.find(*sl, "rope_type"); t && *t != "default")
        fail_format(path, "rope_parameters.sliding_attention.rope_type", "scaling of the sliding layers' RoPE ({}) is not supported", t->dump());
      c.rope_local_theta = r.optional_number(*sl, "rope_theta", 10000.0, "rope_parameters.sliding_attention.rope_theta");
    }
    rp = r.find(*rp, "full_attention");
    if (!rp || !rp->is_object()) fail_format(path, "rope_parameters.full_attention", "expected an object");
    rp_name = "rope_parameters.full_attention";
  }
  if (rp) c.rope_theta = r.optional_number(*rp, "rope_theta", c.rope_theta, rp_name + ".rope_theta");
  if (r.find(j, "rope_local_base_freq"))  // Gemma 3 (transformers 4)
    c.rope_local_theta = r.optional_number(j, "rope_local_base_freq", 10000.0, "rope_local_base_freq");
  const json* scaling = rs ? rs : rp;
  const std::string sname = rs ? "rope_scaling" : rp_name;
  if (scaling) {
    const json* t = r.find(*scaling, "rope_type");
    if (!t) t = r.find(*scaling, "type");
    if (t && !t->is_string()) fail_format(path, sname + ".rope_type", "expected a string");
    const std::string type = t ? t->get<std::string>() : "";
    if (!type.empty() && type != "default") {
      RopeScaling& s = c.rope_scaling;
      s.type = type;
      s.factor = r.optional_number(*scaling, "factor", 1.0, sname + ".factor");
      s.factor_given = r.find(*scaling, "factor") != nullptr;
      if (type == "llama3") {
        s.low_freq_factor = r.optional_number(*scaling, "low_freq_factor", 1.0, sname + ".low_freq_factor");
        s.high_freq_factor = r.optional_number(*scaling, "high_freq_factor", 4.0, sname + ".high_freq_factor");
        if (s.high_freq_factor <= s.low_freq_factor)
          fail_format(path, sname + ".high_freq_factor", "{} must exceed low_freq_factor = {}", s.high_freq_factor,
                      s.low_freq_factor);
        const json* o = r.find(*scaling, "original_max_position_embeddings");
        if (!o) fail_format(path, sname + ".original_max_position_embeddings", "required for llama3 rope scaling");
        s.original_max_position_embeddings =
            r.integer(*o, sname + ".original_max_position_embeddings", 1, kMaxContext);
      } else if (type == "yarn") {
        if (const json* o = r.find(*scaling, "original_max_position_embeddings"))
          s.original_max_position_embeddings = r.integer(*o, sname + ".original_max_position_embeddings", 1, kMaxContext);
        s.attention_factor = r.optional_number(*scaling, "attention_factor", 0.0, sname + ".attention_factor");
        s.beta_fast = r.optional_number(*scaling, "beta_fast", 32.0, sname + ".beta_fast");
        s.beta_slow = r.optional_number(*scaling, "beta_slow", 1.0, sname + ".beta_slow");
        s.mscale = r.optional_number(*scaling, "mscale", 0.0, sname + ".mscale");
        s.mscale_all_dim = r.optional_number(*scaling, "mscale_all_dim", 0.0, sname + ".mscale_all_dim");
        if (const json* tr = r.find(*scaling, "truncate")) {
          if (!tr->is_boolean()) fail_format(path, sname + ".truncate", "expected true or false");
          s.truncate = tr->get<bool>();
        }
      } else if (type == "longrope") {
        auto factors = [&](const char* key) {
          const json* a = r.find(*scaling, key);
          if (!a || !a->is_array()) fail_format(path, sname + "." + key, "required for longrope: an array of numbers");
          std::vector<double> v;
          for (size_t i = 0; i < a->size(); ++i) v.push_back(r.number((*a)[i], fmt::format("{}.{}[{}]", sname, key, i)));
          return v;
        };
        s.long_factor = factors("long_factor");
        s.short_factor = factors("short_factor");
        s.attention_factor = r.optional_number(*scaling, "attention_factor", 0.0, sname + ".attention_factor");
        // Phi-3 keeps the pretrained context beside max_position_embeddings; transformers reads it from there.
        const json* o = r.find(j, "original_max_position_embeddings");
        std::string oname = "original_max_position_embeddings";
        if (!o) o = r.find(*scaling, "original_max_position_embeddings"), oname = sname + ".original_max_position_embeddings";
        if (o) s.original_max_position_embeddings = r.integer(*o, oname, 1, kMaxContext);
      }
    }
  }

  c.tie_word_embeddings = r.optional_bool("tie_word_embeddings", false);
  c.attention_bias = r.optional_bool("attention_bias", false);
  c.mlp_bias = r.optional_bool("mlp_bias", false);
  c.qkv_bias = arch.qkv_bias || c.attention_bias;
  c.o_bias = !arch.qkv_bias && c.attention_bias;
  c.block = arch.block;
  c.block.o_bias = arch.block.o_bias || c.o_bias;  // GPT-2 has every bias whatever the config says
  c.block.mlp_bias = arch.block.mlp_bias || c.mlp_bias;
  if (gpt2 && r.optional_bool("scale_attn_by_inverse_layer_idx", false))
    fail_format(path, "scale_attn_by_inverse_layer_idx", "scaling attention by the layer index is not supported");
  if (gpt2 && !r.optional_bool("scale_attn_weights", true))
    fail_format(path, "scale_attn_weights", "attention without the 1/√head_dim scale is not supported");
  const bool gemma = c.model_type == "gemma2" || c.model_type == "gemma3_text";
  for (const char* k : {"hidden_act", "hidden_activation", "activation_function"})
    if (const json* a = r.find(j, k)) {
      if (!a->is_string()) fail_format(path, k, "expected a string");
      const std::string act = a->get<std::string>();
      // Gemma's code uses tanh-GELU whatever hidden_act says (its old configs say "gelu"); elsewhere "gelu"
      // is the erf form, which edgellm does not approximate.
      const bool tanh_gelu = act == "gelu_pytorch_tanh" || act == "gelu_new" || (gemma && act == "gelu");
      if (c.block.mlp == MlpKind::Gelu) {
        if (!tanh_gelu) fail_format(path, k, "activation '{}' is not supported (gelu_new is)", act);
      } else if (tanh_gelu) {
        c.block.mlp = MlpKind::GeluTanhGlu;
      } else if (act != "silu" && act != "swish") {
        fail_format(path, k, "activation '{}' is not supported", act);
      }
    }
  // Qwen2/3 write a window with use_sliding_window false; Mistral's window applies when given.
  if (r.optional_bool("use_sliding_window", true))
    c.block.sliding_window = r.optional_int("sliding_window", 0, 0, kMaxContext);
  if (const json* lt = r.find(j, "layer_types")) {
    if (!lt->is_array()) fail_format(path, "layer_types", "expected an array of strings");
    for (const json& t : *lt) {
      if (t != "sliding_attention" && t != "full_attention")
        fail_format(path, "layer_types", "layer type {} is not supported", t.dump());
      c.sliding_layers.push_back(t == "sliding_attention" ? 1 : 0);
      if (t != "sliding_attention") c.block.sliding_every_layer = false;
    }
  } else if (gemma && c.block.sliding_window > 0) {
    // Without layer_types: Gemma 2 slides on every other layer from the first, Gemma 3 on all but every 6th.
    const int64_t period = c.model_type == "gemma2" ? 2
                           : r.optional_int("sliding_window_pattern", r.optional_int("_sliding_window_pattern", 6, 1, kMaxDim), 1, kMaxDim);
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) c.sliding_layers.push_back((l + 1) % period != 0 ? 1 : 0);
    c.block.sliding_every_layer = false;
  }
  if (!c.sliding_layers.empty() && static_cast<int64_t>(c.sliding_layers.size()) != c.num_hidden_layers)
    fail_format(path, "layer_types", "{} entries for {} layers", c.sliding_layers.size(), c.num_hidden_layers);
  if (c.block.sliding_window == 0) c.sliding_layers.clear();
  if (r.find(j, "attn_logit_softcapping"))
    c.block.attn_softcap = r.optional_number(j, "attn_logit_softcapping", 0, "attn_logit_softcapping");
  if (r.find(j, "final_logit_softcapping"))
    c.block.final_softcap = r.optional_number(j, "final_logit_softcapping", 0, "final_logit_softcapping");
  c.block.partial_rotary = r.optional_number(j, "partial_rotary_factor", 1.0, "partial_rotary_factor");
  if (rp) c.block.partial_rotary = r.optional_number(*rp, "partial_rotary_factor", c.block.partial_rotary, rp_name + ".partial_rotary_factor");
  if (c.block.partial_rotary > 1) fail_format(path, "partial_rotary_factor", "{} is above 1", c.block.partial_rotary);
  if (const json* q = r.find(j, "query_pre_attn_scalar"))
    if (r.number(*q, "query_pre_attn_scalar") != static_cast<double>(c.head_dim))
      c.block.query_scale = 1.0 / std::sqrt(q->get<double>());
  if (const json* nr = r.find(j, "no_rope_layers")) {
    // SmolLM3: 1 where the layer has RoPE, 0 where it has none (the list may run past the layers).
    if (!nr->is_array() || static_cast<int64_t>(nr->size()) < c.num_hidden_layers)
      fail_format(path, "no_rope_layers", "expected an array of at least num_hidden_layers = {} integers", c.num_hidden_layers);
    for (int64_t l = 0; l < c.num_hidden_layers; ++l)
      c.rope_layers.push_back(r.integer((*nr)[static_cast<size_t>(l)], fmt::format("no_rope_layers[{}]", l), 0, 1) != 0);
  } else if (c.model_type == "smollm3") {
    const int64_t every = r.optional_int("no_rope_layer_interval", 4, 1, kMaxDim);
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) c.rope_layers.push_back((l + 1) % every != 0 ? 1 : 0);
  }
  for (uint8_t x : c.rope_layers)
    if (!x) c.block.rope_skipped_layers = true;
  if (!c.block.rope_skipped_layers) c.rope_layers.clear();
  if (c.rope_local_theta > 0 && c.rope_local_theta != c.rope_theta && !c.sliding_layers.empty()) c.block.two_rope_bases = true;
  else c.rope_local_theta = 0;
  refuse_unimplemented(c.block, path, "model_type");
  c.bos_token_ids = r.token_ids("bos_token_id");
  c.eos_token_ids = r.token_ids("eos_token_id");
  for (const char* key : {"dtype", "torch_dtype"})
    if (const json* d = r.find(j, key); d && d->is_string() && c.torch_dtype.empty()) c.torch_dtype = d->get<std::string>();
  return c;
}

HFConfig load_hf_config(const std::string& path) {
  std::string file = path;
  if (is_directory_path(path)) file = (std::filesystem::path(path) / "config.json").string();
  return parse_hf_config(read_file(file, kHfConfigMaxBytes), file);
}

}  // namespace edgellm
