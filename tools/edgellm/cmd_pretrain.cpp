// `edgellm pretrain`: trains (or resumes, or evaluates) a study base with edgellm's own trainer.
// Parsing and printing only: the run is bench/study/pretrain_run.h, the evaluation reading_eval.h.
#include <fmt/format.h>

#include <cstdio>

#include "bench/study/pretrain_run.h"
#include "bench/study/reading_eval.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {
namespace {

// "10M", "2.5M", "500k", "123456" → tokens.
int64_t parse_count(const std::string& s) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  double mul = 1;
  const std::string rest = s.substr(used);
  if (rest == "k" || rest == "K") mul = 1e3;
  else if (rest == "M" || rest == "m") mul = 1e6;
  else if (rest == "G" || rest == "g") mul = 1e9;
  else if (!rest.empty() || used == 0) fail("--tokens: '{}' is not a count (e.g. 10M, 500k, 123456)", s);
  // NaN fails the first test; 1e30 would overflow the conversion to int64 (undefined, in practice negative).
  if (!(v > 0)) fail("--tokens must be positive, got '{}'", s);
  if (!(v * mul <= 1e15)) fail("--tokens: '{}' is more than 1e15 tokens", s);
  return static_cast<int64_t>(v * mul + 0.5);
}

}  // namespace

