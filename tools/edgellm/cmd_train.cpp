// Training verbs: finetune (LoRA or full, with budgets, checkpoints and resume), grad (loss and every
// gradient under HF names) and merge (LoRA into the base, written as GGUF). Parsing and printing only.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>

#include "models/block.h"
#include "models/runner.h"
#include "rag/prompt.h"
#include "models/save_gguf.h"
#include "runtime/arena.h"
#include "runtime/error.h"
#include "runtime/file_lock.h"
#include "runtime/parallel.h"
#include "runtime/safetensors.h"
#include "tools/edgellm/commands.h"
#include "train/heldout.h"
#include "train/lora_io.h"
#include "train/peft_modules.h"
#include "train/trainer.h"

namespace edgellm::cli {
namespace {

std::vector<int32_t> parse_id_list(const std::string& text) {
  std::vector<int32_t> ids;
  std::string s = text;
  for (char& ch : s)
    if (ch == ',') ch = ' ';
  std::istringstream in(s);
  std::string tok;
  while (in >> tok) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != tok.size() || v < 0 || v > INT32_MAX) fail("--ids: '{}' is not a token id", tok);
    ids.push_back(static_cast<int32_t>(v));
  }
  if (ids.size() < 2) fail("--ids: at least two token ids are needed (a target follows each input)");
  return ids;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s + ",") {
    if (ch == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (ch != ' ') {
      cur.push_back(ch);
    }
  }
  return out;
}

std::string hms(double s) {
  const long t = static_cast<long>(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60) : fmt::format("{}:{:02}", t / 60, t % 60);
}

std::string mib(size_t b) { return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1 << 20)); }

struct FinetuneArgs {
  std::string model, data, eval, method = "lora", out, resume, targets, schedule = "constant",
                             optimizer = "adamw", mem_budget, device = "cpu", chat_template;
  int rank = 8;
  float alpha = 16, dropout = 0;
  double lr = 1e-4, min_lr = 0, weight_decay = 0, clip = 1.0, epochs = 1, time_budget = 0;
  int64_t steps = 0, batch = 1, grad_accum = 1, seq_len = 256, warmup = 0, save_every = 0, eval_every = 0;
  double save_seconds = 0;
  uint64_t seed = 0;
  bool checkpointing = false, quiet = false;
};

