// Grid enumeration, shards and run specs of the study.
// Not the runner: no model is loaded here.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <tuple>

#include "bench/study/grid.h"
#include "runtime/error.h"

using namespace edgellm;
using namespace edgellm::study;

namespace {
std::vector<std::string> ids(const std::vector<RunSpec>& r) {
  std::vector<std::string> v;
  for (const auto& s : r) v.push_back(s.run_id());
  return v;
}
}  // namespace

TEST_CASE("grid: enumeration is deterministic, duplicate-free and covers every factor") {
  GridOptions o;
  o.bases = {"a.gguf", "b.gguf"};
  for (const char* name : {"quick", "full"}) {
    o.name = name;
    const auto r1 = enumerate_grid(o), r2 = enumerate_grid(o);
    CHECK(ids(r1) == ids(r2));
    const auto v = ids(r1);
    CHECK(std::set<std::string>(v.begin(), v.end()).size() == v.size());
    std::set<std::string> comps, methods, bases;
    std::set<double> datas;
    std::set<int> seeds;
    for (const auto& s : r1) {
      comps.insert(s.compression), methods.insert(s.method), bases.insert(s.base), datas.insert(s.data), seeds.insert(s.seed);
      if (s.method == "full") CHECK(s.compression == "f32");
      CHECK(s.checkpoints.empty() == !is_training_method(s.method));
      if (is_training_method(s.method)) CHECK(s.lr > 0);
    }
    CHECK(comps.size() == 8);
    CHECK(comps.count("gptq2") == 1);
    CHECK(comps.count("rtn2") == 1);
    CHECK(methods.size() >= 8);
    CHECK(bases.size() == 2);
    CHECK(datas.size() == 3);
    CHECK(seeds.size() == 20);  // the center point's test users; 3 elsewhere
  }
  o.name = "quick";
  const size_t quick = enumerate_grid(o).size();
  o.name = "full";
  const auto full = enumerate_grid(o);
  CHECK(full.size() > quick);
  int shortest = 1 << 30, longest = 0;  // the time axis spans ~5 to ~400 steps
  for (const auto& s : full)
    if (!s.checkpoints.empty()) shortest = std::min(shortest, s.checkpoints.front()), longest = std::max(longest, s.checkpoints.back());
  CHECK(shortest == 5);
  CHECK(longest == 400);
  // Each primary comparison's cells share the center's 20 test users (paired units): finding 3's four cells too.
  std::map<std::tuple<std::string, std::string, double>, std::set<int>> cell_seeds;
  for (const auto& s : full)
    if (s.base == "a.gguf" && s.method == "lora-r8" && s.lr == learning_rate_of("lora-r8"))
      cell_seeds[{s.compression, s.method, s.data}].insert(s.seed);
  for (const auto& cell : std::vector<std::pair<std::string, double>>{{"f32", 1.0}, {"f32", 0.25}, {"rtn4", 0.25}, {"rtn4", 1.0}}) {
    const size_t n = cell_seeds[{cell.first, "lora-r8", cell.second}].size();
    const std::string what = cell.first + " at data " + std::to_string(cell.second);
    CHECK_MESSAGE(n == 20, what);
  }
  CHECK(cell_seeds[{"gptq4", "lora-r8", 0.25}].size() == 3);  // the other compressions stay at 3
  o.name = "nope";
  CHECK_THROWS_AS(enumerate_grid(o), Error);
}

TEST_CASE("grid: shards are disjoint and their union is the grid") {
  GridOptions o;
  o.bases = {"a.gguf"};
  const auto all = ids(enumerate_grid(o));
  for (int n : {1, 2, 3, 7}) {
    std::multiset<std::string> seen;
    for (int i = 0; i < n; ++i)
      for (const auto& id : ids(shard(enumerate_grid(o), i, n))) seen.insert(id);
    CHECK(seen.size() == all.size());
    CHECK(std::set<std::string>(seen.begin(), seen.end()) == std::set<std::string>(all.begin(), all.end()));
  }
  int i = 0, n = 0;
  parse_shard("2/5", i, n);
  CHECK((i == 2 && n == 5));
  CHECK_THROWS_AS(parse_shard("5/5", i, n), Error);
  CHECK_THROWS_AS(parse_shard("1-3", i, n), Error);
  CHECK_THROWS_AS(shard({}, 0, 0), Error);
}

