// The study's cost model: analytic bytes and FLOPs from a model's shape, fitted to measured steps of seeded random
// models, saved as JSON with the command that measured it. Not a profiler: one peak and one step time per class.
#include "bench/study/cost_model.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "bench/study/grid.h"
#include "models/builtin.h"
#include "models/load_model.h"
#include "models/runner.h"
#include "runtime/arena.h"
#include "runtime/atomic_file.h"
#include "runtime/dtype.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/mmap_file.h"
#include "runtime/parse_meter.h"
#include "train/trainer.h"

namespace edgellm::study {

namespace {

double cpu_now() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}


// The (rows, cols) of every matrix: the embedding, the head unless tied, then each layer's seven.
std::vector<std::pair<int64_t, int64_t>> matrices(const LlamaConfig& c) {
  std::vector<std::pair<int64_t, int64_t>> m = {{c.vocab, c.dim}};
  if (!c.tied_embeddings) m.push_back({c.vocab, c.dim});
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (auto rc : {std::pair{c.q_dim(), c.dim}, {c.kv_dim(), c.dim}, {c.kv_dim(), c.dim}, {c.dim, c.q_dim()},
                    {c.ffn_dim, c.dim}, {c.ffn_dim, c.dim}, {c.dim, c.ffn_dim}})
      m.push_back(rc);
  return m;
}

double vector_params(const LlamaConfig& c) {
  return static_cast<double>((2 * c.n_layers + 1) * c.dim + (c.qkv_bias ? c.n_layers * (c.q_dim() + 2 * c.kv_dim()) : 0));
}


// LoRA's A (r, in) and B (out, r) on the seven linears of every layer.
double lora_params(const LlamaConfig& c, int rank) {
  const int64_t per_layer = (c.dim + c.q_dim()) + 2 * (c.dim + c.kv_dim()) + (c.q_dim() + c.dim) + 3 * (c.dim + c.ffn_dim);
  return static_cast<double>(rank) * static_cast<double>(per_layer * c.n_layers);
}

}  // namespace

std::string cost_class(const std::string& method) {
  if (method == "full") return "full";
  return is_training_method(method) ? "lora" : "inference";
}

double weight_bytes(const LlamaConfig& c, const std::string& compression) {
  double b = 4 * vector_params(c);
  const auto mats = matrices(c);
  const size_t n_embedding = c.tied_embeddings ? 1 : 2;  // matrices() lists the embedding and the head first
  for (size_t i = 0; i < mats.size(); ++i) {
    const auto [rows, cols] = mats[i];
    const DType t = compressed_type(compression, i < n_embedding);
    const bool fits = cols % dtype_info(t).block == 0;
    b += static_cast<double>(rows) * static_cast<double>(dtype_row_bytes(fits ? t : DType::F16, cols));
  }
  return b;
}

double model_params(const LlamaConfig& c) {
  double n = vector_params(c);
  for (auto [r, k] : matrices(c)) n += static_cast<double>(r * k);
  return n;
}

double matmul_params(const LlamaConfig& c) {
  const auto mats = matrices(c);
  double n = static_cast<double>(c.vocab * c.dim);  // the head (tied or not); the embedding lookup multiplies nothing
  for (size_t i = c.tied_embeddings ? 1 : 2; i < mats.size(); ++i) n += static_cast<double>(mats[i].first * mats[i].second);
  return n;
}

double extra_bytes(const LlamaConfig& c, const std::string& cls, int batch, int seq_len, int rank) {
  GradSetup s;
  if (cls == "lora") {
    s.lora = true, s.lora_config.rank = rank;
    return 16 * lora_params(c, rank) + static_cast<double>(LlamaGrad::activation_bytes(c, s, batch, seq_len));
  }
  if (cls == "full")  // gradient and two AdamW moments per weight (its f32 copy, where one is made, is in the overhead)
    return 12 * model_params(c) + static_cast<double>(LlamaGrad::activation_bytes(c, s, batch, seq_len));
  if (cls != "inference") fail("cost model: unknown class \"{}\" (inference | lora | full)", cls);
  const double T = static_cast<double>(batch) * seq_len;
  const double kv = 2.0 * static_cast<double>(c.n_layers * c.kv_dim()) * (T + 8) * 4;
  const double scratch = T * static_cast<double>(4 * c.dim + c.q_dim() + 2 * c.kv_dim() + 3 * c.ffn_dim + c.vocab) * 4;
  return kv + scratch;
}

