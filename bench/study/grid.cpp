// The study's named grids and run ids: a reduced factorial around a center point (base 0, f32, data 1.0).
// Not a cost model: bench/study/driver.cpp estimates time from the plan.
#include "bench/study/grid.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "bench/study/benchmark.h"
#include "bench/study/benchmark_source.h"
#include "runtime/parse_meter.h"
#include "runtime/error.h"

namespace edgellm::study {

const std::vector<std::string>& compressions() {
  static const std::vector<std::string> c = {"f32", "q8_0", "rtn4", "gptq4", "awq4", "gptq3", "gptq2", "rtn2"};
  return c;
}

DType compressed_type(const std::string& compression, bool embedding) {
  if (compression == "f32") return DType::F32;
  if (compression == "q8_0") return DType::Q8_0;
  if (compression == "rtn4" || compression == "gptq4" || compression == "awq4") return DType::Q4_0;
  if (compression == "gptq3") return embedding ? DType::F32 : gint_dtype(3, 32);
  if (compression == "gptq2") return gint_dtype(embedding ? 4 : 2, 32);
  if (compression == "rtn2") return gint_dtype(2, 32);
  fail("unknown compression \"{}\" (expected one of f32, q8_0, rtn4, gptq4, awq4, gptq3, gptq2, rtn2)", compression);
}

bool is_training_method(const std::string& m) {
  return m == "full" || m == "lora+rag" || m == "ft+qa" || m.rfind("lora-r", 0) == 0;
}
bool is_rag_method(const std::string& m) { return m.rfind("rag-", 0) == 0 || m == "lora+rag"; }
bool is_finetune_only(const std::string& m) { return is_training_method(m) && !is_rag_method(m); }
bool is_retrieval_only(const std::string& m) { return m.rfind("rag-", 0) == 0; }
std::string retriever_of(const std::string& m) {
  if (m == "lora+rag") return "bm25";
  if (m.rfind("rag-", 0) == 0) return m.substr(4);
  return "";
}
int lora_rank_of(const std::string& m) {
  if (m.rfind("lora-r", 0) == 0) return std::stoi(m.substr(6));
  if (m == "lora+rag" || m == "ft+qa") return 8;
  return 0;
}
double learning_rate_of(const std::string& m) {
  if (!is_training_method(m)) return 0;
  return m == "full" ? 3e-4 : 3e-3;
}
std::vector<double> learning_rate_sweep(const std::string& m) {
  const double d = learning_rate_of(m);
  if (d == 0) return {};
  return {d / 3, d, d * 10 / 3};  // 1e-3 3e-3 1e-2 (LoRA), 1e-4 3e-4 1e-3 (full)
}

std::string RunSpec::run_id() const {
  std::string key = fmt::format("{}|{}|{}|{:.4f}|{}|{:.3g}|{}|{}|{}|{}|{}|{}", base, compression, method, data, seed,
                                lr, rank, bench_seed, user_offset, users, batch, seq_len);
  key += fmt::format("|b{}", kBenchmarkVersion);  // results of another benchmark are not resumed
  if (!benchmark.empty()) key += "|" + benchmark;  // absent for the generated users: their ids stay as they were
  key += "|cosine";  // the schedule (warm-up, cosine to lr/10 at the last checkpoint): constant before
  for (int c : checkpoints) key += fmt::format("|{}", c);
  if (!embedder.empty()) key += "|e" + embedder;
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char ch : key) h = (h ^ ch) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

std::string RunSpec::to_json() const {
  nlohmann::json j = {{"base", base},   {"compression", compression}, {"method", method},
                      {"data", data},   {"seed", seed},               {"checkpoints", checkpoints},
                      {"lr", lr},       {"rank", rank},               {"bench_seed", bench_seed},
                      {"user_offset", user_offset}, {"users", users},  {"batch", batch},
                      {"seq_len", seq_len}, {"threads", threads}, {"benchmark", benchmark},
                      {"embedder", embedder}};
  return j.dump();
}

RunSpec RunSpec::from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = parse_json_metered(text, "run spec");
  } catch (const std::exception& e) {
    fail("run spec: not JSON: {}", e.what());
  }
  RunSpec s;
  auto get = [&](const char* k, auto& v) {
    if (!j.contains(k)) return;
    try {
      j.at(k).get_to(v);
    } catch (const std::exception& e) {
      fail("run spec: field \"{}\": {}", k, e.what());
    }
  };
  get("base", s.base), get("compression", s.compression), get("method", s.method), get("data", s.data);
  get("seed", s.seed), get("checkpoints", s.checkpoints), get("lr", s.lr), get("rank", s.rank);
  get("bench_seed", s.bench_seed), get("user_offset", s.user_offset), get("users", s.users);
  get("batch", s.batch), get("seq_len", s.seq_len), get("threads", s.threads), get("benchmark", s.benchmark);
  get("embedder", s.embedder);
  if (s.base.empty()) fail("run spec: field \"base\" is missing");
  if (std::find(compressions().begin(), compressions().end(), s.compression) == compressions().end())
    fail("run spec: field \"compression\": unknown \"{}\"", s.compression);
  if (!(s.data > 0 && s.data <= 1)) fail("run spec: field \"data\": {} is not in (0, 1]", s.data);
  return s;
}

