// One study run: compressed base → personalization (none / RAG / LoRA / full / LoRA+RAG / FT+QA) →
// greedy answers scored per level at each checkpoint. Not a scheduler: one spec, in this process.
#include "bench/study/run.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "bench/study/benchmark_source.h"
#include "bench/study/metrics.h"
#include "bench/study/prompt_format.h"
#include "models/save_gguf.h"
#include "quant/quantize_model.h"
#include "rag/bm25.h"
#include "rag/dense.h"
#include "rag/index.h"
#include "runtime/arena.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/parallel.h"
#include "train/trainer.h"

namespace edgellm::study {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

UserSource& user_source() {
  static UserSource src;
  return src;
}
User get_user(uint64_t seed, int64_t index) {
  return user_source() ? user_source()(seed, index) : generate_user(seed, index);
}
// A run's test user `index`: generated, or entry `index` of the run's LaMP folder.
User get_user(const RunSpec& s, int64_t index) {
  if (s.benchmark.empty()) return get_user(s.bench_seed, index);
  const std::vector<User>& users = lamp_users(s.benchmark);
  if (index < 0 || index >= static_cast<int64_t>(users.size()))
    fail("run {}: {} has {} users; seed {} × {} users per run needs user {}", s.run_id(), s.benchmark, users.size(),
         s.seed, s.users, index);
  return users[static_cast<size_t>(index)];
}

// A file's name; a folder's (an HF model directory, often named just "model") with its parent's in front, so that
// tiny-llama/model and tiny-qwen2/model do not share a compressed-base cache entry.
std::string slug(const std::string& s) {
  const std::filesystem::path p(s);
  std::error_code ec;
  const std::string name = std::filesystem::is_directory(p, ec) && p.has_parent_path()
                               ? p.parent_path().filename().string() + "-" + p.filename().string()
                               : p.filename().string();
  std::string o;
  for (char c : name) o += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return o;
}

// CPU seconds (user + system) of this process, every thread included. RUSAGE_SELF, not RUSAGE_THREAD:
// a run is one process of its own (the driver spawns one per run, `--jobs` of them at once; the in-process
// path used by tests runs them one after another), and its matmuls run on the thread pool's workers,
// whose time RUSAGE_THREAD would leave out. A loaded machine stretches wall time, not this.
double cpu_seconds_now() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double max_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

// Storage of the weights as the compression stores them (group-int packed: its bits + f16 scale and zero).
double weight_mib(const Model& m, const std::string& /*compression*/) {
  return static_cast<double>(m.llama.weight_bytes()) / (1024.0 * 1024.0);
}

// The memorized users' documents (the pretraining mix has them; no test user's text is used).
std::string calibration_text(uint64_t bench_seed) {
  std::string t;
  for (int64_t i = 0; i < 16; ++i) {
    const User u = get_user(bench_seed, i);
    for (const auto& d : u.documents) t += document_text(u, d);
  }
  return t + quant::builtin_calibration_text();
}

// The document as it appears in a reading prompt's context (without the user header).
std::string context_line(const User& u, const Document& d) {
  return document_text(u, d).substr(user_header(u).size());
}

struct Retriever {
  std::string kind;
  std::vector<int32_t> ids;        // available documents
  std::vector<std::string> lines;  // their context lines
  rag::Bm25Index bm25;
  std::vector<float> vecs;         // (n, C) unit vectors (dense, hybrid)
  int64_t C = 0;

  // m: the model that embeds (the run's embedder, or the base itself).
  void build(const Model& m, const User& u, const std::vector<int32_t>& avail, const std::string& k) {
    kind = k, ids = avail;
    for (int32_t d : avail) lines.push_back(context_line(u, u.documents[static_cast<size_t>(d)]));
    std::vector<std::string_view> views(lines.begin(), lines.end());
    bm25.build(views);
    if (kind != "bm25") {
      vecs = rag::embed_texts(m, lines, 256);
      C = m.llama.config.dim;
    }
  }
  std::vector<rag::Scored> dense(const Model& m, const std::string& q, size_t k) const {
    const std::vector<std::string> one = {q};
    const std::vector<float> qv = rag::embed_texts(m, one, 256);
    std::vector<rag::Scored> s;
    for (size_t i = 0; i < lines.size(); ++i) {
      float dot = 0;
      for (int64_t c = 0; c < C; ++c) dot += qv[static_cast<size_t>(c)] * vecs[i * static_cast<size_t>(C) + static_cast<size_t>(c)];
      s.push_back({static_cast<uint32_t>(i), dot});
    }
    std::sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.score > b.score || (a.score == b.score && a.chunk < b.chunk); });
    if (s.size() > k) s.resize(k);
    return s;
  }
  // Top-4 documents' lines, in chronological order (a later document supersedes an earlier one).
  std::vector<std::string> context(const Model& m, const std::string& q) const {
    std::vector<rag::Scored> hits;
    if (kind == "bm25") hits = bm25.search(q, 4);
    else if (kind == "dense") hits = dense(m, q, 4);
    else hits = rag::rrf_fuse({bm25.search(q, 50), dense(m, q, 50)}, 60, 4);
    std::vector<uint32_t> idx;
    for (const auto& h : hits) idx.push_back(h.chunk);
    std::sort(idx.begin(), idx.end());
    std::vector<std::string> out;
    for (uint32_t i : idx) out.push_back(lines[i]);
    return out;
  }
};