double step_flops(const LlamaConfig& c, const std::string& cls, int batch, int seq_len) {
  const double k = cls == "full" ? 6 : cls == "lora" ? 4 : 2;
  return k * matmul_params(c) * static_cast<double>(batch) * seq_len;
}

CostPrediction predict_cost(const CostModel& m, const LlamaConfig& c, const std::string& compression,
                            const std::string& method, int batch, int seq_len, bool mapped_weights) {
  const std::string cls = cost_class(method);
  const auto it = m.coef.find(cls);
  if (it == m.coef.end()) fail("cost model: no measurement of class \"{}\" (method {})", cls, method);
  const int rank = std::max(1, lora_rank_of(method));
  CostPrediction p;
  // Full fine-tuning trains f32 weights whatever the file holds.
  p.peak_bytes = weight_bytes(c, cls == "full" ? "f32" : compression) +
                 it->second.scale * extra_bytes(c, cls, batch, seq_len, rank) + it->second.overhead + m.rss_baseline +
                 (cls == "full" && mapped_weights ? 4 * model_params(c) : 0);
  p.seconds_per_step = it->second.flop_rate > 0 ? step_flops(c, cls, batch, seq_len) / it->second.flop_rate : 0;
  return p;
}

std::optional<LlamaConfig> model_config_of(const std::string& spec) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (spec.rfind("builtin:", 0) == 0) {
    const std::string rest = spec.substr(8);
    return builtin_config(rest.substr(0, rest.find(':')));
  }
  if (spec.ends_with(".gguf") && fs::is_regular_file(spec, ec)) return llama_config_from_gguf(GgufFile::open(spec));
  if (fs::is_regular_file(fs::path(spec) / "config.json", ec)) return llama_config_from_hf(spec);
  return std::nullopt;
}

