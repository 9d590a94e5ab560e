// edgellm serve's HTTP side: an OpenAI-compatible server on cpp-httplib (Debian's libcpp-httplib-dev) over one
// serve::Engine: /v1/chat/completions and /v1/completions (with SSE streaming), /v1/embeddings, /v1/models, /health.
// Not the engine (serve/engine.h: slots, adapters, generation) and not the JSON shapes (serve/openai_api.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>

#include "serve/engine.h"

namespace edgellm::serve {

struct ServerOptions {
  EngineOptions engine;
  std::string host = "127.0.0.1";
  int port = 8080;                       // 0: any free port (the one bound is reported to on_listening)
  size_t max_body_bytes = 1 << 20;       // larger request bodies get 413
};

// Loads the engine, binds, calls on_listening(host, port) and serves until *stop becomes true (polled every
// 100 ms; null: until the process ends). Throws Error when the model, an adapter or the port cannot be had.
void run_server(const ServerOptions& o, const std::atomic<bool>* stop,
                const std::function<void(const std::string& host, int port)>& on_listening);

}  // namespace edgellm::serve