TEST_CASE("grid: run specs round-trip through JSON and their ids name the factors") {
  RunSpec s;
  s.base = "x.gguf", s.method = "lora-r8", s.compression = "gptq3", s.data = 0.25, s.seed = 2;
  s.checkpoints = {5, 25}, s.lr = 3e-3, s.rank = 8, s.threads = 3;
  const RunSpec t = RunSpec::from_json(s.to_json());
  CHECK(t.run_id() == s.run_id());
  CHECK(t.checkpoints == s.checkpoints);
  CHECK(t.threads == 3);
  RunSpec u = s;
  u.threads = 1;  // not a factor
  CHECK(u.run_id() == s.run_id());
  u.seed = 3;
  CHECK(u.run_id() != s.run_id());
  CHECK_THROWS_AS(RunSpec::from_json("{\"base\":\"x\",\"compression\":\"q2\"}"), Error);
  CHECK_THROWS_AS(RunSpec::from_json("{\"compression\":\"f32\"}"), Error);
  CHECK_THROWS_AS(RunSpec::from_json("not json"), Error);
  CHECK(lora_rank_of("lora-r16") == 16);
  CHECK(retriever_of("lora+rag") == "bm25");
  CHECK(learning_rate_of("full") == doctest::Approx(3e-4));
}

TEST_CASE("grid: the learning rate is swept (3 values per method) and the center point has 20 test users") {
  GridOptions o;
  o.bases = {"a.gguf", "b.gguf"};
  CHECK(learning_rate_sweep("lora-r8").size() == 3);
  CHECK(learning_rate_sweep("none").empty());
  for (const char* name : {"quick", "full"}) {
    o.name = name;
    const auto runs = enumerate_grid(o);
    std::map<std::string, std::set<double>> lrs;             // method -> learning rates at the center point
    std::map<std::pair<std::string, double>, std::set<int64_t>> users;  // (method, lr) at the center -> test users
    std::set<std::string> trained;
    for (const auto& s : runs) {
      if (is_training_method(s.method)) trained.insert(s.method);
      if (s.base != "a.gguf" || s.compression != "f32" || s.data != 1.0) continue;
      if (is_training_method(s.method)) lrs[s.method].insert(s.lr);
      for (int k = 0; k < s.users; ++k) users[{s.method, s.lr}].insert(s.user_offset + static_cast<int64_t>(s.seed) * s.users + k);
    }
    // quick sweeps lora-r8 and full (the two kinds of training); full sweeps every training method.
    const std::vector<std::string> swept = o.name == "quick" ? std::vector<std::string>{"lora-r8", "full"}
                                                             : std::vector<std::string>(trained.begin(), trained.end());
    for (const auto& m : swept) {
      CHECK_MESSAGE(lrs[m].size() >= 3, m);
      const std::vector<double> sw = learning_rate_sweep(m);
      for (double lr : sw) CHECK_MESSAGE(lrs[m].count(lr) == 1, m << " lr " << lr);
      CHECK(sw.front() < learning_rate_of(m));
      CHECK(sw.back() > learning_rate_of(m));
    }
    // At least 20 distinct test users per configuration at the center point (the default learning rate).
    for (const char* m : {"none", "rag-bm25", "lora-r8"}) {
      const size_t n = users[std::make_pair(std::string(m), learning_rate_of(m))].size();
      CHECK_MESSAGE(n >= 20, m);
    }
    // Off the center: the grid's seeds (but in full, finding 3's primary cells: checked in the first test case).
    for (const auto& s : runs) {
      const bool f3 = o.name == std::string("full") && s.base == "a.gguf" && s.method == "lora-r8" &&
                      (s.compression == "rtn4" || s.compression == "f32") && (s.data == 0.25 || s.data == 1.0);
      if ((s.compression != "f32" || s.data != 1.0 || s.base != "a.gguf") && !f3) CHECK(s.seed < 3);
    }
  }
  o.name = "quick", o.center_users = 1;
  std::set<int> seeds;
  for (const auto& s : enumerate_grid(o)) seeds.insert(s.seed);
  CHECK(seeds.size() == 3);
}
