// OpenAI's wire format for edgellm serve: request bodies of /v1/chat/completions, /v1/completions and
// /v1/embeddings read into engine requests, and the response objects and stream chunks written back.
// Not the transport (serve/http_server.h) and no generation (serve/engine.h). Unsupported fields that would
// change the answer (n > 1, tools, logprobs) are refused with a 400 naming them, not ignored.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "serve/engine.h"

namespace edgellm::serve {

// The body as JSON; RequestError 400 naming the parse error when it is not a JSON object.
nlohmann::json parse_body(const std::string& body);

struct CompletionCall {
  std::string model;         // as the client named it (echoed back)
  const Adapter* adapter = nullptr;
  GenerateRequest gen;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with usage
};
// /v1/chat/completions: messages rendered by the engine's chat template (RequestError 400 when it has none).
CompletionCall read_chat_request(const Engine& e, const nlohmann::json& j);
// /v1/completions: `prompt` is a string (or an array of one string), encoded with BOS as the tokenizer wants.
CompletionCall read_completion_request(const Engine& e, const nlohmann::json& j);

struct EmbeddingCall {
  std::string model;
  const Adapter* adapter = nullptr;
  std::vector<std::string> input;
  bool base64 = false;  // encoding_format "base64": little-endian float32 bytes (the npm client asks for it)
  int64_t tokens = 0;   // the inputs' token count, for usage
};
EmbeddingCall read_embedding_request(const Engine& e, const nlohmann::json& j);

// Response objects. `id` is the completion's ("chatcmpl-7"), `created` seconds since the epoch.
nlohmann::json chat_response(const CompletionCall& c, const GenerateResult& r, const std::string& id, int64_t created);
nlohmann::json completion_response(const CompletionCall& c, const GenerateResult& r, const std::string& id,
                                   int64_t created);
// A stream chunk: chat's carries a delta ({"role"} first, then {"content"}), a completion's the text.
// finish_reason empty: null. usage: only on the include_usage chunk (choices empty).
nlohmann::json chat_chunk(const CompletionCall& c, const std::string& id, int64_t created, const nlohmann::json& delta,
                          const std::string& finish_reason);
nlohmann::json completion_chunk(const CompletionCall& c, const std::string& id, int64_t created,
                                const std::string& text, const std::string& finish_reason);
nlohmann::json usage_json(const GenerateResult& r);
nlohmann::json embedding_response(const EmbeddingCall& c, const std::vector<float>& vectors, int64_t dim);
nlohmann::json models_response(const Engine& e, int64_t created);
// {"error": {"message", "type", "param": null, "code"}}
nlohmann::json error_json(int status, const std::string& type, const std::string& message);

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(const void* data, size_t n);

}  // namespace edgellm::serve