namespace {

RunSpec make(const std::string& base, const std::string& comp, const std::string& method, double data, int seed,
             const std::vector<int>& ckpts, double lr) {
  RunSpec s;
  s.base = base, s.compression = comp, s.method = method, s.data = data, s.seed = seed;
  if (is_training_method(method)) {
    s.checkpoints = ckpts;
    s.lr = lr > 0 ? lr : learning_rate_of(method);
    s.rank = lora_rank_of(method);
  }
  return s;
}

}  // namespace

std::vector<RunSpec> enumerate_grid(const GridOptions& o) {
  if (o.bases.empty()) fail("study: no base model given");
  if (o.seeds < 1) fail("study: --seeds must be at least 1 (got {})", o.seeds);
  const std::string& c = o.bases[0];
  std::vector<RunSpec> runs;
  std::set<std::string> seen;
  // The center point (center base, f32, all data, default learning rate) of the methods in `centered`
  // gets max(seeds, center_users) seeds: that many test users per configuration, and the paired tests
  // between those cells as many units. Elsewhere `seeds`; a comparison pairs the seeds its cells share.
  std::set<std::string> centered;
  // Further cells of the center base with center_users seeds: a primary comparison's cells off the center point
  // (compression, method, data amount), so that its paired test has as many units as the others'.
  std::set<std::tuple<std::string, std::string, double>> primary_cells;
  auto add = [&](const std::string& base, const std::string& comp, const std::string& m, double data,
                 const std::vector<int>& ck, double lr = 0) {
    if (m == "full" && comp != "f32") return;  // a compressed base is fine-tuned through LoRA only
    const bool center = base == c && lr == 0 &&
                        ((comp == "f32" && data == 1.0 && centered.count(m)) || primary_cells.count({comp, m, data}));
    for (int seed = 0, n = center ? std::max(o.seeds, o.center_users) : o.seeds; seed < n; ++seed) {
      RunSpec s = make(base, comp, m, data, seed, ck, lr);
      if (m == "rag-dense" || m == "rag-hybrid") s.embedder = o.embedder;
      if (seen.insert(s.run_id()).second) runs.push_back(std::move(s));
    }
  };
  auto sweep = [&](const std::string& m, const std::vector<int>& ck) {  // the other learning rates, center point
    for (double lr : learning_rate_sweep(m))
      if (lr != learning_rate_of(m)) add(c, "f32", m, 1.0, ck, lr);
  };
  const std::vector<std::string> all_methods = {"none", "rag-bm25", "rag-dense", "rag-hybrid",
                                                "lora-r8", "full", "lora+rag", "ft+qa"};
  if (o.name == "tiny") {  // tests: two methods, one compression, two checkpoints
    const std::vector<int> ck = {2, 4};
    for (const char* m : {"none", "rag-bm25", "lora-r4"}) add(c, "f32", m, 1.0, ck);
    add(c, "q8_0", "lora-r4", 0.5, ck);
  } else if (o.name == "quick") {
    const std::vector<int> ck = {5, 25, 50};
    centered = {"none", "rag-bm25", "lora-r8", "ft+qa"};  // ft+qa: the only method that learns L4's answer format
    for (const auto& m : all_methods) add(c, "f32", m, 1.0, ck);               // method × difficulty × time
    for (const char* m : {"lora-r8", "full"}) sweep(m, ck);                    // learning rate
    for (const auto& comp : compressions()) add(c, comp, "lora-r8", 0.25, ck);  // compression at little data
    for (const auto& comp : compressions()) add(c, comp, "none", 1.0, ck);      // what compression costs the base
    add(c, "rtn4", "none", 1.0, ck), add(c, "rtn4", "rag-bm25", 1.0, ck);
    add(c, "rtn4", "lora-r8", 1.0, ck);  // finding 3's primary: compression × data needs rtn4 at all data too
    for (double d : {0.25, 0.5}) add(c, "f32", "rag-bm25", d, ck), add(c, "f32", "lora-r8", d, ck);  // data
    for (size_t b = 1; b < o.bases.size(); ++b)                                                  // base size
      for (const char* m : {"none", "rag-bm25", "lora-r8"}) add(o.bases[b], "f32", m, 1.0, ck);
  } else if (o.name == "full") {
    // Every factor on the center base; the time axis runs to 400 steps where the method/data slice needs it
    // (finding 2), the compression slice to 100 (finding 3 is about little data and short budgets). Larger
    // bases cost ~3x a step, so they get the method × data × compression corners, not the whole cross.
    const std::vector<int> ck_long = {5, 10, 25, 50, 100, 200, 400}, ck_short = {5, 10, 25, 50, 100};
    std::vector<std::string> methods = all_methods;
    methods.insert(methods.end(), {"lora-r4", "lora-r16"});
    centered = {methods.begin(), methods.end()};
    // Finding 3's primary (bench/study/README.md, amended 2026-12-07): its other three cells get the center's test
    // users too; at 3 seeds its minimum detectable effect was 68 pp (power 9% against 10 pp).
    primary_cells = {{"f32", "lora-r8", 0.25}, {"rtn4", "lora-r8", 0.25}, {"rtn4", "lora-r8", 1.0}};
    for (const auto& m : methods)
      for (double d : {0.25, 0.5, 1.0}) add(c, "f32", m, d, ck_long);
    for (const auto& m : methods) sweep(m, ck_long);
    for (const auto& comp : compressions())
      for (const char* m : {"none", "rag-bm25", "lora-r8", "lora+rag", "ft+qa"})
        for (double d : {0.25, 1.0})
          if (comp != "f32") add(c, comp, m, d, ck_short);  // f32's runs above already hold these checkpoints
    for (size_t b = 1; b < o.bases.size(); ++b) {
      for (const auto& m : all_methods)
        for (double d : {0.25, 1.0}) add(o.bases[b], "f32", m, d, ck_short);
      for (const char* comp : {"rtn4", "gptq4"})
        for (const char* m : {"none", "rag-bm25", "lora-r8"}) add(o.bases[b], comp, m, 0.25, ck_short);
    }
  } else {
    fail("study: unknown grid \"{}\" (quick | full)", o.name);
  }
  check_benchmark(o.benchmark);
  for (auto& r : runs)  // a LaMP folder's users are numbered from 0 (seed·users + k)
    if (!o.benchmark.empty()) r.benchmark = o.benchmark, r.user_offset = 0;
  return runs;
}

std::vector<RunSpec> shard(const std::vector<RunSpec>& runs, int i, int n) {
  if (n < 1 || i < 0 || i >= n) fail("study: shard {}/{} is not 0 <= i < n", i, n);
  std::vector<RunSpec> out;
  for (size_t k = 0; k < runs.size(); ++k)
    if (static_cast<int>(k % static_cast<size_t>(n)) == i) out.push_back(runs[k]);
  return out;
}

void parse_shard(const std::string& s, int& i, int& n) {
  const auto slash = s.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no /");
    size_t p1 = 0, p2 = 0;
    i = std::stoi(s.substr(0, slash), &p1);
    n = std::stoi(s.substr(slash + 1), &p2);
    if (p1 != slash || p2 != s.size() - slash - 1) throw std::invalid_argument("junk");
  } catch (const std::exception&) {
    fail("--shard \"{}\": expected i/n with 0 <= i < n, e.g. 0/4", s);
  }
  if (n < 1 || i < 0 || i >= n) fail("--shard \"{}\": expected i/n with 0 <= i < n, e.g. 0/4", s);
}

}  // namespace edgellm::study
