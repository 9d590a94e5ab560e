// The pretraining run: set-up (or resume), the training loop with checkpoints and evaluations, and
// the outputs (GGUF, recipe, logs). Not a scheduler: one process, one model, edgellm's thread pool.
#include "bench/study/pretrain_run.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/study/bpe_train.h"
#include "bench/study/pretrain.h"
#include "models/block.h"
#include "runtime/parse_meter.h"
#include "runtime/sha256.h"
#include "models/save_gguf.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "train/device.h"
#include "train/trainer.h"

namespace edgellm::study {
namespace fs = std::filesystem;

std::string format_reading(const ReadingEvalResult& r) {
  std::string s;
  for (int i = 0; i < 3; ++i)
    s += fmt::format("{}L{} {:.1f}% ({}/{})", i ? " " : "", i + 1, 100.0 * r.level[i].accuracy(), r.level[i].correct,
                     r.level[i].total);
  return s;
}

std::string base_name(const PretrainOptions& o) { return "base-" + o.size + (o.arch == "llama" ? "" : "-" + o.arch); }

namespace {

std::string hms(double s) {
  const long t = static_cast<long>(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60) : fmt::format("{}:{:02}", t / 60, t % 60);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot read", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What must not change between a run and its resumption.
nlohmann::json run_identity(const PretrainOptions& o, const std::string& tokenizer_sha, const std::string& prose_sha) {
  return {{"size", o.size},       {"arch", o.arch},               {"tokens", o.tokens},
          {"prose_fraction", o.prose_fraction}, {"prose_sha256", prose_sha},  {"lr", o.lr},
          {"min_lr", o.min_lr},   {"weight_decay", o.weight_decay}, {"batch", o.batch},
          {"seq_len", o.seq_len}, {"seed", o.seed},               {"vocab", o.vocab},
          {"mix_seed", o.mix.seed}, {"tokenizer_examples", o.tokenizer_examples},
          {"tokenizer_sha256", tokenizer_sha}, {"benchmark_version", kBenchmarkVersion}};
}

std::string vocab_digest(const TokenizerVocab& v) {
  std::string all;
  for (size_t i = 0; i < v.tokens.size(); ++i) all += v.tokens[i] + '\x1f' + fmt::format("{}", v.scores[i]) + '\x1e';
  return sha256_hex(all);
}

void write_recipe(const PretrainOptions& o, const PretrainResult& r, const LlamaModel& m, const Tokenizer& tok,
                  const std::string& general_source, const std::string& token_shares, const std::string& path) {
  const LlamaConfig& c = m.config;
  std::string s;
  s += fmt::format("# {}: recipe\n\n", base_name(o));
  s += fmt::format("Trained by `edgellm pretrain` (edgellm's own trainer, no Python).\n\n");
  s += "| | |\n|---|---|\n";
  s += fmt::format("| file | `{}` (f16 matrices, f32 norms, tokenizer inside) |\n", fs::path(r.gguf_path).filename().string());
  s += fmt::format("| sha256 | `{}` |\n", r.gguf_sha256);
  s += fmt::format("| architecture | {}: {} layers × {}, {} heads of {}, FFN {} (SwiGLU), tied embeddings, RoPE θ {} |\n",
                   c.block.qk_norm ? "Qwen3 (QK-norm per head, explicit head_dim)" : "Llama", c.n_layers, c.dim,
                   c.n_heads, c.head_dim, c.ffn_dim, c.rope_theta);
  const int64_t embedding = c.vocab * c.dim;
  s += fmt::format("| parameters | {} (all, the tied embedding counted once; {} without the embedding) |\n", m.n_params(),
                   m.n_params() - embedding);
  s += fmt::format("| tokens per parameter | {:.2f} planned ({} tokens / {} parameters) |\n",
                   static_cast<double>(o.tokens) / static_cast<double>(m.n_params()), o.tokens, m.n_params());
  s += fmt::format("| tokenizer | SentencePiece-style BPE with byte fallback, {} tokens, trained on {} examples of the mix |\n",
                   tok.vocab_size(), o.tokenizer_examples);
  s += fmt::format("| steps | {} of {} planned |\n", r.steps, r.total_steps);
  s += fmt::format("| tokens | {} ({} rows × {} tokens per step, padding included) |\n", r.tokens, o.batch, o.seq_len);
  s += fmt::format("| optimizer | AdamW (β 0.9/0.999, weight decay {}), clip {} |\n", o.weight_decay, o.clip);
  s += fmt::format("| learning rate | {} peak, warm-up {} steps, cosine to {} |\n", o.lr,
                   o.warmup >= 0 ? o.warmup : std::max<int64_t>(1, r.total_steps / 40), o.min_lr);
  s += fmt::format("| init | N(0, 0.02²) matrices and embedding, norms 1, seed {} |\n", o.seed);
  s += fmt::format("| mix (examples) | seed {}; general prose {:.0f}%, LM of {} memorized users {:.0f}%, closed-book {:.0f}%, reading "
                   "{:.0f}% (fresh users from {}, ≤ {} QA pairs per context, curriculum 1 → 5 documents); general "
                   "text: {} |\n",
                   o.mix.seed, 100 * o.mix.share_general, o.mix.memorized_users, 100 * o.mix.share_lm,
                   100 * o.mix.share_closed_book,
                   100 * (1 - o.mix.share_general - o.mix.share_lm - o.mix.share_closed_book), o.mix.fresh_user_offset,
                   o.mix.max_qa_per_context, general_source);
  s += fmt::format("| mix (tokens) | {} (measured on examples 0-1999 at mid-curriculum) |\n", token_shares);
  s += fmt::format("| training time | {} ({:.0f} s, every sitting) on {} threads, device {} |\n", hms(r.train_seconds),
                   r.train_seconds, num_threads(), o.device);
  s += fmt::format("| final loss | {:.4f} (mean of the last 10 steps) |\n", r.final_loss);
  s += fmt::format("| gold-context accuracy | {} on {} held-out users (index ≥ {}), greedy, exact match |\n",
                   format_reading(r.eval), o.final_eval_users, o.mix.test_user_offset);
  s += fmt::format("| held-out prose | {} |\n",
                   r.prose.paragraphs > 0 ? r.prose.format() : std::string("not measured (no held-out prose in this corpus)"));
  s += "\nReproduce:\n\n```\n";
  s += fmt::format("edgellm -t {} pretrain --size {} --arch {} --tokens {} --prose-fraction {}{} --lr {} --min-lr {} --batch {} "
                   "--micro-batch {} --seq {} --seed {} --vocab {} -o DIR\n",
                   num_threads(), o.size, o.arch, o.tokens, o.prose_fraction,
                   o.fortunes_only ? " --prose-source fortunes" : "", o.lr, o.min_lr, o.batch, o.micro_batch,
                   o.seq_len, o.seed, o.vocab);
  s += "```\n\nThe logs of the run: loss.csv (every step) and eval.csv (gold-context accuracy during training).\n";
  write_file_atomic(path, s);
}

}  // namespace

ProseCorpus pretrain_prose(const PretrainOptions& o, const std::function<void(const std::string&)>& log) {
  ProseCorpus c;
  if (o.fortunes_only) {
    c.train = general_text(&c.origin);
  } else if (!o.prose_dir.empty()) {
    c = read_prose_dir(o.prose_dir);
  } else {
    c = load_debian_prose(o.prose_root);
    if (c.train.empty()) {
      c.train = general_text(&c.origin);
      c.origin = "NO Debian prose package found under " + o.prose_root + " (tools/deps.sh prose installs them, or " +
                 "--prose-dir DIR carries an export): fell back to " + c.origin;
    }
  }
  log("pretrain: general prose: " + c.describe());
  return c;
}

namespace {

// Each kind's share of the tokens of examples 0..n−1 at mid-curriculum: what a share of examples means in tokens.
std::string token_shares(const PretrainMix& mix, const std::vector<std::string>& general, const Tokenizer& tok) {
  int64_t by_kind[4] = {0, 0, 0, 0}, all = 0;
  for (int64_t k = 0; k < 2000; ++k) {
    PretrainKind kind;
    pretrain_user(mix, k, &kind);
    const int64_t n = static_cast<int64_t>(encode_example(pretrain_example(mix, k, 0.5, general), tok).ids.size());
    by_kind[static_cast<int>(kind)] += n;
    all += n;
  }
  auto pct = [&](int i) { return 100.0 * static_cast<double>(by_kind[i]) / static_cast<double>(std::max<int64_t>(1, all)); };
  return fmt::format("general prose {:.1f}%, LM {:.1f}%, closed-book {:.1f}%, reading {:.1f}%", pct(0), pct(1), pct(2), pct(3));
}

}  // namespace

PretrainResult run_pretrain(const PretrainOptions& opts, const std::atomic<bool>* stop,
                            const std::function<void(const std::string&)>& log) {
  PretrainOptions o = opts;  // resolved below: the mix's prose share, the token count
  EDGE_CHECK(!o.out_dir.empty(), "pretrain needs an output directory");
  EDGE_CHECK(o.prose_fraction >= 0 && o.prose_fraction + o.mix.share_lm + o.mix.share_closed_book <= 1 + 1e-9,
             "--prose-fraction {} must be in [0, {}] (LM and closed-book take {} of the examples)", o.prose_fraction,
             1 - o.mix.share_lm - o.mix.share_closed_book, o.mix.share_lm + o.mix.share_closed_book);
  o.mix.share_general = o.prose_fraction;
  // An unknown size or architecture fails before the tokenizer is trained; so does a family step the Vulkan
  // training block cannot run (it has QK-norm, so both study architectures train there; the same rule as
  // models/vulkan/grad_vulkan.cpp, here before any work instead of at the first step).
  if (LlamaConfig early = pretrain_config(o.size, o.vocab, o.arch); o.device != "cpu" && !o.device.empty()) {
    early.block.qk_norm = false;
    refuse_family_options(early, "--device " + o.device + " training (its backward has QK-norm only)");
  }
  EDGE_CHECK(o.batch > 0 && o.micro_batch > 0 && o.batch % o.micro_batch == 0,
             "--batch ({}) must be a positive multiple of --micro-batch ({})", o.batch, o.micro_batch);
  fs::create_directories(o.out_dir);
  const auto t_start = std::chrono::steady_clock::now();
  auto since = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count(); };

