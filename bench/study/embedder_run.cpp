// The study embedder's run: recall before, training, recall after, save (see embedder_run.h).
// Not a CLI: tools/edgellm/cmd_embedder.cpp parses and prints.
#include "bench/study/embedder_run.h"

#include <fmt/format.h>

#include <filesystem>

#include "models/save_gguf.h"
#include "runtime/error.h"

namespace edgellm::study {

EmbedderRecall run_embedder(const EmbedderRunOptions& o, const std::function<void(const std::string&)>& log) {
  EmbedderRecall rec;
  std::vector<std::vector<std::string>> docs;
  const auto cases = embedder_eval_cases(o.data, o.eval_users, docs);
  rec.cases = static_cast<int64_t>(cases.size());
  auto line = [&](const char* what, const std::vector<double>& r) {
    std::string s = fmt::format("{:<8}", what);
    for (size_t i = 0; i < rec.ks.size(); ++i) s += fmt::format("  recall@{} {:5.1f}%", rec.ks[i], 100 * r[i]);
    log(s);
  };
  log(fmt::format("held-out: {} questions (L1-L3) of {} reading-stream users from stream position {}", rec.cases,
                  o.eval_users, o.data.eval_from));
  rec.bm25 = rag::bm25_recall(cases, rec.ks);
  line("bm25", rec.bm25);
  Model m = load_model(o.base);
  rec.before = rag::dense_recall(m, cases, rec.ks, o.train.max_tokens);
  line("before", rec.before);
  if (o.eval_only) return rec;
  if (o.out.empty()) fail("embedder: no output file (-o)");
  rag::train_embedder(m, [&](int64_t s) { return embedder_batch(o.data, s); }, o.train,
                      [&](const rag::EmbedderStep& st) {
                        rec.train_seconds += st.seconds, rec.final_loss = st.loss;
                        if (st.step % 25 == 0 || st.step == o.train.steps)
                          log(fmt::format("step {:>5}  loss {:.4f}  grad norm {:.3f}  lr {:.2e}  {:.1f} s", st.step,
                                          st.loss, st.grad_norm, st.lr, rec.train_seconds));
                      });
  rec.after = rag::dense_recall(m, cases, rec.ks, o.train.max_tokens);
  line("after", rec.after);
  const std::string tmp = o.out + ".tmp";
  if (const auto dir = std::filesystem::path(o.out).parent_path(); !dir.empty()) std::filesystem::create_directories(dir);
  save_llama_gguf(m, tmp, DType::F16);
  std::filesystem::rename(tmp, o.out);
  log(fmt::format("saved {}", o.out));
  return rec;
}

}  // namespace edgellm::study
