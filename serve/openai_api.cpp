// Reading OpenAI request bodies into engine requests and writing OpenAI response objects.
// Not the transport or generation: see serve/http_server.cpp and serve/engine.cpp.
#include "serve/openai_api.h"

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <cstring>

#include "models/chat_session.h"
#include "runtime/error.h"

namespace edgellm::serve {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& msg) { throw RequestError(400, "invalid_request_error", msg); }

// A field of the body: absent or null gives `fallback`; the wrong JSON type is a 400 naming the field.
double number_field(const json& j, const char* name, double fallback, double lo, double hi) {
  if (!j.contains(name) || j[name].is_null()) return fallback;
  if (!j[name].is_number()) bad(fmt::format("'{}' must be a number", name));
  const double v = j[name].get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) bad(fmt::format("'{}' must be in [{}, {}], got {}", name, lo, hi, v));
  return v;
}

bool bool_field(const json& j, const char* name) {
  if (!j.contains(name) || j[name].is_null()) return false;
  if (!j[name].is_boolean()) bad(fmt::format("'{}' must be true or false", name));
  return j[name].get<bool>();
}

std::string string_field(const json& j, const char* name, bool required) {
  if (!j.contains(name) || j[name].is_null()) {
    if (required) bad(fmt::format("'{}' is required", name));
    return "";
  }
  if (!j[name].is_string()) bad(fmt::format("'{}' must be a string", name));
  return j[name].get<std::string>();
}

// Fields that would change what is returned and that this server does not do: refused, never ignored.
void refuse_unsupported(const json& j) {
  if (j.contains("n") && !j["n"].is_null() && !(j["n"].is_number_integer() && j["n"].get<int64_t>() == 1))
    bad("'n' must be 1: this server returns one choice per request");
  for (const char* f : {"tools", "functions", "logprobs", "top_logprobs", "logit_bias", "suffix", "best_of"})
    if (j.contains(f) && !j[f].is_null() && !(j[f].is_boolean() && !j[f].get<bool>()))
      bad(fmt::format("'{}' is not supported by edgellm serve", f));
}

// The adapter: the body's "adapter" if given (an edgellm extension), else "model" (each adapter is listed by
// /v1/models as a model of its own, so an unmodified OpenAI client picks one by name).
CompletionCall common(const Engine& e, const json& j, int default_max_tokens) {
  if (!j.is_object()) bad("the request body must be a JSON object");
  refuse_unsupported(j);
  CompletionCall c;
  c.model = string_field(j, "model", false);
  const std::string adapter = j.contains("adapter") ? string_field(j, "adapter", false) : c.model;
  c.adapter = e.find_adapter(adapter);
  if (c.model.empty()) c.model = c.adapter ? c.adapter->name : e.base_name();  // echoed back as OpenAI does
  c.stream = bool_field(j, "stream");
  if (j.contains("stream_options") && j["stream_options"].is_object())
    c.include_usage = bool_field(j["stream_options"], "include_usage");
  const int cap = e.options().max_tokens;
  double max_tokens = number_field(j, "max_tokens", std::min(default_max_tokens, cap), 1, 1e9);
  max_tokens = number_field(j, "max_completion_tokens", max_tokens, 1, 1e9);
  if (max_tokens > cap)
    bad(fmt::format("max_tokens {} is more than this server allows ({}, serve --max-tokens)", max_tokens, cap));
  c.gen.max_tokens = static_cast<int>(max_tokens);
  // OpenAI's defaults: temperature 1 and top_p 1, no top-k or min-p cut.
  SamplerParams& s = c.gen.sampling;
  s.temperature = static_cast<float>(number_field(j, "temperature", 1.0, 0, 2));
  s.top_p = static_cast<float>(number_field(j, "top_p", 1.0, 0, 1));
  s.top_k = 0;
  s.min_p = 0;
  s.repeat_penalty = 1;
  static std::atomic<uint64_t> next_seed{0x5eed};
  s.seed = static_cast<uint64_t>(number_field(j, "seed", static_cast<double>(next_seed.fetch_add(1)), 0, 9.007e15));
  if (j.contains("stop") && !j["stop"].is_null()) {
    const json& st = j["stop"];
    if (st.is_string()) c.gen.stop.push_back(st.get<std::string>());
    else if (st.is_array() && st.size() <= 4) {
      for (const json& x : st) {
        if (!x.is_string()) bad("'stop' must be a string or an array of up to 4 strings");
        c.gen.stop.push_back(x.get<std::string>());
      }
    } else bad("'stop' must be a string or an array of up to 4 strings");
    for (const std::string& x : c.gen.stop)
      if (x.empty()) bad("'stop' strings must not be empty");
  }
  return c;
}