struct LevelAcc {
  int n = 0;
  double em = 0, f1 = 0, rl = 0, answerable = 0;
};
struct Eval {
  std::map<int, LevelAcc> levels;
  double ms = 0;
  int answers = 0;
  void add(int level, double em, double f1, double rl) {
    auto& a = levels[level];
    ++a.n, a.em += em, a.f1 += f1, a.rl += rl;
  }
  double score(int level) const {
    const auto it = levels.find(level);
    if (it == levels.end() || it->second.n == 0) return 0;
    return (scored_by_rouge(level) ? it->second.rl : it->second.em) / it->second.n;
  }
};

// Scores every question of u: closed-book, with retrieved documents, or with the gold documents. A
// question that continues a document (L5) gets the same context before its opening instead of a question.
enum class Ctx { ClosedBook, Retrieved, Gold };
// embedder: the model the retriever embeds questions with (null: m).
void evaluate(const Model& m, const PromptFormat& pf, const User& u, Ctx ctx, const Retriever* r, Eval& ev,
              const Model* embedder = nullptr) {
  for (const auto& q : u.questions) {
    std::vector<std::string> lines;
    if (ctx == Ctx::Retrieved) {
      lines = r->context(embedder ? *embedder : m, q.text);
    } else if (ctx == Ctx::Gold) {  // the latest document of each evidence group
      std::vector<int32_t> gold;
      for (const auto& g : q.evidence)
        if (!g.empty()) gold.push_back(*std::max_element(g.begin(), g.end()));
      std::sort(gold.begin(), gold.end());
      gold.erase(std::unique(gold.begin(), gold.end()), gold.end());
      for (int32_t d : gold) lines.push_back(context_line(u, u.documents[static_cast<size_t>(d)]));
    }
    const std::string prompt = !q.continues.empty()     ? continuation_prompt(u, lines, q.continues)
                               : ctx == Ctx::ClosedBook ? closed_book_prompt(u, q.text)
                                                        : reading_prompt(u, lines, q.text);
    const int level = static_cast<int>(q.level);
    const auto t0 = Clock::now();
    const std::string a = answer_prompt(m, pf, prompt, scored_by_rouge(level) ? 64 : 24);
    ev.ms += since(t0) * 1e3, ++ev.answers;
    ev.add(level, exact_match(a, q.answer) ? 1 : 0, token_f1(a, q.answer), rouge_l(a, q.answer));
  }
}

std::vector<Example> training_examples(const Model& m, const PromptFormat& pf, const User& u,
                                       const std::vector<int32_t>& avail, bool with_qa) {
  // The same records `study gen --format records` writes and `finetune` reads, scored as finetune scores them;
  // on a base with its own chat template a QA pair is that template's turn, as its questions are asked.
  std::vector<Example> ex;
  for (const DataRecord& r : training_records(u, avail, with_qa)) {
    if (r.kind == DataRecord::Kind::Pair && pf.chat) {
      std::string answer = r.response;  // " answer\n" in the plain format
      while (!answer.empty() && (answer.front() == ' ')) answer.erase(answer.begin());
      while (!answer.empty() && answer.back() == '\n') answer.pop_back();
      ex.push_back(qa_example(m, pf, r.prompt, answer));
      continue;
    }
    ex.push_back(example_from_record(r, *m.tokenizer, nullptr, "study user " + std::to_string(u.index)));
  }
  return ex;
}

}  // namespace

void set_user_source(UserSource src) { user_source() = std::move(src); }

