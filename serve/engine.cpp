// The serving engine: loading the base and its adapters, the slot pool, and a request's generation on a slot.
// Not HTTP or JSON (serve/http_server.cpp, serve/openai_api.cpp).
#include "serve/engine.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "models/chat_session.h"
#include "models/token_stream.h"
#include "rag/dense.h"
#include "rag/prompt.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "train/lora_io.h"

namespace edgellm::serve {

// A worker slot: the base's handles with this request's LoRA pairs on its layers, and its own KV cache.
struct Engine::Slot {
  Slot(const Model& base, int64_t n_ctx) : model{base.llama, base.tokenizer}, cache(base.llama.config, n_ctx) {}
  Model model;
  KvCache cache;
};

namespace {

// Puts an adapter's pairs on the slot's layers (none: the bare base). Copies handles only.
void set_adapter(LlamaModel& m, const Adapter* a) {
  for (size_t l = 0; l < m.weights.layers.size(); ++l)
    for (int k = 0; k < kNumLinearKinds; ++k) m.weights.layers[l].lora[k] = a ? a->layers[l][k] : LoraPair{};
}

// Loads an adapter onto a handle copy of the base and takes its pairs off again: the base itself stays bare.
std::unique_ptr<Adapter> load_adapter(const LlamaModel& base, const std::string& name, const std::string& path) {
  LlamaModel tmp = base;
  load_lora(tmp, path);
  auto a = std::make_unique<Adapter>();
  a->name = name;
  a->path = path;
  a->layers.resize(tmp.weights.layers.size());
  for (size_t l = 0; l < a->layers.size(); ++l)
    for (int k = 0; k < kNumLinearKinds; ++k) a->layers[l][k] = std::exchange(tmp.weights.layers[l].lora[k], {});
  return a;
}

// The length of text that can be handed on: all of it, less any tail that may still grow into a stop string
// (a proper prefix of one). `stop_at` is set to the first stop string's start when
// one is found (the text is final up to it).
size_t final_prefix(const std::string& text, size_t from, const std::vector<std::string>& stop, size_t& stop_at) {
  stop_at = std::string::npos;
  for (const std::string& s : stop) {
    // A stop string ends within the new text or straddles it: search from `from` less its length.
    const size_t start = from >= s.size() ? from - s.size() + 1 : 0;
    if (size_t p = text.find(s, start); p != std::string::npos) stop_at = std::min(stop_at, p);
  }
  if (stop_at != std::string::npos) return stop_at;
  size_t keep = text.size();
  for (const std::string& s : stop)
    for (size_t n = std::min(s.size() - 1, text.size()); n > 0; --n)
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        keep = std::min(keep, text.size() - n);
        break;
      }
  return keep;
}

}  // namespace

Engine::Engine(const EngineOptions& o) : opt_(o) {
  EDGE_CHECK(o.slots >= 1 && o.slots <= 256, "serve: --slots must be 1..256, got {}", o.slots);
  EDGE_CHECK(o.queue >= 0, "serve: --queue must be >= 0, got {}", o.queue);
  EDGE_CHECK(o.max_tokens >= 1, "serve: --max-tokens must be >= 1, got {}", o.max_tokens);
  // The cores divided among the slots: every slot decoding at once should not oversubscribe them.
  set_num_threads(o.threads > 0 ? o.threads : std::max(1, default_num_threads() / o.slots));
  base_ = load_model(o.model);
  base_name_ = std::filesystem::path(o.model).filename().string();
  if (base_name_.empty() || o.model.starts_with("builtin:")) base_name_ = o.model;
  n_ctx_ = o.n_ctx > 0 ? o.n_ctx : std::min<int64_t>(base_.llama.config.max_ctx, 4096);
  EDGE_CHECK(n_ctx_ >= 8, "serve: a slot's context must be at least 8 positions, got {}", n_ctx_);
  if (!o.chat_template.empty()) {
    tmpl_ = chat_template_from_name(o.chat_template);
    if (!tmpl_) fail("serve --chat-template: unknown template '{}' (llama2, llama3, chatml, mistral, zephyr)", o.chat_template);
  } else {
    tmpl_ = rag::model_chat_template(o.model);
  }
  chat_stop_ids_ = edgellm::chat_stop_ids(base_);
  for (const auto& named : o.adapters) {
    const std::string& name = named.first;  // not a structured binding: clang 14 cannot capture one in a lambda
    if (name.empty() || name == base_name_ ||
        std::any_of(adapters_.begin(), adapters_.end(), [&](const auto& a) { return a->name == name; }))
      fail("serve --lora {}={}: the name must be unique and differ from the base's ({})", name, named.second, base_name_);
    adapters_.push_back(load_adapter(base_.llama, name, named.second));
  }
  for (int i = 0; i < o.slots; ++i) {
    slots_.push_back(std::make_unique<Slot>(base_, n_ctx_));
    free_.push_back(o.slots - 1 - i);
  }
}