  ProseCorpus prose = pretrain_prose(o, log);
  const std::string general_source = prose.describe();
  std::vector<std::string> general = std::move(prose.train);  // the held-out part stays in prose
  const std::string prose_sha = [&] {
    std::string all;
    for (const auto& p : general) all += p + '\x1e';
    return sha256_hex(all);
  }();
  const TokenizerVocab vocab = [&] {
    BpeTrainOptions bo;
    bo.vocab_size = o.vocab;
    return train_bpe(tokenizer_sample(o.mix, general, o.tokenizer_examples), bo);
  }();
  const std::string tok_sha = vocab_digest(vocab);
  Model model;
  model.tokenizer = make_tokenizer(vocab);
  log(fmt::format("pretrain: tokenizer of {} tokens in {:.1f} s", model.tokenizer->vocab_size(), since()));

  const LlamaConfig cfg = pretrain_config(o.size, model.tokenizer->vocab_size(), o.arch);
  if (o.tokens == 0) o.tokens = tokens_for(cfg, o.tokens_per_param);
  model.llama = init_pretrain_model(cfg, o.seed);
  const std::string shares = token_shares(o.mix, general, *model.tokenizer);
  log(fmt::format("pretrain: {} tokens for {} parameters ({:.2f} per parameter); tokens of the mix: {}", o.tokens,
                  model.llama.n_params(), static_cast<double>(o.tokens) / static_cast<double>(model.llama.n_params()),
                  shares));
  PretrainStream stream(o.mix, *model.tokenizer, general, o.seq_len, o.tokens);