std::string greedy_answer(const Model& m, const std::string& prompt, int max_new) {
  EncodeOptions eo;
  eo.add_bos = m.tokenizer->bos_id() >= 0;
  std::vector<int32_t> ids = m.tokenizer->encode(prompt, eo);
  const int64_t room = m.llama.config.max_ctx - max_new - 1;
  if (static_cast<int64_t>(ids.size()) > room) ids.erase(ids.begin(), ids.end() - room);  // keep the question
  KvCache cache(m.llama.config, static_cast<int64_t>(ids.size()) + max_new + 1);
  SamplerParams sp;
  sp.temperature = 0;
  Sampler greedy(sp);
  std::vector<int32_t> out;
  std::string text;
  generate(m, cache, ids, max_new, greedy, [&](int32_t id) {
    out.push_back(id);
    text = m.tokenizer->decode(out);
    return text.find('\n') == std::string::npos;
  });
  text = text.substr(0, text.find('\n'));
  const auto b = text.find_first_not_of(' '), e = text.find_last_not_of(' ');
  return b == std::string::npos ? "" : text.substr(b, e - b + 1);
}

std::string compressed_base_path(const std::string& out_dir, const std::string& base, const std::string& compression) {
  return fmt::format("{}/bases/{}-{}.gguf", out_dir, slug(base), compression);
}

Model load_compressed(const std::string& base, const std::string& compression, const std::string& out_dir,
                      const std::function<void(const std::string&)>& log) {
  const std::string path = compressed_base_path(out_dir, base, compression);
  if (std::filesystem::exists(path)) return load_model(path);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const auto t0 = Clock::now();
  Model m = load_model(base);
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  if (compression == "f32" || compression == "q8_0" || compression == "rtn4") {
    save_llama_gguf(m, tmp, compressed_type(compression, false));
  } else {
    quant::ModelQuantOptions o;
    o.method = compression == "awq4" ? quant::QuantMethod::Awq
               : compression == "rtn2" ? quant::QuantMethod::Rtn
                                       : quant::QuantMethod::Gptq;
    o.spec.bits = compression == "gptq3" ? 3 : compression == "gptq2" || compression == "rtn2" ? 2 : 4;
    o.spec.group = 32;
    o.spec.symmetric = o.spec.bits > 2;  // a symmetric 2-bit grid has one positive level: asymmetric, as GPTQ's 2-bit
    o.max_tokens = 1024;
    quant::quantize_model(m, calibration_text(1), o);
    const quant::Grid grid(o.spec);
    SaveGgufOptions so;
    so.metadata = [&](GgufWriter& g) { g.set_string("edgellm.quant.type", compression); };
    // The 2-bit compressions quantize the embedding/output matrices as well (round-to-nearest, asymmetric
    // group-int g32): gptq2 at 4 bits, as llama.cpp keeps those a step above the linears; rtn2 at 2.
    if (o.spec.bits == 2)
      so.tensor_type = [compression](const std::string& name, DType t) {
        return name == "token_embd.weight" || name == "output.weight" ? compressed_type(compression, true) : t;
      };
    // A group-int result stays packed (its own GGUF type ids): LoRA then trains on the frozen 3-bit weights.
    if (grid.kind == quant::GridKind::Gint) save_llama_gguf(m, tmp, std::nullopt, so);
    else save_llama_gguf(m, tmp, grid.gguf_type(), so);
  }
  std::filesystem::rename(tmp, path);
  if (log) log(fmt::format("compressed {} -> {} ({:.1f} s)", base, path, since(t0)));
  return load_model(path);
}

