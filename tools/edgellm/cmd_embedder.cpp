// `edgellm embedder`: trains the study's retrieval embedder (or measures a model as one) and prints recall@k.
// Parsing and printing only: the run is bench/study/embedder_run.h.
#include <fmt/format.h>

#include <cstdio>

#include "bench/study/embedder_run.h"
#include "runtime/error.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {

void add_embedder_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("embedder", "Train a retrieval embedder on reading-stream question-document pairs "
                                             "(never test users); print recall@k on held-out users before and after");
  static study::EmbedderRunOptions o;
  o.base = "bench/study/bases/base-s.gguf";
  cmd->add_option("-m,--model,--base", o.base, "The model the embedder starts from (or, with --eval-only, is)")->capture_default_str();
  cmd->add_option("-o,--output", o.out, "The embedder to write (.gguf, f16 matrices)");
  cmd->add_option("--steps", o.train.steps, "Optimizer steps")->capture_default_str();
  cmd->add_option("--lr", o.train.lr, "Peak learning rate (cosine to --min-lr)")->capture_default_str();
  cmd->add_option("--min-lr", o.train.min_lr, "Final learning rate")->capture_default_str();
  cmd->add_option("--tau", o.train.tau, "InfoNCE temperature")->capture_default_str();
  cmd->add_option("--queries", o.data.queries, "Queries per batch")->capture_default_str();
  cmd->add_option("--documents", o.data.documents, "Documents per batch (positives, then negatives)")->capture_default_str();
  cmd->add_option("--eval-users", o.eval_users, "Held-out reading-stream users for recall@k")->capture_default_str();
  cmd->add_flag("--eval-only", o.eval_only, "Measure -m as an embedder; train nothing");
  cmd->callback([] {
    apply_global_options();
    const study::EmbedderRecall r = study::run_embedder(o, [](const std::string& line) {
      std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    });
    auto pct = [&](const std::vector<double>& v) {
      std::string s;
      for (size_t i = 0; i < v.size(); ++i) s += fmt::format(" @{} {:.1f}%", r.ks[i], 100 * v[i]);
      return s;
    };
    std::printf("%lld held-out questions; recall bm25%s | %s%s", static_cast<long long>(r.cases), pct(r.bm25).c_str(),
                o.eval_only ? "model" : "before", pct(r.before).c_str());
    if (!o.eval_only)
      std::printf(" | after%s (%lld steps, %.1f s, loss %.4f) -> %s", pct(r.after).c_str(),
                  static_cast<long long>(o.train.steps), r.train_seconds, r.final_loss, o.out.c_str());
    std::printf("\n");
  });
}

}  // namespace edgellm::cli
