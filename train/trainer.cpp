// The fine-tuning loop, its memory plan and its checkpoints.
// Not a scheduler of devices or processes: one model, one thread pool, one loop.
#include "train/trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <fstream>
#include <initializer_list>
#include <string_view>
#include <utility>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "models/block.h"
#include "runtime/arena.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/parse_meter.h"
#include "runtime/path_query.h"
#include "runtime/safetensors.h"
#include "train/peft_modules.h"
#include "runtime/sha256.h"

namespace edgellm {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The index of the first NaN or infinity in x[0..n), or -1.
int64_t first_non_finite(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return i;
  return -1;
}

// A checkpoint's checksum: SHA-256 over "name sha256(bytes)\n" of every tensor, by name. Per tensor, because
// sha256_hex takes one buffer; by name, because the file's order is the writer's to choose.
std::string checkpoint_checksum(std::vector<std::pair<std::string, std::string_view>> tensors) {
  std::sort(tensors.begin(), tensors.end());
  std::vector<std::string> digests(tensors.size());  // per tensor, on the thread pool: ~250 MB/s a thread
  parallel_for(static_cast<int64_t>(tensors.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) digests[static_cast<size_t>(i)] = sha256_hex(tensors[static_cast<size_t>(i)].second);
  });
  std::string lines;
  for (size_t i = 0; i < tensors.size(); ++i) lines += tensors[i].first + " " + digests[i] + "\n";
  return sha256_hex(lines);
}

std::string_view bytes_of(const Tensor& t) { return {reinterpret_cast<const char*>(t.raw()), t.nbytes()}; }

// Steps past this are refused: a counter must fit the checkpoint's [0, 2^40] and a double's exact integers.
constexpr double kMaxSteps = static_cast<double>(int64_t{1} << 40);