  TrainConfig tc;
  tc.setup.lora = false;
  tc.seq_len = o.seq_len;
  tc.batch = o.micro_batch;
  tc.grad_accum = o.batch / o.micro_batch;
  tc.steps = std::max<int64_t>(1, o.tokens / (o.batch * o.seq_len));
  tc.optimizer = "adamw";
  tc.lr = o.lr;
  tc.min_lr = o.min_lr;
  tc.weight_decay = o.weight_decay;
  tc.clip = o.clip;
  tc.schedule = LrSchedule::Cosine;
  tc.warmup = o.warmup >= 0 ? o.warmup : std::max<int64_t>(1, tc.steps / 40);
  tc.seed = o.seed;
  tc.time_budget = o.time_budget;
  tc.out_dir = o.out_dir;
  tc.save_every = o.save_every;
  tc.save_seconds = o.save_seconds;
  Trainer tr(model.llama, stream, tc);
  tr.data_state = [&] { return stream.state(); };

  const std::string ckpt = tr.checkpoint_path(), run_json = o.out_dir + "/run.json";
  const nlohmann::json identity = run_identity(o, tok_sha, prose_sha);
  if ((o.resume || o.export_only) && fs::exists(ckpt)) {
    if (fs::exists(run_json)) {
      const nlohmann::json was = parse_json_metered(read_text(run_json), run_json);
      for (const auto& [k, v] : identity.items())
        if (!was.contains(k) || was.at(k) != v)
          fail_format(run_json, k, "the run being resumed has {} but this one has {}",
                      was.contains(k) ? json_brief(was.at(k)) : "nothing", json_brief(v));
    }
    tr.resume(ckpt);
    const nlohmann::json meta = parse_json_metered(checkpoint_metadata(ckpt), ckpt, "__metadata__");
    if (!meta.contains("data_state")) fail_format(ckpt, "data_state", "the checkpoint has no data position");
    stream.restore(meta.at("data_state").get<std::string>());
    EDGE_CHECK(stream.next_row() == tr.step() * tr.rows_per_step(),
               "{}: data position row {} does not match step {}", ckpt, stream.next_row(), tr.step());
    log(fmt::format("pretrain: resumed at step {} of {} ({} examples consumed)", tr.step(), tr.total_steps(),
                    stream.examples_used()));
  } else {
    EDGE_CHECK(!o.export_only, "{}: no checkpoint to export", ckpt);
    write_file_atomic(run_json, identity.dump(2) + "\n");
  }
  use_train_device(tr, model.llama, o.device);  // after the resume: it uploads the resumed params and moments
  log(fmt::format("pretrain: size {} {} ({} parameters), {} steps of {} rows × {} (micro-batch {}), lr {} warm-up {}, "
                  "{} threads",
                  o.size, o.arch, model.llama.n_params(), tr.total_steps(), o.batch, o.seq_len, o.micro_batch, o.lr, tc.warmup,
                  num_threads()));

