// The fine-tuning loop, its memory plan and its checkpoints.
// Not a scheduler of devices or processes: one model, one thread pool, one loop.
#include "train/trainer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <fstream>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "runtime/arena.h"
#include "runtime/error.h"
#include "runtime/parse_meter.h"
#include "runtime/path_query.h"
#include "runtime/safetensors.h"

namespace edgellm {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Bytes of f32 trainable parameters (and the copies full fine-tuning makes of non-f32 or mapped weights).
void count_params(const LlamaModel& m, const GradSetup& s, int64_t& n_trainable, size_t& copies) {
  n_trainable = 0;
  copies = 0;
  const LlamaConfig& c = m.config;
  if (s.lora) {
    std::array<bool, kNumLinearKinds> on{};
    for (const auto& t : s.lora_config.targets) on[static_cast<size_t>(linear_kind_from_peft(t))] = true;
    for (const auto& L : m.weights.layers)
      for (int kk = 0; kk < kNumLinearKinds; ++kk)
        if (on[static_cast<size_t>(kk)]) {
          const Tensor& W = L.weight(static_cast<LinearKind>(kk));
          n_trainable += s.lora_config.rank * (W.shape().rows() + W.shape().cols());
        }
    return;
  }
  auto add = [&](const Tensor& t) {
    if (!t.defined()) return;
    n_trainable += t.numel();
    if (t.dtype() != DType::F32 || !t.storage()->writable()) copies += static_cast<size_t>(t.numel()) * 4;
  };
  add(m.weights.tok_embd);
  add(m.weights.out_norm);
  if (!c.tied_embeddings) add(m.weights.output);
  for (const auto& L : m.weights.layers) {
    for (const Tensor* t : {&L.attn_norm, &L.ffn_norm, &L.bq, &L.bk, &L.bv}) add(*t);
    for (int kk = 0; kk < kNumLinearKinds; ++kk) add(L.weight(static_cast<LinearKind>(kk)));
  }
}

std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& c) {
  if (c.optimizer == "adamw") {
    AdamWConfig a;
    a.lr = c.lr;
    a.weight_decay = c.weight_decay;
    return std::make_unique<AdamW>(a);
  }
  if (c.optimizer == "sgd") {
    SgdConfig s;
    s.lr = static_cast<float>(c.lr);
    s.momentum = static_cast<float>(c.momentum);
    s.weight_decay = static_cast<float>(c.weight_decay);
    return std::make_unique<Sgd>(s);
  }
  fail("unknown optimizer '{}' (adamw or sgd)", c.optimizer);
}

}  // namespace

MemPlan plan_memory(const LlamaModel& m, const TrainConfig& c) {
  int64_t n = 0;
  size_t copies = 0;
  count_params(m, c.setup, n, copies);
  const size_t state_per_param = c.optimizer == "sgd" ? (c.momentum != 0 ? 4 : 0) : 8;
  MemPlan p;
  // What is charged now (weights the loader allocated) + copies + params' gradients + optimizer state
  // (+ the LoRA tensors themselves).
  p.fixed_bytes = default_arena().in_use() + copies + static_cast<size_t>(n) * (4 + state_per_param) +
                  (c.setup.lora ? static_cast<size_t>(n) * 4 : 0);
  auto with = [&](int64_t mb, bool ckpt) {
    GradSetup s = c.setup;
    s.checkpointing = ckpt;
    p.micro_batch = mb;
    p.checkpointing = ckpt;
    p.activation_bytes = LlamaGrad::activation_bytes(m.config, s, mb, c.seq_len);
    return c.mem_budget == 0 || p.total() <= c.mem_budget;
  };
  if (c.mem_budget == 0) {
    with(c.batch, c.setup.checkpointing);
    return p;
  }
  for (bool ckpt : {c.setup.checkpointing, true})
    for (int64_t mb = c.batch; mb >= 1; mb = mb == 1 ? 0 : (mb + 1) / 2)
      if (with(mb, ckpt)) return p;
  throw BudgetError(fmt::format(
      "training needs at least {} (weights and optimizer {} + activations {} for 1 row of {} tokens with "
      "checkpointing) but --mem-budget is {}",
      format_bytes(p.total()), format_bytes(p.fixed_bytes), format_bytes(p.activation_bytes), c.seq_len,
      format_bytes(c.mem_budget)));
}

