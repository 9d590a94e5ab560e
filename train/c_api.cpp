// The C API's personalization calls (include/edgellm/edgellm.h): LoRA adapters loaded beside a base, applied with a
// scale, switched and freed without reloading it; LoRA fine-tuning with budgets and a cancelling progress callback.
// Not a second trainer or loader: every call forwards to train/lora_io.h and train/trainer.h.
#include <atomic>
#include <cmath>
#include <memory>
#include <optional>
#include <sstream>

#include "edgellm/edgellm.h"
#include "models/c_api_internal.h"
#include "rag/prompt.h"
#include "runtime/arena.h"
#include "runtime/error.h"
#include "train/data.h"
#include "train/lora_io.h"
#include "train/trainer.h"

namespace {

using edgellm::capi::guarded;
using edgellm::capi::null_arg;
using Pairs = std::vector<std::array<edgellm::LoraPair, edgellm::kNumLinearKinds>>;

// Moves every layer's adapter pairs off the model (leaving the bare base) and returns them.
Pairs take_pairs(edgellm::LlamaModel& m) {
  Pairs out(m.weights.layers.size());
  for (size_t l = 0; l < out.size(); ++l)
    for (int k = 0; k < edgellm::kNumLinearKinds; ++k) out[l][k] = std::exchange(m.weights.layers[l].lora[k], {});
  return out;
}

// Puts pairs on the model's layers, each scale multiplied by `scale`.
void put_pairs(edgellm::LlamaModel& m, const Pairs& pairs, float scale) {
  for (size_t l = 0; l < pairs.size(); ++l)
    for (int k = 0; k < edgellm::kNumLinearKinds; ++k) {
      edgellm::LoraPair p = pairs[l][k];
      p.scale *= scale;
      m.weights.layers[l].lora[k] = std::move(p);
    }
}

// Runs fn with the model's layers bare (the applied adapter taken off), then puts the applied adapter back,
// whether fn returns or throws. fn may attach pairs (load_lora, the trainer): they are returned, taken off.
template <class F>
Pairs with_bare_base(edgellm_model* model, F&& fn) {
  edgellm::LlamaModel& m = model->m.llama;
  const Pairs applied = take_pairs(m);
  try {
    fn();
  } catch (...) {
    take_pairs(m);
    put_pairs(m, applied, 1.0f);
    throw;
  }
  Pairs attached = take_pairs(m);
  put_pairs(m, applied, 1.0f);
  return attached;
}

edgellm_adapter* new_adapter(edgellm_model* model, Pairs pairs, const edgellm::LoraConfig& c) {
  auto a = std::make_unique<edgellm_adapter>();
  a->model = model;
  a->layers = std::move(pairs);
  a->rank = c.rank;
  a->alpha = c.alpha;
  a->targets = c.targets;
  model->adapters.insert(a.get());
  return a.release();
}

std::vector<std::string> split_targets(const char* s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string t; std::getline(in, t, ',');) {
    t.erase(0, t.find_first_not_of(' '));
    t.erase(t.find_last_not_of(' ') + 1);
    if (!t.empty()) out.push_back(t);
  }
  return out;
}

}  // namespace