  // Gold-context evaluations during training go to eval.csv.
  const std::string eval_csv = o.out_dir + "/eval.csv";
  auto evaluate = [&](int64_t users, bool progress = false) {
    tr.sync_to_host();  // the evaluation reads the host model
    ReadingEvalOptions eo;
    eo.users = users;
    // The final evaluation takes minutes on a big --final-eval-users: a line per tenth, with its ETA.
    if (progress)
      eo.on_user = [&](int64_t done, int64_t n, double s) {
        if (done * 10 / n != (done - 1) * 10 / n || done == 1)
          log(fmt::format("final eval: {}/{} users, {:.0f} s, ETA {:.0f} s", done, n, s,
                          s / static_cast<double>(done) * static_cast<double>(n - done)));
      };
    return evaluate_reading(model, o.mix, eo);
  };
  auto log_eval = [&](const ReadingEvalResult& r, int64_t users) {
    const bool fresh = !fs::exists(eval_csv);
    std::FILE* f = std::fopen(eval_csv.c_str(), "a");
    if (!f) fail("{}: cannot open for appending", eval_csv);
    if (fresh) std::fprintf(f, "step,tokens,users,L1,L2,L3,seconds\n");
    std::fprintf(f, "%lld,%lld,%lld,%.4f,%.4f,%.4f,%.1f\n", static_cast<long long>(tr.step()),
                 static_cast<long long>(tr.step() * o.batch * o.seq_len), static_cast<long long>(users),
                 r.level[0].accuracy(), r.level[1].accuracy(), r.level[2].accuracy(), r.seconds);
    std::fclose(f);
  };