// Bytes of f32 trainable parameters (and the copies full fine-tuning makes of non-f32 or mapped weights).
void count_params(const LlamaModel& m, const GradSetup& s, int64_t& n_trainable, size_t& copies) {
  n_trainable = 0;
  copies = 0;
  const LlamaConfig& c = m.config;
  if (s.lora) {
    // One pair per targeted PEFT module: A (r, in), B (the module's rows, r).
    for (const auto& t : s.lora_config.targets) check_peft_target(c, t);
    for (const PeftModule& pm : peft_modules(c)) {
      if (std::find(s.lora_config.targets.begin(), s.lora_config.targets.end(), pm.name) == s.lora_config.targets.end())
        continue;
      const int64_t in = m.weights.layers.empty() ? 0 : m.weights.layers[0].weight(pm.kinds[0]).shape().cols();
      n_trainable += c.n_layers * s.lora_config.rank * (in + peft_rows_of(c, pm, pm.kinds.back()).second);
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
  // Every family's options have their backward on the CPU (models/block.h); a device without them refuses them
  // itself (check_block_backward), by field.
  EDGE_CHECK(cfg_.batch > 0 && cfg_.grad_accum > 0, "batch and grad-accum must be positive");
  // NaN or infinity here would train every weight into NaN and still exit 0 (issue 24): refused up front.
  for (const auto& [name, v] : std::initializer_list<std::pair<const char*, double>>{{"lr", cfg_.lr}, {"min-lr", cfg_.min_lr},
                                {"weight-decay", cfg_.weight_decay}, {"momentum", cfg_.momentum}, {"clip", cfg_.clip},
                                {"epochs", cfg_.epochs}, {"time-budget", cfg_.time_budget},
                                {"save-every-seconds", cfg_.save_seconds},
                                {"lora alpha", cfg_.setup.lora_config.alpha}, {"lora dropout", cfg_.setup.lora_config.dropout}})
    if (!std::isfinite(v) || v < 0) fail("--{}: {} is not a finite number >= 0", name, v);
  if (cfg_.warmup < 0 || cfg_.save_every < 0)
    fail("--warmup {} and --save-every {} must be >= 0", cfg_.warmup, cfg_.save_every);
  if (cfg_.seq_len > m_.config.max_ctx)
    fail("--seq-len {} is longer than the model's context length {}: positions past it were never trained",
         cfg_.seq_len, m_.config.max_ctx);
  if (cfg_.steps < 0 || static_cast<double>(cfg_.steps) > kMaxSteps) fail("--steps: {} is outside [0, 2^40]", cfg_.steps);
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
    // In double, checked before the conversion: --epochs 1e30 overflowed int64 into 1 step.
    const double from_epochs =
        std::ceil(cfg_.epochs * static_cast<double>(data_.rows_per_epoch()) / static_cast<double>(rows_per_step()));
    if (cfg_.steps == 0 && !(from_epochs <= kMaxSteps))
      fail("--epochs: {} epochs of {} rows at {} rows per step is {:.3g} steps, more than 2^40", cfg_.epochs,
           data_.rows_per_epoch(), rows_per_step(), from_epochs);
    total_steps_ = cfg_.steps > 0 ? cfg_.steps : std::max<int64_t>(1, static_cast<int64_t>(from_epochs));
  }
}

Trainer::Rows Trainer::read_rows(int64_t step) {
  const int64_t T = cfg_.seq_len, rows = rows_per_step();
  Rows r;
  r.ids.resize(static_cast<size_t>(rows * T));
  r.targets.resize(r.ids.size());
  for (int64_t i = 0; i < rows; ++i) data_.row(step * rows + i, r.ids.data() + i * T, r.targets.data() + i * T);
  return r;
}

StepLog Trainer::train_step() {
  const auto t0 = Clock::now();
  const int64_t T = cfg_.seq_len, rows = rows_per_step(), mb = plan_.micro_batch;
  // The step's rows, all gathered first: the loss scale is 1 / (scored targets of the whole step).
  Rows now = ahead_.valid() ? ahead_.get() : read_rows(step_);
  std::vector<int32_t>& ids = now.ids;
  std::vector<int32_t>& tgt = now.targets;
  if (device && step_ + 1 < total_steps_) {
    ahead_state_ = data_state ? data_state() : std::string();
    ahead_ = std::async(std::launch::async, [this, next = step_ + 1] { return read_rows(next); });
  }
  int64_t scored = 0;
  for (int32_t t : tgt) scored += t >= 0;
  std::vector<Param>& params = grad_->params();
  const bool resident = device && device->resident();
  if (resident) device->zero_grads();
  else zero_grads(params);
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
  // Clipping is folded into the optimizer's pass: the norm here, the coefficient scales g as it is read. The
  // norm is taken without clipping too: a NaN gradient must stop the run before the update spreads it.
  const double norm = resident ? std::sqrt(device->grad_sumsq()) : grad_global_norm(params);
  log.grad_norm = cfg_.clip > 0 ? norm : 0.0;
  if (!std::isfinite(total.mean()) || !std::isfinite(norm))
    fail("step {}: the loss is {} and the gradient norm {}; stopped before the update (the weights and the last "
         "checkpoint are those of step {})", step_ + 1, total.mean(), norm, step_);
  const float grad_scale = cfg_.clip > 0 ? clip_coefficient(log.grad_norm, cfg_.clip) : 1.0f;
  log.lr = lr_at(cfg_.schedule, static_cast<float>(cfg_.lr), static_cast<float>(cfg_.min_lr), step_, cfg_.warmup,
                 total_steps_);
  if (scored && resident) device->step(*opt_, log.lr, grad_scale);
  else if (scored) opt_->step(params, log.lr, grad_scale);
  if (scored && device && !resident) device->params_updated();
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
    const bool due = (cfg_.save_every > 0 && step_ % cfg_.save_every == 0) ||
                     (cfg_.save_seconds > 0 && elapsed_ - saved_at_ >= cfg_.save_seconds);
    if (due && step_ < total_steps_ && !cfg_.out_dir.empty()) {
      save_checkpoint(checkpoint_path());
      saved_at_ = elapsed_;
    }
  }
  if (!cfg_.out_dir.empty()) save_checkpoint(checkpoint_path());
  return why;
}