std::vector<ResultRow> run_one(const RunSpec& s, const std::string& out_dir,
                               const std::function<void(const std::string&)>& log) {
  if (s.threads > 0) set_num_threads(s.threads);
  default_arena().reset_peak();
  const bool train = is_training_method(s.method);
  const std::string retr = retriever_of(s.method);
  std::vector<int> ckpts = train ? s.checkpoints : std::vector<int>{0};
  if (ckpts.empty()) fail("run {}: method {} needs checkpoints", s.run_id(), s.method);
  std::sort(ckpts.begin(), ckpts.end());

  std::map<int, Eval> at;          // checkpoint -> scores over all users
  Eval base_ev, gold_ev;
  std::map<int, double> secs, cpu;  // checkpoint -> mean training (or indexing) wall / CPU seconds
  std::map<int, LevelAcc> answer;  // level -> answerable count
  double n_docs = 0, wmib = 0;
  const PromptFormat pf = prompt_format_of(s.base);  // the model's own chat format, when it declares one
  // A trained embedder (rag-dense/rag-hybrid) is loaded once; its loading is not indexing time.
  std::optional<Model> embedder;
  if (!s.embedder.empty() && !retr.empty() && retr != "bm25") embedder = load_model(s.embedder);
  for (int k = 0; k < s.users; ++k) {
    Model m = load_compressed(s.base, s.compression, out_dir, log);
    wmib = weight_mib(m, s.compression);
    const User u = get_user(s, s.user_offset + static_cast<int64_t>(s.seed) * s.users + k);
    const std::vector<int32_t> avail = documents_at(u, s.data, static_cast<uint64_t>(s.seed));
    n_docs += static_cast<double>(avail.size()) / s.users;
    for (const auto& q : u.questions) {
      auto& a = answer[static_cast<int>(q.level)];
      ++a.n, a.answerable += answerable(q, avail) ? 1 : 0;
    }
    evaluate(m, pf, u, Ctx::ClosedBook, nullptr, base_ev);
    if (s.method == "none") continue;  // the baseline is the result
    Retriever r;
    double index_s = 0, index_cpu = 0;
    if (!retr.empty()) {
      const auto t0 = Clock::now();
      const double c0 = cpu_seconds_now();
      r.build(embedder ? *embedder : m, u, avail, retr);
      index_s = since(t0), index_cpu = cpu_seconds_now() - c0;
      evaluate(m, pf, u, Ctx::Gold, nullptr, gold_ev);
    }
    if (!train) {
      evaluate(m, pf, u, retr.empty() ? Ctx::ClosedBook : Ctx::Retrieved, &r, at[0], embedder ? &*embedder : nullptr);
      secs[0] += index_s / s.users, cpu[0] += index_cpu / s.users;
      continue;
    }
    PackedData data(training_examples(m, pf, u, avail, s.method == "ft+qa"), s.seq_len,
                    static_cast<uint64_t>(s.seed));
    TrainConfig tc;
    tc.setup.lora = s.method != "full";
    tc.setup.lora_config.rank = std::max(1, s.rank);
    tc.setup.lora_config.alpha = 2.0f * static_cast<float>(std::max(1, s.rank));
    tc.seq_len = s.seq_len, tc.batch = s.batch, tc.steps = ckpts.back(), tc.lr = s.lr;
    // The schedule is sized to the run's budget (its last checkpoint): warm-up over a tenth, cosine to lr/10.
    tc.schedule = LrSchedule::Cosine, tc.warmup = std::max(1, ckpts.back() / 10), tc.min_lr = s.lr / 10;
    tc.seed = static_cast<uint64_t>(s.seed);
    Trainer tr(m.llama, data, tc);
    double train_s = 0, train_cpu = 0;
    for (int c : ckpts) {
      const auto t0 = Clock::now();
      const double c0 = cpu_seconds_now();
      while (tr.step() < c) tr.train_step();
      train_s += since(t0), train_cpu += cpu_seconds_now() - c0;
      secs[c] += (train_s + index_s) / s.users, cpu[c] += (train_cpu + index_cpu) / s.users;
      evaluate(m, pf, u, retr.empty() ? Ctx::ClosedBook : Ctx::Retrieved, &r, at[c], embedder ? &*embedder : nullptr);
      if (log) log(fmt::format("{} step {} ({:.1f} s): L1 {:.2f}", s.method, c, train_s, at[c].score(1)));
    }
  }

  if (s.method == "none") at[0] = base_ev;
  std::vector<ResultRow> rows;
  const double peak = max_rss_mib(), arena = static_cast<double>(default_arena().peak()) / (1024.0 * 1024.0);
  for (int c : ckpts) {
    const Eval& ev = at[c];
    for (const auto& [level, acc] : ev.levels) {
      ResultRow r;
      r.run_id = s.run_id(), r.base = s.base, r.compression = s.compression, r.method = s.method;
      r.rank = s.rank, r.data = s.data, r.seed = s.seed, r.lr = s.lr, r.steps = c, r.seconds = secs[c], r.cpu_seconds = cpu[c];
      r.level = level, r.n_questions = acc.n;
      r.em = acc.em / acc.n, r.f1 = acc.f1 / acc.n, r.rouge_l = acc.rl / acc.n, r.score = ev.score(level);
      r.base_score = base_ev.score(level);
      r.gold_score = retr.empty() ? -1 : gold_ev.score(level);
      r.answerable = answer[level].n ? answer[level].answerable / answer[level].n : 0;
      r.n_docs = static_cast<int>(std::lround(n_docs));
      r.peak_mib = peak, r.arena_mib = arena, r.weight_mib = wmib;
      r.latency_ms = ev.answers ? ev.ms / ev.answers : 0;
      r.gain_per_s = r.seconds > 0 ? (r.score - r.base_score) / r.seconds : 0;
      r.gain_per_mib = peak > 0 ? (r.score - r.base_score) / peak : 0;
      r.git_rev = git_revision();
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

}  // namespace edgellm::study