// A message's content: a string, or an array of parts of which only {"type": "text"} ones are accepted.
std::string message_content(const json& m, size_t i) {
  if (!m.contains("content") || m["content"].is_null()) return "";
  const json& c = m["content"];
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) bad(fmt::format("messages[{}].content must be a string or an array of text parts", i));
  std::string text;
  for (const json& part : c) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
      bad(fmt::format("messages[{}].content: only text parts are supported", i));
    text += part["text"].get<std::string>();
  }
  return text;
}

}  // namespace

json parse_body(const std::string& body) {
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    bad(fmt::format("the request body is not valid JSON: {}", e.what()));
  }
  if (!j.is_object()) bad("the request body must be a JSON object");
  return j;
}

CompletionCall read_chat_request(const Engine& e, const json& j) {
  CompletionCall c = common(e, j, e.options().max_tokens);
  if (!e.chat_template())
    bad(fmt::format("{} declares no chat template edgellm recognises; start serve with --chat-template, or use "
                    "/v1/completions",
                    e.options().model));
  if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())
    bad("'messages' must be a non-empty array");
  std::vector<ChatMessage> messages;
  for (size_t i = 0; i < j["messages"].size(); ++i) {
    const json& m = j["messages"][i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      bad(fmt::format("messages[{}] must be an object with a string 'role'", i));
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";  // OpenAI's newer name for it
    if (role != "system" && role != "user" && role != "assistant")
      bad(fmt::format("messages[{}].role '{}' is not supported (system, user, assistant)", i, role));
    messages.push_back({role, message_content(m, i)});
  }
  std::string text;
  try {
    text = apply_chat_template(*e.chat_template(), messages, true);
  } catch (const Error& err) {
    bad(fmt::format("messages: {}", err.what()));
  }
  c.gen.prompt = encode_chat_text(*e.base().tokenizer, text, true);
  c.gen.stop_ids = e.chat_stop_ids();
  return c;
}

CompletionCall read_completion_request(const Engine& e, const json& j) {
  CompletionCall c = common(e, j, 16);  // OpenAI's default for /v1/completions
  if (!j.contains("prompt")) bad("'prompt' is required");
  const json& p = j["prompt"];
  std::string prompt;
  if (p.is_string()) prompt = p.get<std::string>();
  else if (p.is_array() && p.size() == 1 && p[0].is_string()) prompt = p[0].get<std::string>();
  else bad("'prompt' must be a string (or an array of one string)");
  EncodeOptions opt;
  opt.add_bos = e.base().tokenizer->add_bos_default();
  c.gen.prompt = e.base().tokenizer->encode(prompt, opt);
  if (e.base().llama.config.eos_id >= 0) c.gen.stop_ids.push_back(static_cast<int32_t>(e.base().llama.config.eos_id));
  return c;
}

EmbeddingCall read_embedding_request(const Engine& e, const json& j) {
  if (!j.is_object()) bad("the request body must be a JSON object");
  EmbeddingCall c;
  c.model = string_field(j, "model", false);
  c.adapter = e.find_adapter(j.contains("adapter") ? string_field(j, "adapter", false) : c.model);
  if (c.model.empty()) c.model = c.adapter ? c.adapter->name : e.base_name();
  const std::string fmt_name = string_field(j, "encoding_format", false);
  if (!fmt_name.empty() && fmt_name != "float" && fmt_name != "base64")
    bad(fmt::format("'encoding_format' must be float or base64, got '{}'", fmt_name));
  c.base64 = fmt_name == "base64";
  if (j.contains("dimensions") && !j["dimensions"].is_null()) bad("'dimensions' is not supported by edgellm serve");
  if (!j.contains("input")) bad("'input' is required");
  const json& in = j["input"];
  if (in.is_string()) c.input.push_back(in.get<std::string>());
  else if (in.is_array() && !in.empty() && in.size() <= 256) {
    for (const json& x : in) {
      if (!x.is_string()) bad("'input' must be a string or an array of strings (token arrays are not supported)");
      c.input.push_back(x.get<std::string>());
    }
  } else bad("'input' must be a string or an array of 1 to 256 strings");
  EncodeOptions opt;
  opt.add_bos = e.base().tokenizer->add_bos_default();
  for (const std::string& s : c.input) c.tokens += static_cast<int64_t>(e.base().tokenizer->encode(s, opt).size());
  return c;
}

