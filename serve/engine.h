// The serving engine: one loaded base model, its LoRA adapters kept off the weights, and a fixed set of worker
// slots (each a shallow copy of the base with its own KV cache) handed out by a bounded admission queue.
// Not HTTP (serve/http_server.h) and not OpenAI's JSON (serve/openai_api.h): requests here are token ids.
//
// How concurrent requests share one base: the weights are mapped or allocated once; a slot's LlamaModel is a
// copy of the handles (no tensor data is copied) whose per-layer LoRA pairs are set to the request's adapter
// when the slot is taken, so requests for different adapters run side by side without reloading anything.
// A request holds one slot from its first prompt token to its last generated token; at most `queue` more
// wait for a slot, and a request beyond that is refused at once (HTTP 503) rather than queued without bound.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "models/chat_template.h"
#include "models/runner.h"
#include "models/sampler.h"

namespace edgellm::serve {

// An error a client caused (or the server's limits), with the HTTP status to answer: 400, 404, 413, 503.
struct RequestError : std::runtime_error {
  RequestError(int status, std::string type, const std::string& message)
      : std::runtime_error(message), status(status), type(std::move(type)) {}
  int status;
  std::string type;  // OpenAI's error.type: invalid_request_error, not_found_error, server_busy
};

struct EngineOptions {
  std::string model;                                        // load_model's spec
  std::vector<std::pair<std::string, std::string>> adapters;  // (name, PEFT dir or LoRA .gguf), name unique
  std::string chat_template;  // a name (chat_template_from_name); empty: the model's own, if it declares one
  int slots = 2;              // requests generating at once, each with its own KV cache
  int queue = 32;             // requests waiting for a slot; more are refused with 503
  int64_t n_ctx = 0;          // positions per slot (prompt + reply); 0: the model's trained context, at most 4096
  int max_tokens = 512;       // most tokens a request may ask to generate
  int threads = 0;            // compute threads per slot; 0: the cores divided among the slots
};

// A LoRA adapter off the model: one pair per layer and linear kind, at its trained scale.
struct Adapter {
  std::string name, path;
  std::vector<std::array<LoraPair, kNumLinearKinds>> layers;  // (n_layers)
};

struct GenerateRequest {
  std::vector<int32_t> prompt;        // ids, BOS included when wanted
  int max_tokens = 16;
  SamplerParams sampling;
  std::vector<int32_t> stop_ids;      // ids that end the reply (not part of the text)
  std::vector<std::string> stop;      // strings that end the reply (cut before them)
};

struct GenerateResult {
  std::string text;
  std::string finish_reason;  // "stop" (stop id or string) or "length" (max_tokens or the slot's context)
  int64_t prompt_tokens = 0, completion_tokens = 0;
  bool cancelled = false;     // on_text returned false (the client went away)
};

class Engine;

// A slot taken from the engine for one request; given back when destroyed.
class SlotLease {
 public:
  SlotLease(SlotLease&& o) noexcept : engine_(o.engine_), slot_(o.slot_) { o.engine_ = nullptr; }
  SlotLease(const SlotLease&) = delete;
  SlotLease& operator=(const SlotLease&) = delete;
  SlotLease& operator=(SlotLease&&) = delete;
  ~SlotLease();

  // Generates on this slot with `adapter` ("" or the base's name: none). on_text gets the text as it becomes
  // final (held back while it could still be the start of a stop string) and returns false to stop.
  GenerateResult generate(const Adapter* adapter, const GenerateRequest& r,
                          const std::function<bool(std::string_view)>& on_text = {});
  // L2-normalised embeddings of texts (rag::embed_texts) with the adapter applied; (n, C).
  std::vector<float> embed(const Adapter* adapter, const std::vector<std::string>& texts);

 private:
  friend class Engine;
  SlotLease(Engine* e, int slot) : engine_(e), slot_(slot) {}
  Engine* engine_;
  int slot_;
};

class Engine {
 public:
  explicit Engine(const EngineOptions& o);
  ~Engine();

  const EngineOptions& options() const { return opt_; }
  const Model& base() const { return base_; }
  const std::string& base_name() const { return base_name_; }  // the id /v1/models gives the bare base
  int64_t slot_ctx() const { return n_ctx_; }
  // The chat template, or null when neither the model nor --chat-template names one.
  const ChatTemplate* chat_template() const { return tmpl_ ? &*tmpl_ : nullptr; }
  const std::vector<int32_t>& chat_stop_ids() const { return chat_stop_ids_; }
  const std::vector<std::unique_ptr<Adapter>>& adapters() const { return adapters_; }
  // The adapter a request names: null for the base (its name or ""); throws RequestError 404 when unknown.
  const Adapter* find_adapter(const std::string& name) const;

  // Waits for a free slot; throws RequestError 503 when `queue` requests are already waiting.
  SlotLease acquire();

  struct Load {
    int busy = 0, waiting = 0, slots = 0;
    int64_t served = 0, refused = 0;
  };
  Load load() const;

 private:
  friend class SlotLease;
  struct Slot;
  void release(int slot);
  Slot& slot(int i) { return *slots_[static_cast<size_t>(i)]; }

  EngineOptions opt_;
  Model base_;
  std::string base_name_;
  int64_t n_ctx_ = 0;
  std::optional<ChatTemplate> tmpl_;
  std::vector<int32_t> chat_stop_ids_;
  std::vector<std::unique_ptr<Adapter>> adapters_;
  std::vector<std::unique_ptr<Slot>> slots_;

  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::vector<int> free_;  // slot indices
  int waiting_ = 0;
  int64_t served_ = 0, refused_ = 0;
};

}  // namespace edgellm::serve