Engine::~Engine() = default;

const Adapter* Engine::find_adapter(const std::string& name) const {
  if (name.empty() || name == base_name_) return nullptr;
  for (const auto& a : adapters_)
    if (a->name == name) return a.get();
  std::string known = base_name_;
  for (const auto& a : adapters_) known += ", " + a->name;
  throw RequestError(404, "not_found_error", fmt::format("unknown model or adapter '{}' (this server has: {})", name, known));
}

SlotLease Engine::acquire() {
  std::unique_lock lock(mu_);
  if (free_.empty() && waiting_ >= opt_.queue) {
    ++refused_;
    throw RequestError(503, "server_busy",
                       fmt::format("the server is busy: {} requests running and {} waiting (--slots {}, --queue {})",
                                   opt_.slots, waiting_, opt_.slots, opt_.queue));
  }
  ++waiting_;
  freed_.wait(lock, [&] { return !free_.empty(); });
  --waiting_;
  const int s = free_.back();
  free_.pop_back();
  ++served_;
  return SlotLease(this, s);
}

void Engine::release(int s) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(s);
  }
  freed_.notify_one();
}

Engine::Load Engine::load() const {
  std::lock_guard lock(mu_);
  return {opt_.slots - static_cast<int>(free_.size()), waiting_, opt_.slots, served_, refused_};
}

SlotLease::~SlotLease() {
  if (engine_) engine_->release(slot_);
}

GenerateResult SlotLease::generate(const Adapter* adapter, const GenerateRequest& r,
                                   const std::function<bool(std::string_view)>& on_text) {
  Engine::Slot& s = engine_->slot(slot_);
  const int64_t P = static_cast<int64_t>(r.prompt.size());
  if (P == 0) throw RequestError(400, "invalid_request_error", "the prompt is empty (no tokens)");
  if (P + 1 > s.cache.capacity)
    throw RequestError(400, "invalid_request_error",
                       fmt::format("the prompt has {} tokens; a slot's context is {} (serve --ctx-size), which must "
                                   "also hold at least one generated token",
                                   P, s.cache.capacity));
  set_adapter(s.model.llama, adapter);
  s.cache.clear();
  GenerateResult out;
  out.prompt_tokens = P;
  out.finish_reason = "length";
  // The context bounds the reply too: the prompt's positions plus every generated token but the last.
  const int n = static_cast<int>(std::min<int64_t>(r.max_tokens, s.cache.capacity - P + 1));
  if (n <= 0) return out;
  Sampler sampler(r.sampling);
  TokenStream stream(*s.model.tokenizer);
  std::string text;  // everything generated so far; text[0, sent) has gone to on_text
  size_t sent = 0;
  bool stopped = false;  // a stop id or a stop string ended the reply
  bool cut = false;      // a stop string did: the text ends before it, nothing after is final
  // Hands on what is final; returns false when the caller wants no more.
  auto pass_on = [&](size_t upto) {
    if (upto <= sent) return true;
    const std::string_view piece(text.data() + sent, upto - sent);
    sent = upto;
    return !on_text || on_text(piece);
  };
  edgellm::generate(s.model, s.cache, r.prompt, n, sampler, [&](int32_t id) {
    ++out.completion_tokens;
    if (std::find(r.stop_ids.begin(), r.stop_ids.end(), id) != r.stop_ids.end()) {
      stopped = true;
      return false;
    }
    const size_t from = text.size();
    text += stream.push(id);
    size_t stop_at = std::string::npos;
    const size_t upto = final_prefix(text, from, r.stop, stop_at);
    if (stop_at != std::string::npos) {
      text.resize(stop_at);
      stopped = cut = true;
      pass_on(stop_at);
      return false;
    }
    if (!pass_on(upto)) {
      out.cancelled = true;
      return false;
    }
    return true;
  }, /*ignore_eos=*/true);
  if (!cut && !out.cancelled) {
    // The end: a held-back UTF-8 tail, and text held back as a possible stop string's start, are final now.
    text += stream.flush();
    if (!pass_on(text.size())) out.cancelled = true;
  }
  if (stopped) out.finish_reason = "stop";
  out.text = std::move(text);
  return out;
}

std::vector<float> SlotLease::embed(const Adapter* adapter, const std::vector<std::string>& texts) {
  Engine::Slot& s = engine_->slot(slot_);
  set_adapter(s.model.llama, adapter);
  return rag::embed_texts(s.model, texts, engine_->slot_ctx());
}

}  // namespace edgellm::serve