extern "C" {

edgellm_adapter* edgellm_adapter_load(edgellm_model* model, const char* path) {
  if (null_arg(model, "model") || null_arg(path, "path")) return nullptr;
  return guarded(static_cast<edgellm_adapter*>(nullptr), [&] {
    edgellm::LoraConfig c;
    Pairs pairs = with_bare_base(model, [&] { c = edgellm::load_lora(model->m.llama, path); });
    return new_adapter(model, std::move(pairs), c);
  });
}

int32_t edgellm_adapter_apply(edgellm_model* model, const edgellm_adapter* adapter, float scale) {
  if (null_arg(model, "model")) return -1;
  return guarded(int32_t{-1}, [&] {
    if (adapter && adapter->model != model)
      edgellm::fail("edgellm_adapter_apply: the adapter was loaded for {}, not this model ({})",
                    adapter->model ? adapter->model->m.llama.source : "a model since freed", model->m.llama.source);
    if (!std::isfinite(scale)) edgellm::fail("edgellm_adapter_apply: scale must be finite, got {}", scale);
    take_pairs(model->m.llama);
    if (adapter) put_pairs(model->m.llama, adapter->layers, scale);
    model->active = adapter;
    return int32_t{0};
  });
}

const edgellm_adapter* edgellm_adapter_active(const edgellm_model* model) { return model ? model->active : nullptr; }

int32_t edgellm_adapter_save(const edgellm_adapter* adapter, const char* path) {
  if (null_arg(adapter, "adapter") || null_arg(path, "path")) return -1;
  return guarded(int32_t{-1}, [&] {
    if (!adapter->model) edgellm::fail("edgellm_adapter_save: {}: the adapter's model was freed", path);
    edgellm_model* model = adapter->model;
    const std::string p = path;
    // The writers read the pairs from the model's layers: put this adapter there (at its trained scale) meanwhile.
    with_bare_base(model, [&] {
      put_pairs(model->m.llama, adapter->layers, 1.0f);
      if (p.size() >= 5 && p.compare(p.size() - 5, 5, ".gguf") == 0) {
        edgellm::save_lora_gguf(model->m.llama, adapter->alpha, p);
      } else {
        edgellm::LoraConfig c;
        c.rank = adapter->rank;
        c.alpha = adapter->alpha;
        c.targets = adapter->targets;
        edgellm::save_peft_adapter(model->m.llama, c, model->m.llama.source, p);
      }
    });
    return int32_t{0};
  });
}

void edgellm_adapter_free(edgellm_adapter* adapter) {
  if (!adapter) return;
  if (edgellm_model* model = adapter->model) {
    if (model->active == adapter) {
      take_pairs(model->m.llama);
      model->active = nullptr;
    }
    model->adapters.erase(adapter);
  }
  delete adapter;
}

edgellm_finetune_params edgellm_finetune_default_params(void) {
  edgellm_finetune_params p{};
  p.rank = 8;
  p.alpha = 16;
  p.lr = 1e-3f;
  p.batch = 1;
  p.seq_len = 128;
  return p;
}

int32_t edgellm_finetune(edgellm_model* model, const char* data_path, const edgellm_finetune_params* params,
                         edgellm_progress_callback progress, void* user, edgellm_adapter** out) {
  if (null_arg(out, "out")) return EDGELLM_FINETUNE_ERROR;
  *out = nullptr;
  if (null_arg(model, "model") || null_arg(data_path, "data_path")) return EDGELLM_FINETUNE_ERROR;
  return guarded(int32_t{EDGELLM_FINETUNE_ERROR}, [&] {
    const edgellm_finetune_params p = params ? *params : edgellm_finetune_default_params();
    if (p.rank < 1 || p.batch < 1 || p.seq_len < 2 || p.steps < 0 || !(p.lr > 0) || !(p.time_budget_s >= 0))
      edgellm::fail("edgellm_finetune: params need rank >= 1, batch >= 1, seq_len >= 2, steps >= 0, lr > 0 and "
                    "time_budget_s >= 0 (got rank {}, batch {}, seq_len {}, steps {}, lr {}, time_budget_s {})",
                    p.rank, p.batch, p.seq_len, p.steps, p.lr, p.time_budget_s);
    edgellm::Model& m = model->m;
    // Chat records ("messages") are rendered in the chat template the model's files declare (none: refused).
    const std::optional<edgellm::ChatTemplate> chat = edgellm::rag::model_chat_template(m.llama.source);
    edgellm::PackedData data(edgellm::load_examples(data_path, *m.tokenizer, chat ? &*chat : nullptr), p.seq_len, p.seed);
    edgellm::TrainConfig c;
    c.setup.lora = true;
    c.setup.lora_config.rank = p.rank;
    c.setup.lora_config.alpha = p.alpha;
    c.setup.lora_config.targets = split_targets(p.targets ? p.targets : "q_proj,v_proj");
    c.seq_len = p.seq_len;
    c.batch = p.batch;
    c.steps = p.steps;
    c.lr = p.lr;
    c.seed = p.seed;
    c.time_budget = p.time_budget_s;
    // The trainer plans against the budget it is given and sets it on the arena: without one of its own, the run
    // plans against edgellm_set_mem_budget's, and that budget is what the arena keeps afterwards.
    edgellm::MemoryArena& arena = edgellm::default_arena();
    const size_t caller_budget = arena.budget();
    c.mem_budget = p.mem_budget ? p.mem_budget : caller_budget;
    std::atomic<bool> stop{false};
    edgellm::StopReason why = edgellm::StopReason::Done;
    Pairs trained;
    try {
      trained = with_bare_base(model, [&] {
        edgellm::Trainer tr(m.llama, data, c);
        tr.on_step = [&](const edgellm::StepLog& s) {
          if (!progress) return;
          const edgellm_finetune_progress pr{static_cast<int32_t>(s.step), static_cast<int32_t>(tr.total_steps()),
                                             static_cast<float>(s.loss), s.elapsed_s, s.eta_s, s.peak_bytes};
          if (progress(&pr, user) == 0) stop.store(true);
        };
        why = tr.run(&stop);
      });
    } catch (...) {
      arena.set_budget(caller_budget);
      throw;
    }
    arena.set_budget(caller_budget);
    *out = new_adapter(model, std::move(trained), c.setup.lora_config);
    return int32_t{why == edgellm::StopReason::Done         ? EDGELLM_FINETUNE_DONE
                   : why == edgellm::StopReason::TimeBudget ? EDGELLM_FINETUNE_TIME_BUDGET
                                                            : EDGELLM_FINETUNE_CANCELLED};
  });
}

}  // extern "C"