void run_finetune(const FinetuneArgs& a) {
  set_num_threads(global_options().threads);
  const std::string budget_text = !a.mem_budget.empty() ? a.mem_budget : global_options().mem_budget;
  // The budget bounds the model and the training data too, not only the trainer: set it before either is read.
  if (!budget_text.empty()) default_arena().set_budget(parse_bytes(budget_text));
  start_profile();
  const OutputLock lock(a.out, OutputLock::Wait::Fail);
  Model m = load_model(a.model);
  if (a.method == "full" && dtype_info(m.llama.weights.layers.empty() ? m.llama.weights.output.dtype()
                                                                       : m.llama.weights.layers[0].w_up.dtype())
                                .quantized)
    std::fprintf(stderr,
                 "finetune: %s is quantized: full fine-tuning dequantizes every weight to f32 (4 bytes per "
                 "parameter) and writes model.gguf in f32; --method lora keeps the base quantized\n",
                 a.model.c_str());
  const std::string warn = context_warning(m.llama.config, a.seq_len, fmt::format("finetune --seq-len {}", a.seq_len));
  if (!warn.empty()) std::fprintf(stderr, "%s\n", warn.c_str());
  // Chat records ("messages") are rendered by the model's template, or --chat-template's.
  std::optional<ChatTemplate> chat = a.chat_template.empty() ? rag::model_chat_template(a.model)
                                                             : chat_template_from_name(a.chat_template);
  if (!a.chat_template.empty() && !chat)
    fail("finetune --chat-template: unknown template '{}' (llama2, llama3, chatml, mistral, zephyr)", a.chat_template);
  const ChatTemplate* tmpl = chat ? &*chat : nullptr;
  std::vector<Example> ex = load_examples(a.data, *m.tokenizer, tmpl);
  if (const DroppedExamples d = drop_untrainable(ex, a.seq_len, a.data); d.count > 0)
    std::fprintf(stderr, "finetune: skipped %lld example(s) whose prompt is longer than --seq-len %lld or that score "
                 "nothing (first: %s line %lld)\n", static_cast<long long>(d.count), static_cast<long long>(a.seq_len),
                 a.data.c_str(), static_cast<long long>(d.first_line));
  const std::vector<Example> held_out = a.eval.empty() ? std::vector<Example>{} : load_examples(a.eval, *m.tokenizer, tmpl);
  PackedData data(std::move(ex), a.seq_len, a.seed);
  TrainConfig c;
  c.setup.lora = a.method == "lora";
  if (a.method != "lora" && a.method != "full") fail("--method must be lora or full, got '{}'", a.method);
  c.setup.checkpointing = a.checkpointing;
  c.setup.lora_config.rank = a.rank;
  c.setup.lora_config.alpha = a.alpha;
  c.setup.lora_config.dropout = a.dropout;
  c.setup.lora_config.targets = a.targets.empty() ? default_peft_targets(m.llama.config) : split_commas(a.targets);
  c.seq_len = a.seq_len;
  c.batch = a.batch;
  c.grad_accum = a.grad_accum;
  c.steps = a.steps;
  c.epochs = a.epochs;
  c.optimizer = a.optimizer;
  c.lr = a.lr;
  c.min_lr = a.min_lr;
  c.weight_decay = a.weight_decay;
  c.clip = a.clip;
  c.schedule = lr_schedule_from_name(a.schedule);
  c.warmup = a.warmup;
  c.seed = a.seed;
  c.time_budget = a.time_budget;
  c.mem_budget = budget_text.empty() ? 0 : parse_bytes(budget_text);
  c.out_dir = a.out;
  c.save_every = a.save_every;
  c.save_seconds = a.save_seconds;
  Trainer tr(m.llama, data, c);
  if (!a.resume.empty()) tr.resume(a.resume);
  apply_train_device(tr, m.llama, a.device);
  const MemPlan& p = tr.plan();
  std::fprintf(stderr,
               "finetune: %s on %s, %lld tokens, %lld rows of %lld per epoch, %s steps of %lld rows "
               "(micro-batch %lld%s), estimate %s%s\n",
               a.method.c_str(), a.model.c_str(), static_cast<long long>(data.tokens()),
               static_cast<long long>(data.rows_per_epoch()), static_cast<long long>(a.seq_len),
               tr.time_bound() ? fmt::format("{:g} s of", a.time_budget).c_str()
                               : std::to_string(tr.total_steps()).c_str(),
               static_cast<long long>(tr.rows_per_step()),
               static_cast<long long>(p.micro_batch), p.checkpointing ? ", checkpointing" : "", mib(p.total()).c_str(),
               c.mem_budget ? (" of budget " + mib(c.mem_budget)).c_str() : "");
  // --eval FILE: held-out loss/perplexity (and Q/A recall) before training, every --eval-every steps and at
  // the end, one line each, so forgetting shows while it happens.
  auto report_eval = [&](const char* when) {
    if (held_out.empty()) return;
    tr.sync_to_host();  // a resident device's weights, for the host model's evaluation
    const HeldOutResult r = evaluate_heldout(m.llama, held_out);
    std::string qa = r.qa ? fmt::format(", recall {}/{} ({:.1f}%)", r.qa_correct, r.qa, 100.0 * r.recall()) : "";
    std::fprintf(stderr, "%seval %s: held-out loss %.4f ppl %.3f on %lld tokens%s%s\n", a.quiet ? "" : "\r",
                 when, r.loss, r.ppl, static_cast<long long>(r.tokens), qa.c_str(),
                 r.truncated ? fmt::format(" ({} examples cut to the context)", r.truncated).c_str() : "");
    std::fflush(stderr);
  };
  report_eval("before training");
  double shown_at = -1;  // the progress line at most 10 times a second (a tiny model runs thousands of steps)
  tr.on_step = [&](const StepLog& s) {
    if (!a.quiet && (s.elapsed_s - shown_at >= 0.1 || s.step == tr.total_steps())) {
      shown_at = s.elapsed_s;
      const int width = 20;
      const int fill = static_cast<int>(width * std::clamp(s.progress, 0.0, 1.0));
      const std::string of = tr.time_bound() ? "" : fmt::format("/{}", tr.total_steps());
      std::fprintf(stderr, "\r[%s%s] step %lld%s loss %.4f lr %.2e %.0f tok/s ETA %s mem %s   ",
                   std::string(static_cast<size_t>(fill), '#').c_str(),
                   std::string(static_cast<size_t>(width - fill), ' ').c_str(), static_cast<long long>(s.step),
                   of.c_str(), s.loss, s.lr, s.tokens_per_s, hms(s.eta_s).c_str(), mib(s.peak_bytes).c_str());
      std::fflush(stderr);
    }
    if (a.eval_every > 0 && s.step % a.eval_every == 0) {
      if (!a.quiet) std::fprintf(stderr, "\n");
      report_eval(fmt::format("step {}", s.step).c_str());
    }
  };
  install_stop_handlers();
  const StopReason why = tr.run(stop_flag());
  tr.sync_to_host();  // the weights written below are the host model's
  std::fprintf(stderr, "\n");
  if (a.eval_every == 0 || tr.step() % a.eval_every != 0) report_eval(fmt::format("end (step {})", tr.step()).c_str());
  if (c.setup.lora) {
    save_peft_adapter(m.llama, tr.config().setup.lora_config, a.model, a.out + "/adapter");
    save_lora_gguf(m.llama, a.alpha, a.out + "/adapter.gguf");
  } else {
    save_llama_gguf(m, a.out + "/model.gguf");
  }
  const char* reason = why == StopReason::Done ? "done" : why == StopReason::TimeBudget ? "time budget reached" : "stopped by signal";
  const std::string total = tr.time_bound() ? "" : fmt::format("/{}", tr.total_steps());
  std::printf("%s after step %lld%s; loss %.4f; peak memory %s; wrote %s/%s, loss.csv, checkpoint.safetensors\n", reason,
              static_cast<long long>(tr.step()), total.c_str(), tr.history().empty() ? 0.0 : tr.history().back().loss, mib(default_arena().peak()).c_str(), a.out.c_str(),
              c.setup.lora ? "adapter/ adapter.gguf" : "model.gguf");
}

}  // namespace