double current_rss_bytes() {
  std::ifstream in("/proc/self/statm");
  double pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

CostMeasurement measure_cost(const std::string& spec, const std::string& cls, int batch, int seq_len, int steps) {
  CostMeasurement r;
  r.model = spec, r.cls = cls, r.batch = batch, r.seq_len = seq_len;
  MemoryArena& arena = default_arena();
  const double before = static_cast<double>(arena.in_use());
  arena.reset_peak();
  double peak_extra = 0;
  {
    Model m = load_model(spec);
    const LlamaConfig& c = m.llama.config;
    r.params = m.llama.n_params();
    r.weight_bytes = weight_bytes(c, "f32");
    r.extra_bytes = extra_bytes(c, cls, batch, seq_len);
    // A mapped file's weights are not charged to the arena; they are resident all the same.
    if (static_cast<double>(arena.in_use()) - before < 0.5 * static_cast<double>(m.llama.weight_bytes()))
      peak_extra = static_cast<double>(m.llama.weight_bytes());
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> tok(3, static_cast<int32_t>(c.vocab - 1));
    if (cls == "inference") {
      std::vector<int32_t> prompt(static_cast<size_t>(batch) * static_cast<size_t>(seq_len));
      for (auto& t : prompt) t = tok(rng);
      KvCache cache(c, static_cast<int64_t>(prompt.size()) + 9);
      SamplerParams sp;
      sp.temperature = 0;
      Sampler greedy(sp);
      const double c0 = cpu_now();
      generate(m, cache, prompt, 8, greedy, {}, true);
      r.cpu_seconds = cpu_now() - c0;
      r.flops = step_flops(c, cls, batch, seq_len) + 8 * 2 * matmul_params(c);
    } else {
      Example e;
      e.ids.resize(static_cast<size_t>(batch) * static_cast<size_t>(seq_len) * static_cast<size_t>(steps) + 1);
      for (auto& t : e.ids) t = tok(rng);
      e.target.assign(e.ids.size(), 1);
      PackedData data({std::move(e)}, seq_len, 1, false);
      TrainConfig tc;
      tc.setup.lora = cls == "lora";
      tc.setup.lora_config.rank = 8, tc.setup.lora_config.alpha = 16;
      tc.seq_len = seq_len, tc.batch = batch, tc.steps = steps, tc.lr = cls == "lora" ? 3e-3 : 3e-4;
      Trainer tr(m.llama, data, tc);
      for (int i = 0; i < steps; ++i) {
        const double c0 = cpu_now();
        tr.train_step();
        r.cpu_seconds = cpu_now() - c0;  // the last step's: the first one also allocates
      }
      r.flops = step_flops(c, cls, batch, seq_len);
    }
  }
  r.peak_bytes = static_cast<double>(arena.peak()) - before + peak_extra;
  return r;
}

CostModel fit_cost_model(std::vector<CostMeasurement> ms, double rss_baseline) {
  CostModel m;
  m.rss_baseline = rss_baseline;
  std::map<std::string, std::vector<const CostMeasurement*>> by;
  for (const auto& x : ms) by[x.cls].push_back(&x);
  for (const auto& [cls, xs] : by) {
    // y = peak − weights = scale · extra + overhead, least squares; one point (or equal x): scale 1.
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, fl = 0, sec = 0;
    for (const CostMeasurement* x : xs) {
      const double y = x->peak_bytes - x->weight_bytes;
      n += 1, sx += x->extra_bytes, sy += y, sxx += x->extra_bytes * x->extra_bytes, sxy += x->extra_bytes * y;
      fl += x->flops, sec += x->cpu_seconds;
    }
    CostCoef k;
    const double den = n * sxx - sx * sx;
    if (n >= 2 && den > 1e-9 * sxx * n) k.scale = (n * sxy - sx * sy) / den;
    k.overhead = (sy - k.scale * sx) / n;
    k.flop_rate = sec > 0 ? fl / sec : 0;
    m.coef[cls] = k;
  }
  m.measurements = std::move(ms);
  return m;
}

void save_cost_model(const CostModel& m, const std::string& path) {
  nlohmann::json j;
  j["what"] = "peak = weight_bytes(compression) + scale * extra_bytes + overhead + rss_baseline; "
              "seconds_per_step = step_flops / flop_rate (bench/study/cost_model.h)";
  j["command"] = m.command, j["machine"] = m.machine, j["rss_baseline"] = m.rss_baseline;
  for (const auto& [cls, k] : m.coef) j["classes"][cls] = {{"scale", k.scale}, {"overhead", k.overhead}, {"flop_rate", k.flop_rate}};
  for (const auto& x : m.measurements)
    j["measurements"].push_back({{"model", x.model}, {"class", x.cls}, {"params", x.params}, {"batch", x.batch},
                                 {"seq_len", x.seq_len}, {"peak_bytes", x.peak_bytes}, {"weight_bytes", x.weight_bytes},
                                 {"extra_bytes", x.extra_bytes}, {"cpu_seconds", x.cpu_seconds}, {"flops", x.flops}});
  write_file_atomic(path, j.dump(2) + "\n");
}

CostModel load_cost_model(const std::string& path) {
  const nlohmann::json j = parse_json_metered(read_file(path), path);
  CostModel m;
  auto num = [&](const nlohmann::json& o, const char* k, const std::string& field) {
    if (!o.is_object() || !o.contains(k) || !o[k].is_number()) throw FormatError(path, field + k, "missing or not a number");
    return o[k].get<double>();
  };
  m.rss_baseline = num(j, "rss_baseline", "");
  if (j.contains("command") && j["command"].is_string()) m.command = j["command"].get<std::string>();
  if (j.contains("machine") && j["machine"].is_string()) m.machine = j["machine"].get<std::string>();
  if (!j.contains("classes") || !j["classes"].is_object()) throw FormatError(path, "classes", "missing or not an object");
  for (const auto& [cls, o] : j["classes"].items()) {
    const std::string f = "classes." + cls + ".";
    m.coef[cls] = {num(o, "scale", f), num(o, "overhead", f), num(o, "flop_rate", f)};
  }
  if (j.contains("measurements") && j["measurements"].is_array())
    for (const auto& o : j["measurements"]) {
      CostMeasurement x;
      x.model = o.value("model", ""), x.cls = o.value("class", "");
      x.params = o.value("params", int64_t{0}), x.batch = o.value("batch", 0), x.seq_len = o.value("seq_len", 0);
      x.peak_bytes = o.value("peak_bytes", 0.0), x.weight_bytes = o.value("weight_bytes", 0.0);
      x.extra_bytes = o.value("extra_bytes", 0.0), x.cpu_seconds = o.value("cpu_seconds", 0.0), x.flops = o.value("flops", 0.0);
      m.measurements.push_back(x);
    }
  return m;
}

std::string default_cost_model_path() {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const fs::path& p : {fs::path("bench/study/cost_model.json"), fs::path(__FILE__).parent_path() / "cost_model.json"})
    if (fs::exists(p, ec)) return p.string();
  return "bench/study/cost_model.json";
}

}  // namespace edgellm::study
