// `edgellm chat`: read a line, stream the reply, repeat — /exit or EOF ends, /reset clears, Ctrl-C cuts a reply.
// Thin: the turns, the cache and the template are models/chat_session.h's; this file is terminal handling only.
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>

#include "models/chat_session.h"
#include "rag/prompt.h"
#include "runtime/error.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {
namespace {

std::atomic<bool> g_interrupt{false};
extern "C" void on_chat_sigint(int) { g_interrupt.store(true); }

// SIGINT sets the flag each time (no SA_RESETHAND, unlike the training verbs: every Ctrl-C cuts one reply) and
// does not restart a read (no SA_RESTART), so Ctrl-C at the prompt ends the blocking getline and the program.
void install_chat_sigint() {
  struct sigaction sa{};
  sa.sa_handler = on_chat_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("chat", "Interactive multi-turn chat in the model's chat template");
  static std::string model, system, tmpl_name;
  static int n = 256;
  static int64_t n_ctx = 0;
  static SamplerParams sp;
  static bool greedy = false;
  cmd->add_option("-m,--model", model, "Model (.gguf, HF directory or builtin:<preset>)")->required();
  cmd->add_option("--system", system, "System message");
  cmd->add_option("--chat-template", tmpl_name,
                  "Built-in chat format instead of the model's own Jinja template (for models without one): "
                  "llama2, llama3, chatml (qwen2, smollm), mistral, zephyr");
  cmd->add_option("-n,--n-predict", n, "Most tokens per reply")->check(CLI::NonNegativeNumber);
  cmd->add_option("-c,--ctx-size", n_ctx, "Context for the whole conversation (0 = the model's trained context)")
      ->check(CLI::NonNegativeNumber);
  add_sampling_options(cmd, sp, greedy);
  add_lora_option(cmd);
  cmd->callback([] {
    apply_global_options();
    std::optional<ChatTemplate> tmpl;
    if (!tmpl_name.empty()) {
      tmpl = chat_format_from_name(tmpl_name);
      if (!tmpl) fail("chat --chat-template: unknown template '{}' (llama2, llama3, chatml, mistral, zephyr)", tmpl_name);
    } else {
      tmpl = rag::model_chat_template(model);
      if (!tmpl)
        fail("chat: {} carries no chat template (tokenizer.chat_template / chat_template); pass --chat-template "
             "llama2|llama3|chatml|mistral|zephyr",
             model);
    }
    Model m = load_model(model);
    apply_lora(m);
    if (greedy) sp.temperature = 0;
    const int64_t ctx = n_ctx > 0 ? n_ctx : m.llama.config.max_ctx;
    const std::string warn = context_warning(m.llama.config, ctx, fmt::format("chat (-c {})", ctx));
    if (!warn.empty()) std::fprintf(stderr, "%s\n", warn.c_str());
    ChatSession chat(m, *tmpl, ctx, sp, system);
    std::fprintf(stderr, "chat: %s template, context %lld; /reset clears the history, /exit or Ctrl-D ends, "
                         "Ctrl-C stops a reply\n", chat_template_name(*tmpl).c_str(), static_cast<long long>(ctx));
    install_chat_sigint();
    std::string line;
    for (;;) {
      fmt::print("\n> ");
      std::fflush(stdout);
      g_interrupt.store(false);
      if (!std::getline(std::cin, line)) break;  // EOF (Ctrl-D), or Ctrl-C while waiting for input
      if (line == "/exit" || line == "/quit") break;
      if (line == "/reset") {
        chat.reset();
        std::fprintf(stderr, "[history cleared]\n");
        continue;
      }
      if (line.empty()) continue;
      const ChatReply r = chat.reply(line, n, [](std::string_view piece) {
        fmt::print("{}", piece);
        std::fflush(stdout);
        return !g_interrupt.load();
      });
      fmt::print("\n");
      std::fflush(stdout);
      // Full context: the conversation stops growing rather than silently forgetting its start; the user
      // decides (reset, or restart with a larger -c).
      if (r.stop == ChatReply::Stop::ContextFull)
        std::fprintf(stderr, "[context full: %zu of %lld positions used; /reset to start over, or restart with a "
                             "larger -c]\n", chat.tokens().size(), static_cast<long long>(chat.capacity()));
      else if (r.stop == ChatReply::Stop::Interrupted)
        std::fprintf(stderr, "[stopped]\n");
    }
    fmt::print("\n");
    std::fflush(stdout);
  });
}

}  // namespace edgellm::cli