void Trainer::save_checkpoint(const std::string& path) const {
  if (device && device->resident()) device->to_host(*opt_);  // the only time a resident device's values come back
  SafetensorsWriter w;
  const auto& params = grad_->params();
  std::vector<std::pair<std::string, std::string_view>> hashed;
  for (size_t i = 0; i < params.size(); ++i) {
    // An update can overflow to infinity with a finite loss; such weights never replace the last good checkpoint.
    if (const int64_t at = first_non_finite(params[i].value, params[i].n); at >= 0)
      fail("{}: step {}: parameter {}[{}] is {}; the checkpoint was not written", path, step_, params[i].name, at,
           params[i].value[at]);
    const Tensor t = Tensor::external(params[i].value, grad_->grad_tensors()[i].shape(), DType::F32);
    w.add("param." + params[i].name, t);
    hashed.emplace_back("param." + params[i].name, bytes_of(t));
  }
  const auto state = opt_->state();
  for (const auto& [name, t] : state) {
    w.add("opt." + name, t);
    hashed.emplace_back("opt." + name, bytes_of(t));
  }
  const LoraConfig& lc = cfg_.setup.lora_config;
  nlohmann::json j = {
      {"format", 2},  // 2: with "sha256"
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
  if (data_state) j["data_state"] = ahead_.valid() ? ahead_state_ : data_state();
  j["sha256"] = checkpoint_checksum(std::move(hashed));
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
  if (ahead_.valid()) ahead_ = {};  // rows read ahead for a step this checkpoint replaces (the caller repositions the data)
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
      fail_format(path, field + "." + key, "the checkpoint has {} but this run has {}", json_brief(j[key]), json_brief(want));
  };
  // Step counters: JSON integers in [0, 2^40] (a float or a huge value would not round-trip to int64).
  auto count = [&](const char* key) -> int64_t {
    const nlohmann::json& v = at(key);
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > (uint64_t{1} << 40)) ||
        v.get<int64_t>() < 0 || v.get<int64_t>() > (int64_t{1} << 40))
      fail_format(path, field + "." + key, "expected an integer in [0, 2^40], got {}", json_brief(v));
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
      fail_format(path, field + ".elapsed_s", "expected a finite number of seconds >= 0, got {}", json_brief(j["elapsed_s"]));
    elapsed = j["elapsed_s"].get<double>();
  }
  // Format 2 carries a checksum of every tensor's bytes: a checkpoint changed after it was written is refused.
  // Format 1 (before the checksum) is still read; the finite checks below hold for both.
  const int64_t format = j.contains("format") && j["format"].is_number_integer() ? j["format"].get<int64_t>() : 1;
  if (format != 1 && format != 2) fail_format(path, field + ".format", "{} is not a checkpoint format edgellm reads (1, 2)", json_brief(j["format"]));
  if (format >= 2) {
    const nlohmann::json& want = at("sha256");
    std::vector<std::pair<std::string, std::string_view>> hashed;
    std::vector<Tensor> keep;  // the views below point into these
    for (const auto& info : f.tensors()) {
      keep.push_back(f.tensor(info));
      hashed.emplace_back(info.name, bytes_of(keep.back()));
    }
    if (!want.is_string() || want.get<std::string>() != checkpoint_checksum(std::move(hashed)))
      fail_format(path, field + ".sha256", "the tensors do not match the checkpoint's checksum (changed or damaged after it was written)");
  }
  for (Param& p : grad_->params()) {
    Tensor t = f.tensor("param." + p.name);
    if (t.numel() != p.n || t.dtype() != DType::F32)
      fail_format(path, "param." + p.name, "{} f32 values expected, found {} {}", p.n, t.numel(), dtype_name(t.dtype()));
    if (const int64_t i = first_non_finite(t.data<float>(), p.n); i >= 0)
      fail_format(path, "param." + p.name, "value {} is {}: a checkpoint with NaN or infinite weights is not resumed", i, t.data<float>()[i]);
    std::copy(t.data<float>(), t.data<float>() + p.n, p.value);
  }
  std::vector<std::pair<std::string, Tensor>> state;
  for (const auto& info : f.tensors())
    if (info.name.rfind("opt.", 0) == 0) {
      Tensor t = f.tensor(info);
      if (t.dtype() == DType::F32)
        if (const int64_t i = first_non_finite(t.data<float>(), t.numel()); i >= 0)
          fail_format(path, info.name, "value {} is {}: a checkpoint with NaN or infinite optimizer state is not resumed", i, t.data<float>()[i]);
      state.emplace_back(info.name.substr(4), std::move(t));
    }
  opt_->load_state(state, opt_steps);
  if (device && device->resident()) device->from_host(*opt_);
  step_ = step;
  elapsed_ = elapsed;
  if (cfg_.steps == 0) total_steps_ = std::max(total_steps_, total);
}

}  // namespace edgellm