void add_train_commands(CLI::App& app) {
  {
    auto* cmd = app.add_subcommand("finetune", "Fine-tune a model (LoRA or full) on JSONL or text data");
    static FinetuneArgs a;
    cmd->add_option("-m,--model", a.model, "Model (.gguf, HF directory or builtin:<preset>)")->required();
    cmd->add_option("--data", a.data, "JSONL records ({\"text\"}, {\"prompt\",\"response\"} or {\"messages\"}; README: "
                                      "Data format) or a text file")->required();
    cmd->add_option("--chat-template", a.chat_template,
                    "Template for {\"messages\"} records instead of the model's: llama2, llama3, chatml, mistral, zephyr");
    cmd->add_option("--eval", a.eval, "Held-out data (same formats): loss, perplexity and Q/A recall before, during, after");
    cmd->add_option("--eval-every", a.eval_every, "Evaluate --eval every N steps (0: before and after only)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("-o,--output,--out", a.out, "Output directory (adapter or model.gguf, loss.csv, checkpoint)")->required();
    cmd->add_option("--method", a.method, "lora or full")->capture_default_str();
    cmd->add_option("--rank", a.rank, "LoRA rank")->capture_default_str();
    cmd->add_option("--alpha", a.alpha, "LoRA alpha (scale = alpha / rank)")->capture_default_str();
    cmd->add_option("--dropout", a.dropout, "LoRA dropout")->capture_default_str();
    cmd->add_option("--targets", a.targets,
                    "LoRA target modules by PEFT's names for the family, comma-separated (default: attention's query "
                    "and value: q_proj,v_proj; qkv_proj for Phi-3; c_attn for GPT-2)");
    cmd->add_option("--lr", a.lr, "Learning rate")->capture_default_str();
    cmd->add_option("--min-lr", a.min_lr, "Final learning rate of linear/cosine schedules")->capture_default_str();
    cmd->add_option("--weight-decay", a.weight_decay, "Weight decay")->capture_default_str();
    cmd->add_option("--clip", a.clip, "Clip gradients to this global norm (0: off)")->capture_default_str();
    cmd->add_option("--optimizer", a.optimizer, "adamw or sgd")->capture_default_str();
    cmd->add_option("--epochs", a.epochs, "Epochs (when --steps is 0; with --time-budget alone: until the budget)")
        ->capture_default_str();
    cmd->add_option("--steps", a.steps, "Optimizer steps (0: from --epochs)")->capture_default_str();
    cmd->add_option("--batch", a.batch, "Rows per micro-batch")->capture_default_str();
    cmd->add_option("--grad-accum", a.grad_accum, "Micro-batches per optimizer step")->capture_default_str();
    cmd->add_option("--seq-len", a.seq_len, "Tokens per row")->capture_default_str();
    cmd->add_option("--schedule", a.schedule, "constant, linear or cosine")->capture_default_str();
    cmd->add_option("--warmup", a.warmup, "Linear warm-up steps")->capture_default_str();
    cmd->add_option("--seed", a.seed, "Seed of data order, LoRA init and dropout")->capture_default_str();
    cmd->add_flag("--checkpointing", a.checkpointing, "Recompute each block in backward (less memory)");
    cmd->add_option("--time-budget", a.time_budget,
                    "Stop (and save) before this many seconds of training; without --steps/--epochs the run lasts "
                    "the budget");
    cmd->add_option("--mem-budget", a.mem_budget, "Memory budget, e.g. 512M: picks micro-batch/checkpointing or refuses");
    cmd->add_option("--resume", a.resume, "Continue from a checkpoint.safetensors");
    add_device_option(cmd, a.device);  // LoRA only: gradients on the GPU, optimizer on the CPU
    cmd->add_option("--save-every", a.save_every, "Write a checkpoint every N steps (0: at the end)");
    cmd->add_option("--save-every-seconds", a.save_seconds,
                    "Write a checkpoint every S seconds of training (0: off; with --save-every, whichever comes first)");
    cmd->add_flag("-q,--quiet", a.quiet, "No progress line");
    cmd->callback([cmd] {
      if (a.time_budget > 0 && cmd->count("--steps") == 0 && cmd->count("--epochs") == 0) a.epochs = 0;
      run_finetune(a);
    });
  }
  {
    auto* cmd = app.add_subcommand("grad", "Write the loss and every parameter's gradient (HF names) as safetensors");
    static std::string model, ids_text, out;
    cmd->add_option("-m,--model", model, "Model (.gguf, HF directory or builtin:<preset>)")->required();
    cmd->add_option("--ids", ids_text, "Token ids, space- or comma-separated")->required();
    cmd->add_option("-o,--output,--out", out, "Output .safetensors")->required();
    cmd->callback([] {
      apply_global_options();
      Model m = load_model(model);
      const std::vector<int32_t> ids = parse_id_list(ids_text);
      std::vector<int32_t> tgt(ids.begin() + 1, ids.end());
      tgt.push_back(-1);
      const int64_t T = static_cast<int64_t>(ids.size());
      LlamaGrad g(m.llama, GradSetup{});
      const LossSum ls = g.forward_backward(ids.data(), tgt.data(), 1, T, 1.0f / static_cast<float>(T - 1));
      SafetensorsWriter w;
      Tensor loss = Tensor::empty({1});
      loss.data<float>()[0] = static_cast<float>(ls.mean());
      w.add("loss", loss);
      const auto grads = hf_ordered_grads(g);
      for (const auto& [name, t] : grads) w.add(name, t);
      w.write(out);
      std::printf("loss %.6f; %zu gradients written to %s\n", ls.mean(), grads.size(), out.c_str());
    });
  }
  {
    auto* cmd = app.add_subcommand("merge", "Merge a LoRA adapter (PEFT directory or LoRA .gguf) into the base; write GGUF");
    static std::string model, lora, out, type;
    cmd->add_option("-m,--model", model, "Base model (.gguf, HF directory or builtin:<preset>)")->required();
    cmd->add_option("--type", type,
                    "Write in this type or llama-quantize mix (f32, f16, q4_0, Q4_K_M, ...; round-to-nearest) instead "
                    "of keeping each weight's type (quantized merged weights become f32)");
    cmd->add_option("--lora", lora, "PEFT adapter directory or llama.cpp LoRA .gguf")->required();
    cmd->add_option("-o,--output,--out", out, "Output .gguf")->required();
    cmd->callback([] {
      apply_global_options();
      Model m = load_model(model);
      const LoraConfig c = load_lora(m.llama, lora);
      merge_lora(m.llama);
      if (!type.empty()) {
        save_llama_gguf_as(m, out, type, false);
      } else {
        save_llama_gguf(m, out);
      }
      std::printf("merged rank-%d adapter (%zu target modules) into %s; wrote %s\n", c.rank, c.targets.size(),
                  model.c_str(), out.c_str());
    });
  }
}

}  // namespace edgellm::cli