json usage_json(const GenerateResult& r) {
  return {{"prompt_tokens", r.prompt_tokens},
          {"completion_tokens", r.completion_tokens},
          {"total_tokens", r.prompt_tokens + r.completion_tokens}};
}

json chat_response(const CompletionCall& c, const GenerateResult& r, const std::string& id, int64_t created) {
  return {{"id", id},
          {"object", "chat.completion"},
          {"created", created},
          {"model", c.model},
          {"choices", json::array({{{"index", 0},
                                    {"message", {{"role", "assistant"}, {"content", r.text}}},
                                    {"logprobs", nullptr},
                                    {"finish_reason", r.finish_reason}}})},
          {"usage", usage_json(r)}};
}

json completion_response(const CompletionCall& c, const GenerateResult& r, const std::string& id, int64_t created) {
  return {{"id", id},
          {"object", "text_completion"},
          {"created", created},
          {"model", c.model},
          {"choices", json::array({{{"index", 0}, {"text", r.text}, {"logprobs", nullptr}, {"finish_reason", r.finish_reason}}})},
          {"usage", usage_json(r)}};
}

json chat_chunk(const CompletionCall& c, const std::string& id, int64_t created, const json& delta,
                const std::string& finish_reason) {
  json fr = finish_reason.empty() ? json(nullptr) : json(finish_reason);
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", created},
          {"model", c.model},
          {"choices", json::array({{{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", fr}}})}};
}

json completion_chunk(const CompletionCall& c, const std::string& id, int64_t created, const std::string& text,
                      const std::string& finish_reason) {
  json fr = finish_reason.empty() ? json(nullptr) : json(finish_reason);
  return {{"id", id},
          {"object", "text_completion"},
          {"created", created},
          {"model", c.model},
          {"choices", json::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", fr}}})}};
}

json embedding_response(const EmbeddingCall& c, const std::vector<float>& vectors, int64_t dim) {
  json data = json::array();
  for (size_t i = 0; i < c.input.size(); ++i) {
    const float* v = vectors.data() + i * static_cast<size_t>(dim);
    json e = {{"object", "embedding"}, {"index", i}};
    if (c.base64) e["embedding"] = base64_encode(v, static_cast<size_t>(dim) * sizeof(float));
    else e["embedding"] = std::vector<float>(v, v + dim);
    data.push_back(std::move(e));
  }
  return {{"object", "list"},
          {"data", std::move(data)},
          {"model", c.model},
          {"usage", {{"prompt_tokens", c.tokens}, {"total_tokens", c.tokens}}}};
}

json models_response(const Engine& e, int64_t created) {
  json data = json::array();
  data.push_back({{"id", e.base_name()}, {"object", "model"}, {"created", created}, {"owned_by", "edgellm"}});
  for (const auto& a : e.adapters())
    data.push_back({{"id", a->name}, {"object", "model"}, {"created", created}, {"owned_by", "edgellm"},
                    {"parent", e.base_name()}, {"adapter", a->path}});
  return {{"object", "list"}, {"data", std::move(data)}};
}

json error_json(int status, const std::string& type, const std::string& message) {
  return {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", status}}}};
}

std::string base64_encode(const void* data, size_t n) {
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = static_cast<const uint8_t*>(data);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t b = uint32_t{p[i]} << 16 | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    out += digits[b >> 18 & 63];
    out += digits[b >> 12 & 63];
    out += i + 1 < n ? digits[b >> 6 & 63] : '=';
    out += i + 2 < n ? digits[b & 63] : '=';
  }
  return out;
}

}  // namespace edgellm::serve
