// `edgellm serve`: parses the options, calls serve::run_server (serve/http_server.h), prints where it listens.
// Thin: the HTTP routes, the slots and the adapters are serve/'s; this file is options and signals only.
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "tools/edgellm/commands.h"

#ifdef EDGELLM_HAVE_SERVE
#include "serve/http_server.h"
#endif

namespace edgellm::cli {

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server: chat, completions, embeddings, one "
                                          "base model with per-request LoRA adapters");
#ifdef EDGELLM_HAVE_SERVE
  static serve::ServerOptions o;
  static std::vector<std::string> loras;
  static size_t max_body_kib = 1024;
  cmd->add_option("-m,--model", o.engine.model, "Model (.gguf, HF directory or builtin:<preset>)")->required();
  cmd->add_option("--lora", loras,
                  "NAME=PATH: an adapter (PEFT directory or LoRA .gguf) a request picks with \"model\": \"NAME\" "
                  "(repeatable)");
  cmd->add_option("--chat-template", o.engine.chat_template,
                  "Chat template instead of the model's: llama2, llama3, chatml (qwen2, smollm), mistral, zephyr");
  cmd->add_option("--host", o.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o.port, "Port (0: any free one, printed)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--slots", o.engine.slots, "Requests generating at once, each with its own KV cache")
      ->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--queue", o.engine.queue, "Requests waiting for a slot; more get 503")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("-c,--ctx-size", o.engine.n_ctx, "Positions per slot (0: the model's context, at most 4096)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-tokens", o.engine.max_tokens, "Most tokens a request may generate")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-body", max_body_kib, "Largest request body in KiB; larger gets 413")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->callback([] {
    apply_global_options();
    o.engine.threads = global_options().threads;  // -t: threads per slot
    o.max_body_bytes = max_body_kib * 1024;
    o.engine.adapters.clear();
    for (const std::string& l : loras) {
      const size_t eq = l.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == l.size())
        fail("serve --lora '{}': expected NAME=PATH (the name a request gives as \"model\")", l);
      o.engine.adapters.emplace_back(l.substr(0, eq), l.substr(eq + 1));
    }
    install_stop_handlers();
    serve::run_server(o, stop_flag(), [](const std::string& host, int port) {
      // One line on stdout, flushed: scripts (tests/serve) read the port from it.
      fmt::print("edgellm serve: listening on http://{}:{}\n", host, port);
      std::fflush(stdout);
    });
  });
#else
  cmd->allow_extras();
  cmd->callback([] { fail("serve: this edgellm was built without cpp-httplib (apt-get install libcpp-httplib-dev)"); });
#endif
}

}  // namespace edgellm::cli