Trainer::Trainer(LlamaModel& m, RowSource& data, TrainConfig c) : m_(m), data_(data), cfg_(std::move(c)) {
  EDGE_CHECK(cfg_.batch > 0 && cfg_.grad_accum > 0, "batch and grad-accum must be positive");
  EDGE_CHECK(data_.seq_len() == cfg_.seq_len, "the data is packed into rows of {} but seq-len is {}", data_.seq_len(),
             cfg_.seq_len);
  plan_ = plan_memory(m_, cfg_);
#if defined(__GLIBC__)
  // Every step allocates and frees the same activation buffers (MBs each). glibc would hand them back
  // to the kernel (mmap threshold, heap trimming) and fault in fresh zeroed pages next step: profiled
  // at ~10% of a step of a small model. Keep freed memory in the heap for reuse instead.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  if (cfg_.mem_budget) default_arena().set_budget(cfg_.mem_budget);
  GradSetup s = cfg_.setup;
  s.checkpointing = plan_.checkpointing;
  s.lora_config.seed = cfg_.seed;
  cfg_.setup = s;
  grad_ = std::make_unique<LlamaGrad>(m_, s);
  opt_ = make_optimizer(cfg_);
  opt_->init(grad_->params());
  if (time_bound()) {
    // The run's length is the budget's: a schedule that decays over a length cannot know it.
    EDGE_CHECK(cfg_.schedule == LrSchedule::Constant,
               "a run bounded only by its time budget needs the constant schedule (give steps or epochs for a "
               "linear or cosine one)");
    total_steps_ = std::numeric_limits<int64_t>::max();
  } else {
    total_steps_ = cfg_.steps > 0 ? cfg_.steps
                                  : std::max<int64_t>(1, static_cast<int64_t>(std::ceil(
                                                             cfg_.epochs * static_cast<double>(data_.rows_per_epoch()) /
                                                             static_cast<double>(rows_per_step()))));
  }
}

StepLog Trainer::train_step() {
  const auto t0 = Clock::now();
  const int64_t T = cfg_.seq_len, rows = rows_per_step(), mb = plan_.micro_batch;
  // The step's rows, all gathered first: the loss scale is 1 / (scored targets of the whole step).
  std::vector<int32_t> ids(static_cast<size_t>(rows * T)), tgt(ids.size());
  for (int64_t r = 0; r < rows; ++r)
    data_.row(step_ * rows + r, ids.data() + r * T, tgt.data() + r * T);
  int64_t scored = 0;
  for (int32_t t : tgt) scored += t >= 0;
  std::vector<Param>& params = grad_->params();
  zero_grads(params);
  grad_->set_dropout_step(static_cast<uint64_t>(step_));
  LossSum total;
  const float scale = scored ? 1.0f / static_cast<float>(scored) : 0.0f;
  for (int64_t r0 = 0; r0 < rows; r0 += mb) {
    const int64_t n = std::min(mb, rows - r0);
    const LossSum ls = device ? device->forward_backward(ids.data() + r0 * T, tgt.data() + r0 * T, n, T, scale)
                              : grad_->forward_backward(ids.data() + r0 * T, tgt.data() + r0 * T, n, T, scale);
    total.sum += ls.sum;
    total.count += ls.count;
  }
  StepLog log;
  // Clipping is folded into the optimizer's pass: the norm here, the coefficient scales g as it is read.
  log.grad_norm = cfg_.clip > 0 ? grad_global_norm(params) : 0.0;
  const float grad_scale = cfg_.clip > 0 ? clip_coefficient(log.grad_norm, cfg_.clip) : 1.0f;
  log.lr = lr_at(cfg_.schedule, static_cast<float>(cfg_.lr), static_cast<float>(cfg_.min_lr), step_, cfg_.warmup,
                 total_steps_);
  if (scored) opt_->step(params, log.lr, grad_scale);
  if (scored && device) device->params_updated();
  ++step_;
  const double dt = seconds_since(t0);
  elapsed_ += dt;
  log.step = step_;
  log.loss = total.mean();
  log.tokens = rows * T;
  log.tokens_per_s = static_cast<double>(log.tokens) / std::max(dt, 1e-9);
  log.elapsed_s = elapsed_;
  const int64_t done_here = static_cast<int64_t>(history_.size()) + 1;
  const double budget_left = cfg_.time_budget > 0 ? std::max(0.0, cfg_.time_budget - elapsed_) : 0.0;
  if (time_bound()) {
    log.eta_s = budget_left;
    log.progress = std::min(1.0, elapsed_ / cfg_.time_budget);
  } else {
    log.eta_s = elapsed_ / static_cast<double>(done_here) * static_cast<double>(total_steps_ - step_);
    log.progress = static_cast<double>(step_) / static_cast<double>(total_steps_);
    if (cfg_.time_budget > 0) {
      log.eta_s = std::min(log.eta_s, budget_left);
      log.progress = std::max(log.progress, std::min(1.0, elapsed_ / cfg_.time_budget));
    }
  }
  log.peak_bytes = default_arena().peak();
  history_.push_back(log);
  return log;
}