void add_pretrain_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("pretrain", "Pretrain a study base (Llama or Qwen3 block, BPE tokenizer) on the reading mix and general prose");
  static study::PretrainOptions o;
  static std::string tokens, model, export_prose_dir, prose_source = "debian";
  static int threads = 0;
  static bool eval_only = false;
  static int64_t distractors = 0;
  cmd->add_option("--size", o.size, "Model size: s (4 × 128, 1.05M), m (6 × 192, 2.95M) or l (10 × 384, 18.3M)")
      ->capture_default_str();
  cmd->add_option("--arch", o.arch, "Block: llama, or qwen3 (QK-norm per head, explicit head_dim)")->capture_default_str();
  cmd->add_option("--tokens", tokens, "Training tokens (rows × seq), e.g. 10M (default: --tokens-per-param × parameters)");
  cmd->add_option("--tokens-per-param", o.tokens_per_param, "Training tokens per parameter when --tokens is not given")
      ->capture_default_str();
  cmd->add_option("--prose-fraction", o.prose_fraction, "Share of the mix's examples that are general prose")
      ->capture_default_str();
  cmd->add_option("--prose-dir", o.prose_dir, "General prose carried from --export-prose (instead of the Debian packages)");
  cmd->add_option("--prose-root", o.prose_root, "Where the Debian prose packages are installed or unpacked")
      ->capture_default_str();
  cmd->add_option("--prose-source", prose_source,
                  "debian (the packages or --prose-dir), or fortunes (the committed s and m bases' general text)")
      ->check(CLI::IsMember({"debian", "fortunes"}))
      ->capture_default_str();
  cmd->add_option("--ppl-paragraphs", o.ppl_paragraphs, "Held-out prose paragraphs of the perplexity (0: all)")
      ->capture_default_str();
  cmd->add_option("--export-prose", export_prose_dir,
                  "No training: write the general prose (train shards, held-out, MANIFEST.json) to DIR for --prose-dir");
  cmd->add_option("-o,--output,--out", o.out_dir, "Output directory (checkpoint, logs, base-<size>.gguf, recipe.md)");
  cmd->add_option("--lr", o.lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr", o.min_lr, "Final learning rate of the cosine")->capture_default_str();
  cmd->add_option("--weight-decay", o.weight_decay, "AdamW weight decay")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Warm-up steps (-1: 2.5% of the run)")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Rows per optimizer step")->capture_default_str();
  cmd->add_option("--micro-batch", o.micro_batch, "Rows per forward/backward")->capture_default_str();
  cmd->add_option("--seq", o.seq_len, "Tokens per row")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the initialization")->capture_default_str();
  cmd->add_option("--mix-seed", o.mix.seed, "Seed of the benchmark population the mix draws from")->capture_default_str();
  cmd->add_option("--vocab", o.vocab, "Tokenizer vocabulary size")->capture_default_str();
  cmd->add_option("--save-every", o.save_every, "Steps between checkpoints (0: off)")->capture_default_str();
  cmd->add_option("--save-every-seconds", o.save_seconds,
                  "Seconds of training between checkpoints (0: off; with --save-every, whichever comes first)")
      ->capture_default_str();
  cmd->add_option("--eval-every", o.eval_every, "Steps between gold-context evaluations (0: at the end)")->capture_default_str();
  cmd->add_option("--eval-users", o.eval_users, "Held-out users of the evaluations during training")->capture_default_str();
  cmd->add_option("--final-eval-users", o.final_eval_users, "Held-out users of the final evaluation")->capture_default_str();
  cmd->add_option("--time-budget", o.time_budget, "Stop (checkpoint, GGUF, recipe) after this many seconds of training");
  cmd->add_flag("--checkpoint-only-on-stop", o.checkpoint_only_on_stop,
                "A sitting stopped by --time-budget or a signal leaves its checkpoint only (no evaluation, GGUF, recipe)");
  cmd->add_flag("--resume", o.resume, "Continue from DIR/checkpoint.safetensors (a fresh start when there is none)");
  cmd->add_flag("--export", o.export_only, "No training: evaluate DIR's checkpoint and write its GGUF and recipe");
  cmd->add_option("--threads", threads, "Threads (same as the global -t)");
  add_device_option(cmd, o.device);
  cmd->add_flag("--eval-only", eval_only, "Evaluate -m MODEL's gold-context reading instead of training");
  cmd->add_option("-m,--model", model, "With --eval-only: the model to evaluate (.gguf)");
  cmd->add_option("--distractors", distractors, "With --eval-only: extra non-evidence documents per context");
  cmd->callback([] {
    apply_global_options();
    if (threads > 0) set_num_threads(threads);
    o.fortunes_only = prose_source == "fortunes";
    auto log = [](const std::string& line) {
      std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    };
    if (!export_prose_dir.empty()) {
      if (o.fortunes_only || !o.prose_dir.empty()) fail("--export-prose reads the Debian packages (--prose-root), not {}",
                                                        o.fortunes_only ? "--prose-source fortunes" : "--prose-dir");
      const study::ProseCorpus c = study::load_debian_prose(o.prose_root);
      if (!c.missing.empty()) {
        std::string m;
        for (const auto& p : c.missing) m += " " + p;
        fail("--export-prose: packages missing under {}:{} (tools/deps.sh prose installs them)", o.prose_root, m);
      }
      study::export_prose(c, export_prose_dir);
      std::printf("%s\nwrote %s (MANIFEST.json, heldout.txt, train-*.txt)\n", c.describe().c_str(), export_prose_dir.c_str());
      return;
    }
    if (eval_only) {
      if (model.empty()) fail("pretrain --eval-only needs -m MODEL");
      Model m = load_model(model);
      study::ReadingEvalOptions eo;
      eo.users = o.final_eval_users;
      eo.distractors = static_cast<int32_t>(distractors);
      const study::ReadingEvalResult r = study::evaluate_reading(m, o.mix, eo);
      int shown = 0;
      for (const auto& s : r.samples)
        if (!s.correct && shown++ < 8)
          std::printf("  miss %s %s: gold '%s' answered '%s'\n", s.id.c_str(), s.level.c_str(), s.gold.c_str(),
                      s.answer.c_str());
      std::printf("%s: gold context%s on %lld held-out users: %s (%.1f s)\n", model.c_str(),
                  distractors ? fmt::format(" + {} distractors", distractors).c_str() : "",
                  static_cast<long long>(eo.users), study::format_reading(r).c_str(), r.seconds);
      const study::ProseCorpus c = study::pretrain_prose(o, log);
      if (c.heldout.empty())
        std::printf("%s: held-out prose: none in %s\n", model.c_str(), c.origin.c_str());
      else
        std::printf("%s: held-out prose: %s\n", model.c_str(),
                    study::prose_perplexity(m, c.heldout, o.ppl_paragraphs).format().c_str());
      return;
    }
    if (o.out_dir.empty()) fail("pretrain needs -o DIR (or --eval-only -m MODEL)");
    o.tokens = tokens.empty() ? 0 : parse_count(tokens);
    install_stop_handlers();
    const study::PretrainResult r = study::run_pretrain(o, stop_flag(), log);
    if (r.stopped && o.checkpoint_only_on_stop) {
      std::printf("%s: stopped at step %lld of %lld (%.2fM tokens); --resume continues\n", study::base_name(o).c_str(),
                  static_cast<long long>(r.steps), static_cast<long long>(r.total_steps),
                  static_cast<double>(r.tokens) / 1e6);
      return;
    }
    std::printf("%s: %lld steps, %.2fM tokens, loss %.4f, gold context %s, held-out prose %s, %s\n",
                study::base_name(o).c_str(), static_cast<long long>(r.steps), static_cast<double>(r.tokens) / 1e6,
                r.final_loss, study::format_reading(r.eval).c_str(),
                r.prose.paragraphs ? r.prose.format().c_str() : "not measured", r.gguf_path.c_str());
  });
}

}  // namespace edgellm::cli