  double last_print = -1e9;
  tr.on_step = [&](const StepLog& s) {
    const int64_t done_tokens = s.step * o.batch * o.seq_len;
    if (since() - last_print >= 10 || s.step == tr.total_steps() || s.step == 1) {
      last_print = since();
      log(fmt::format("step {}/{} tokens {:.2f}M loss {:.4f} lr {:.2e} {:.0f} tok/s ETA {} (elapsed {})", s.step,
                      tr.total_steps(), static_cast<double>(done_tokens) / 1e6, s.loss, s.lr, s.tokens_per_s,
                      hms(s.eta_s), hms(s.elapsed_s)));
    }
    if (o.eval_every > 0 && s.step % o.eval_every == 0 && s.step < tr.total_steps()) {
      const ReadingEvalResult r = evaluate(o.eval_users);
      log_eval(r, o.eval_users);
      log(fmt::format("eval step {}: gold context {} ({:.1f} s)", s.step, format_reading(r), r.seconds));
    }
  };

  const StopReason why = o.export_only ? StopReason::Done : tr.run(stop);
  if (why != StopReason::Done)
    log(fmt::format("pretrain: stopped at step {} of {} ({}); checkpoint saved, --resume continues", tr.step(),
                    tr.total_steps(), why == StopReason::Signal ? "signal" : "time budget"));

  PretrainResult r;
  r.steps = tr.step();
  r.total_steps = tr.total_steps();
  r.tokens = r.steps * o.batch * o.seq_len;
  r.stopped = why != StopReason::Done;
  if (r.stopped && o.checkpoint_only_on_stop) {
    log("pretrain: no evaluation or GGUF for a stopped sitting (--checkpoint-only-on-stop)");
    return r;
  }
  // From the step log, which spans every sitting: the mean loss of the last 10 steps, and the training time
  // (each sitting's elapsed_s restarts at 0: the sum of each run of rising values).
  const std::string loss_csv = o.out_dir + "/loss.csv";
  if (fs::exists(loss_csv)) {
    std::ifstream in(loss_csv);
    std::string line;
    std::vector<double> losses;
    double last = 0;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::stringstream ss(line);
      for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
      if (f.size() < 6) continue;
      losses.push_back(std::stod(f[1]));
      const double e = std::stod(f[5]);
      if (e < last) r.train_seconds += last;
      last = e;
    }
    r.train_seconds += last;
    const size_t n = std::min<size_t>(10, losses.size());
    for (size_t i = losses.size() - n; i < losses.size(); ++i) r.final_loss += losses[i] / static_cast<double>(n);
  }

  r.eval = evaluate(o.final_eval_users, true);
  log_eval(r.eval, o.final_eval_users);
  log(fmt::format("gold context on {} held-out users: {} ({:.1f} s)", o.final_eval_users, format_reading(r.eval),
                  r.eval.seconds));
  if (!prose.heldout.empty()) {
    r.prose = prose_perplexity(model, prose.heldout, o.ppl_paragraphs);
    log("held-out prose: " + r.prose.format());
  }
  r.gguf_path = o.out_dir + "/" + base_name(o) + ".gguf";
  SaveGgufOptions so;
  so.metadata = [&](GgufWriter&) {};
  model.llama.config.name = cfg.name;
  save_llama_gguf(model, r.gguf_path, DType::F16, so);
  r.gguf_sha256 = sha256_file(r.gguf_path);
  write_recipe(o, r, model.llama, *model.tokenizer, general_source, shares, o.out_dir + "/recipe.md");
  log(fmt::format("wrote {} (sha256 {}) and recipe.md; training {} of {} steps, {:.2f}M tokens, {}", r.gguf_path,
                  r.gguf_sha256, r.steps, r.total_steps, static_cast<double>(r.tokens) / 1e6, hms(r.train_seconds)));
  return r;
}

}  // namespace edgellm::study