StopReason Trainer::run(const std::atomic<bool>* stop) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> csv(nullptr, &std::fclose);
  if (!cfg_.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cfg_.out_dir, ec);
    if (ec) fail("{}: cannot create the output directory: {}", cfg_.out_dir, ec.message());
    const std::string path = cfg_.out_dir + "/loss.csv";
    const bool fresh = step_ == 0 || !path_exists(path);
    csv.reset(std::fopen(path.c_str(), fresh ? "w" : "a"));
    if (!csv) fail("{}: cannot open the loss log for writing", path);
    if (fresh) std::fprintf(csv.get(), "step,loss,lr,grad_norm,tokens_per_s,elapsed_s,peak_bytes\n");
  }
  StopReason why = StopReason::Done;
  while (step_ < total_steps_) {
    if (stop && stop->load()) {
      why = StopReason::Signal;
      break;
    }
    // Stop before a step that would end past the budget (the mean step time so far predicts it).
    if (cfg_.time_budget > 0 && !history_.empty() &&
        elapsed_ + elapsed_ / static_cast<double>(history_.size()) > cfg_.time_budget) {
      why = StopReason::TimeBudget;
      break;
    }
    const StepLog log = train_step();
    if (csv) {
      std::fprintf(csv.get(), "%lld,%.6f,%.6g,%.6g,%.1f,%.3f,%zu\n", static_cast<long long>(log.step), log.loss, log.lr,
                   log.grad_norm, log.tokens_per_s, log.elapsed_s, log.peak_bytes);
      std::fflush(csv.get());
    }
    if (on_step) on_step(log);
    if (cfg_.save_every > 0 && step_ % cfg_.save_every == 0 && step_ < total_steps_ && !cfg_.out_dir.empty())
      save_checkpoint(checkpoint_path());
  }
  if (!cfg_.out_dir.empty()) save_checkpoint(checkpoint_path());
  return why;
}

void Trainer::save_checkpoint(const std::string& path) const {
  SafetensorsWriter w;
  const auto& params = grad_->params();
  for (size_t i = 0; i < params.size(); ++i)
    w.add("param." + params[i].name, Tensor::external(params[i].value, grad_->grad_tensors()[i].shape(), DType::F32));
  for (const auto& [name, t] : opt_->state()) w.add("opt." + name, t);
  const LoraConfig& lc = cfg_.setup.lora_config;
  nlohmann::json j = {
      {"format", 1},
      {"step", step_},
      {"optimizer_steps", opt_->steps()},
      {"total_steps", total_steps_},
      {"seed", cfg_.seed},
      {"data_rows_consumed", step_ * rows_per_step()},
      {"rows_per_step", rows_per_step()},
      {"rows_per_epoch", data_.rows_per_epoch()},
      {"seq_len", cfg_.seq_len},
      {"method", cfg_.setup.lora ? "lora" : "full"},
      {"lora", {{"rank", lc.rank}, {"alpha", lc.alpha}, {"dropout", lc.dropout}, {"targets", lc.targets}}},
      {"optimizer", cfg_.optimizer},
      {"lr", cfg_.lr},
      {"schedule", static_cast<int>(cfg_.schedule)},
      {"warmup", cfg_.warmup},
      {"elapsed_s", elapsed_},
      // The only randomness is keyed by (seed, step): data order by (seed, epoch), dropout by (seed, step).
      {"rng", {{"kind", "counter"}, {"seed", cfg_.seed}, {"step", step_}}},
  };
  if (data_state) j["data_state"] = data_state();
  w.set_metadata("edgellm.checkpoint", j.dump());
  w.write(path);
}

