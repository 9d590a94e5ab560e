// The fine-tuning loop: packed rows → micro-batches → gradient accumulation → clipping → LR
// schedule → AdamW/SGD, with time and memory budgets, a loss CSV and atomic, resumable checkpoints.
// Not a data loader or an adapter writer: see train/data.h and train/lora_io.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "runtime/safetensors.h"
#include "train/data.h"
#include "train/llama_grad.h"
#include "train/optimizer.h"

namespace edgellm {

struct TrainConfig {
  GradSetup setup;                // lora or full, LoRA settings, checkpointing
  int64_t seq_len = 256;          // T
  int64_t batch = 1;              // rows per micro-batch (B), as asked
  int64_t grad_accum = 1;         // micro-batches per optimizer step
  int64_t steps = 0;              // optimizer steps; 0: from epochs
  double epochs = 1;              // 0 (and steps 0) with a time budget: as many steps as the budget allows
  std::string optimizer = "adamw";  // adamw | sgd
  double lr = 1e-3, min_lr = 0, weight_decay = 0, momentum = 0.9, clip = 1.0;  // clip 0: off
  LrSchedule schedule = LrSchedule::Constant;
  int64_t warmup = 0;
  uint64_t seed = 0;              // data order, LoRA init, dropout: a run is a function of its seed
  double time_budget = 0;         // seconds; 0: none
  size_t mem_budget = 0;          // bytes; 0: none
  std::string out_dir;            // loss.csv and checkpoint.safetensors go here; empty: nothing written
  int64_t save_every = 0;         // optimizer steps between checkpoints; 0: only at the end
  double save_seconds = 0;        // seconds of training between checkpoints (with save_every: whichever first); 0: off
};

// What --mem-budget chose: rows per forward, checkpointing, and the estimate behind it.
struct MemPlan {
  int64_t micro_batch = 1;
  bool checkpointing = false;
  size_t fixed_bytes = 0;       // weights held in memory + trainable params, gradients, optimizer state
  size_t activation_bytes = 0;  // LlamaGrad::activation_bytes(micro_batch, T)
  size_t total() const { return fixed_bytes + activation_bytes + activation_bytes / 8 + (1u << 20); }
};
// Without a budget: the asked batch and checkpointing. With one: halves the micro-batch down to 1,
// then turns checkpointing on, until the estimate fits; throws BudgetError with the smallest estimate
// when nothing does. Call before LlamaGrad exists (it counts the f32 copies full fine-tuning makes).
MemPlan plan_memory(const LlamaModel& m, const TrainConfig& c);

struct StepLog {
  int64_t step = 0;        // 1-based, after the update
  double loss = 0;         // mean over the step's scored targets
  float lr = 0;
  double grad_norm = 0;    // before clipping
  int64_t tokens = 0;      // input tokens of the step
  double tokens_per_s = 0;
  double elapsed_s = 0;    // this process's training time so far
  double eta_s = 0;        // steps left at the mean step time, capped by the time budget left
  double progress = 0;     // fraction done, 0..1: of the steps, or of the time budget when it ends first
  size_t peak_bytes = 0;   // default_arena().peak()
};

enum class StopReason { Done, TimeBudget, Signal };

// Where forward_backward runs instead of LlamaGrad on the CPU (train/device.h: --device vulkan). By default it
// accumulates into the same params' .grad arrays, and re-reads the params after each optimizer step. A resident
// device keeps the params, their gradients and the optimizer's state itself (full training on a GPU): the trainer
// then zeroes, measures and steps through it, and moves values to the host params and optimizer only for a
// checkpoint (to_host) or from them after a resume (from_host). The checkpoint format is the CPU's either way.
struct GradDevice {
  virtual ~GradDevice() = default;
  virtual LossSum forward_backward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T,
                                   float loss_scale) = 0;
  virtual void params_updated() = 0;
  virtual bool resident() const { return false; }
  virtual void zero_grads() {}
  virtual double grad_sumsq() { return 0; }  // Σ g² over every gradient
  virtual void step(Optimizer& opt, float lr, float grad_scale) {}
  virtual void to_host(Optimizer& opt) {}
  virtual void from_host(const Optimizer& opt) {}
};

class Trainer {
 public:
  // Plans memory (throws BudgetError up front), sets the arena budget, attaches LoRA or makes the
  // weights trainable, builds the optimizer.
  Trainer(LlamaModel& m, RowSource& data, TrainConfig c);

  // Restores params, optimizer state and the step from a checkpoint written by save_checkpoint;
  // throws FormatError naming the file and field when it does not match this run.
  void resume(const std::string& path);
  // The same on a checkpoint already parsed (the fuzz target's entry point); errors name f.path().
  void resume(const SafetensorsFile& f);
  // Runs steps until total_steps(), the time budget, or *stop becoming true (checked between steps).
  // Writes a checkpoint at the end (and every save_every steps or save_seconds) when out_dir is set.
  StopReason run(const std::atomic<bool>* stop = nullptr);
  // One optimizer step; returns its log.
  StepLog train_step();
  // A resident device's params and optimizer state copied to the host model and optimizer (before evaluating
  // the host model mid-run; checkpoints do it themselves). Nothing without one.
  void sync_to_host() {
    if (device && device->resident()) device->to_host(*opt_);
  }
  // params, optimizer state, and metadata JSON (step, seed, data position, config), atomically.
  void save_checkpoint(const std::string& path) const;
  std::string checkpoint_path() const { return cfg_.out_dir + "/checkpoint.safetensors"; }

  int64_t step() const { return step_; }
  int64_t total_steps() const { return total_steps_; }
  // Whether only the time budget ends the run (no steps, no epochs): total_steps() is then unbounded.
  bool time_bound() const { return cfg_.steps == 0 && cfg_.epochs <= 0 && cfg_.time_budget > 0; }
  int64_t rows_per_step() const { return cfg_.batch * cfg_.grad_accum; }
  const MemPlan& plan() const { return plan_; }
  const TrainConfig& config() const { return cfg_; }
  LlamaGrad& grad() { return *grad_; }
  const std::vector<StepLog>& history() const { return history_; }
  std::function<void(const StepLog&)> on_step;  // progress display
  std::shared_ptr<GradDevice> device;            // null: LlamaGrad on the CPU
  Optimizer& optimizer() { return *opt_; }
  // Optional: the data source's position, saved as "data_state" in every checkpoint's metadata (a
  // streaming source restores it on resume; see checkpoint_metadata).
  std::function<std::string()> data_state;

 private:
  LlamaModel& m_;
  RowSource& data_;
  TrainConfig cfg_;
  MemPlan plan_;
  std::unique_ptr<LlamaGrad> grad_;
  std::unique_ptr<Optimizer> opt_;
  int64_t step_ = 0, total_steps_ = 0;
  double elapsed_ = 0;
  std::vector<StepLog> history_;
  double saved_at_ = 0;  // elapsed_ at the last checkpoint of this process

  // With a device, the next step's rows are read on a thread while the device runs this step (a streaming
  // source's generation and tokenization would otherwise leave the GPU idle). The source then stands past
  // them, so a checkpoint saves ahead_state_: the position before the rows read ahead.
  struct Rows {
    std::vector<int32_t> ids, targets;
  };
  Rows read_rows(int64_t step);
  std::future<Rows> ahead_;
  std::string ahead_state_;
};

// The metadata JSON of a checkpoint ("edgellm.checkpoint" in its safetensors header).
std::string checkpoint_metadata(const std::string& path);
std::string checkpoint_metadata(const SafetensorsFile& f);

}  // namespace edgellm