std::string checkpoint_metadata(const std::string& path) { return checkpoint_metadata(SafetensorsFile::open(path)); }

std::string checkpoint_metadata(const SafetensorsFile& f) {
  auto it = f.metadata().find("edgellm.checkpoint");
  if (it == f.metadata().end()) fail_format(f.path(), "__metadata__.edgellm.checkpoint", "not an edgellm checkpoint");
  return it->second;
}

void Trainer::resume(const std::string& path) { resume(SafetensorsFile::open(path)); }

void Trainer::resume(const SafetensorsFile& f) {
  const std::string& path = f.path();
  const std::string field = "__metadata__.edgellm.checkpoint";
  const nlohmann::json j = parse_json_metered(checkpoint_metadata(f), path, field);
  if (!j.is_object()) fail_format(path, field, "expected a JSON object, got {}", j.type_name());
  auto at = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key)) fail_format(path, field + "." + key, "missing");
    return j[key];
  };
  auto expect = [&](const char* key, const nlohmann::json& want) {
    if (at(key) != want)
      fail_format(path, field + "." + key, "the checkpoint has {} but this run has {}", j[key].dump(), want.dump());
  };
  // Step counters: JSON integers in [0, 2^40] (a float or a huge value would not round-trip to int64).
  auto count = [&](const char* key) -> int64_t {
    const nlohmann::json& v = at(key);
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > (uint64_t{1} << 40)) ||
        v.get<int64_t>() < 0 || v.get<int64_t>() > (int64_t{1} << 40))
      fail_format(path, field + "." + key, "expected an integer in [0, 2^40], got {}", v.dump());
    return v.get<int64_t>();
  };
  expect("method", cfg_.setup.lora ? "lora" : "full");
  expect("seq_len", cfg_.seq_len);
  expect("rows_per_step", rows_per_step());
  expect("seed", cfg_.seed);
  expect("optimizer", cfg_.optimizer);
  const int64_t step = count("step"), opt_steps = count("optimizer_steps"), total = count("total_steps");
  double elapsed = 0;
  if (j.contains("elapsed_s")) {
    if (!j["elapsed_s"].is_number() || !(j["elapsed_s"].get<double>() >= 0) || !std::isfinite(j["elapsed_s"].get<double>()))
      fail_format(path, field + ".elapsed_s", "expected a finite number of seconds >= 0, got {}", j["elapsed_s"].dump());
    elapsed = j["elapsed_s"].get<double>();
  }
  for (Param& p : grad_->params()) {
    Tensor t = f.tensor("param." + p.name);
    if (t.numel() != p.n || t.dtype() != DType::F32)
      fail_format(path, "param." + p.name, "{} f32 values expected, found {} {}", p.n, t.numel(), dtype_name(t.dtype()));
    std::copy(t.data<float>(), t.data<float>() + p.n, p.value);
  }
  std::vector<std::pair<std::string, Tensor>> state;
  for (const auto& info : f.tensors())
    if (info.name.rfind("opt.", 0) == 0) state.emplace_back(info.name.substr(4), f.tensor(info));
  opt_->load_state(state, opt_steps);
  step_ = step;
  elapsed_ = elapsed;
  if (cfg_.steps == 0) total_steps_ = std::max(total_steps_, total);
}

}  // namespace edgellm
