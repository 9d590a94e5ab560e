// The verdicts: the README's pre-registration is the code's, and 1,000 simulated grids per case (the
// study's own noise: per-seed Bernoulli answers at the generator's question counts) run through judge().
// Not a check of the study's results: every grid here is synthetic.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "bench/study/benchmark.h"
#include "bench/study/grid.h"
#include "bench/study/verdicts.h"

using namespace edgellm;
using namespace edgellm::study;

namespace {

// The grid's design: questions per level of one test user as the generator makes them, and the number of
// seeds a configuration gets (seeds × users per run).
std::map<int, int> design_questions() {
  std::map<int, int> q;
  for (const auto& x : generate_user(RunSpec{}.bench_seed, RunSpec{}.user_offset).questions) ++q[static_cast<int>(x.level)];
  return q;
}
int design_seeds() { return GridOptions{}.seeds * RunSpec{}.users; }

// The cells every finding's primary reads (center base "b"), at checkpoints 25 and 100 (reference 100,
// last 100, quarter 25). p[cell][level] is each question's chance of being right.
struct Cell3 {
  std::string method, comp;
  double data;
  int steps;
  double p[4] = {0.5, 0.5, 0.5, 0.5};  // L1..L3 (index 1..3)
};
enum { A25, A100, RAG, C100, D100, E100, N_CELLS };

std::vector<Cell3> null_cells(const double (&p)[4]) {
  std::vector<Cell3> c = {{"lora-r8", "f32", 1.0, 25, {}},  {"lora-r8", "f32", 1.0, 100, {}}, {"rag-bm25", "f32", 1.0, 0, {}},
                          {"lora-r8", "rtn4", 1.0, 100, {}}, {"lora-r8", "f32", 0.25, 100, {}}, {"lora-r8", "rtn4", 0.25, 100, {}}};
  for (auto& x : c)
    for (int l = 1; l <= 3; ++l) x.p[l] = p[l];
  return c;
}

// One synthetic grid: every seed is a user with its own ability (shared by all its cells, as a real user's
// difficulty is), each question a Bernoulli draw.
std::vector<ResultRow> grid(const std::vector<Cell3>& cells, int seeds, const std::map<int, int>& q, std::mt19937_64& rng) {
  std::vector<ResultRow> rows;
  std::uniform_real_distribution<double> ability(-0.1, 0.1);
  for (int s = 0; s < seeds; ++s) {
    const double shift = ability(rng);
    for (const auto& c : cells)
      for (int l = 1; l <= 3; ++l) {
        const int n = q.at(l);
        std::binomial_distribution<int> b(n, std::clamp(c.p[l] + shift, 0.0, 1.0));
        ResultRow r;
        r.run_id = c.method + c.comp + std::to_string(c.data) + std::to_string(s);
        r.base = "b.gguf", r.method = c.method, r.compression = c.comp, r.data = c.data, r.seed = s;
        r.steps = c.steps, r.level = l, r.n_questions = n, r.score = r.em = static_cast<double>(b(rng)) / n;
        rows.push_back(std::move(r));
      }
  }
  return rows;
}

struct Rates {
  double supported = 0, contradicted = 0;
};
// Runs `n` grids through judge() and counts each finding's outcomes.
std::vector<Rates> simulate(const std::vector<Cell3>& cells, int seeds, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto q = design_questions();
  std::vector<Rates> r(3);
  for (int i = 0; i < n; ++i) {
    const auto v = judge(Analysis(grid(cells, seeds, q, rng)));
    for (size_t f = 0; f < 3; ++f) {
      r[f].supported += v[f].outcome() == Outcome::Supported ? 1.0 / n : 0;
      r[f].contradicted += v[f].outcome() == Outcome::Contradicted ? 1.0 / n : 0;
    }
  }
  return r;
}

// Plants an effect of size d in finding f's primary comparison (positive = the paper's direction), spread
// evenly over its cells so that the other findings' primaries stay null.
std::vector<Cell3> planted(int f, double d) {
  auto c = null_cells({0, 0.5, 0.5, 0.5});
  auto add = [&](int cell, int level, double x) {
    for (int l = 1; l <= 3; ++l)
      if (level == 0 || level == l) c[static_cast<size_t>(cell)].p[l] += x;
  };
  if (f == 1) add(A100, 3, d / 4), add(RAG, 3, -d / 4), add(A100, 1, -d / 4), add(RAG, 1, d / 4);
  if (f == 2) add(A25, 0, d / 2), add(A100, 0, -d / 2);
  if (f == 3) add(E100, 0, d / 4), add(D100, 0, -d / 4), add(C100, 0, -d / 4), add(A100, 0, d / 4);
  return c;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("verdicts: bench/study/README.md declares exactly the code's primary comparisons") {
  const std::string readme = read_all(std::string(EDGELLM_SOURCE_DIR) + "/bench/study/README.md");
  REQUIRE(!readme.empty());
  CHECK(readme.find(preregistration_markdown()) != std::string::npos);
  CHECK(findings().size() == 3);
  for (const auto& f : findings()) CHECK(readme.find(f.primary.label) != std::string::npos);
}

TEST_CASE("verdicts: a clear effect either way is supported or contradicted, a missing cell is inconclusive") {
  std::mt19937_64 rng(7);
  const auto q = design_questions();
  for (int f = 1; f <= 3; ++f) {
    auto v = judge(Analysis(grid(planted(f, 0.9), 20, q, rng)));
    CHECK(v[static_cast<size_t>(f - 1)].outcome() == Outcome::Supported);
    v = judge(Analysis(grid(planted(f, -0.9), 20, q, rng)));
    CHECK(v[static_cast<size_t>(f - 1)].outcome() == Outcome::Contradicted);
  }
  auto cells = null_cells({0, 0.5, 0.5, 0.5});
  cells.erase(cells.begin() + C100);  // finding 3 needs rtn4 at all data
  const auto v = judge(Analysis(grid(cells, 5, q, rng)));
  CHECK(v[2].outcome() == Outcome::Inconclusive);
  CHECK(v[2].missing.find("rtn4") != std::string::npos);
  CHECK(v[0].missing.empty());
  // Every seed moved by the same amount: the seeds' spread is zero, the questions' sampling error is not.
  std::vector<ResultRow> same;
  for (const auto& r : grid(null_cells({0, 0.5, 0.5, 0.5}), 3, q, rng)) {
    ResultRow x = r;
    const bool lora100 = x.method == "lora-r8" && x.compression == "f32" && x.data == 1.0 && x.steps == 100;
    if (x.method == "rag-bm25") x.score = x.level == 1 ? 10.0 / 12 : x.level == 3 ? 2.0 / 6 : 0.5;  // RAG: L1 10/12, L3 2/6
    if (lora100) x.score = x.level == 1 ? 0 : x.level == 3 ? 0 : 0.5;                                // lora-r8 at the floor
    same.push_back(x);
  }
  const auto w = judge(Analysis(same));
  CHECK(w[0].primary.test.estimate == doctest::Approx(0.5));  // (0 − 2/6) − (0 − 10/12)
  CHECK(w[0].primary.test.se == doctest::Approx(std::sqrt((10.0 / 12 * 2 / 12 / 12 + 2.0 / 6 * 4 / 6 / 6) / 3)));
  CHECK(w[0].outcome() == Outcome::Inconclusive);  // t = 3.9 on 2 degrees of freedom: p = 0.06
  // Differences in differences of [0, 1] scores span at most 2; an earlier-minus-last difference at most 1.
  CHECK(design_power(v[0]).largest == 2);
  CHECK(design_power(v[1]).largest == 1);
  CHECK(design_power(v[0]).mde > design_power(v[1]).mde);  // four cells, two of them at L3's 6 questions
}

// The design's error rates and power, by simulation: 1,000 grids per case at the grid's own seeds and at
// 20 seeds (the target for the center point).
TEST_CASE("verdicts: null grids are rarely called, planted effects of the stated detectable size mostly are") {
  const auto q = design_questions();
  for (int seeds : {design_seeds(), 20}) {
    CAPTURE(seeds);
    // Null: levels differ in difficulty, methods, budgets, compressions and data amounts do not.
    const auto null = simulate(null_cells({0, 0.6, 0.5, 0.3}), seeds, 1000, 1);
    for (int f = 0; f < 3; ++f) {
      CAPTURE(f + 1);
      CHECK(null[static_cast<size_t>(f)].supported <= 0.05);
      CHECK(null[static_cast<size_t>(f)].contradicted <= 0.05);
    }
    // The detectable size the report states, from the same design (its seeds, the generator's questions).
    std::mt19937_64 rng(2);
    const auto v = judge(Analysis(grid(null_cells({0, 0.5, 0.5, 0.5}), seeds, q, rng)));
    for (int f = 1; f <= 3; ++f) {
      const Power pw = design_power(v[static_cast<size_t>(f - 1)]);
      CAPTURE(f);
      CAPTURE(pw.mde);
      REQUIRE(std::isfinite(pw.mde));
      if (pw.mde / (f == 2 ? 2 : 4) > 0.4) {  // the planted cells would leave [0, 1]: no feasible effect is detectable
        MESSAGE("finding ", f, " at ", seeds, " seeds: minimum detectable effect ", pw.mde, " is not a feasible effect");
        continue;
      }
      const auto hit = simulate(planted(f, pw.mde), seeds, 1000, 100 + static_cast<uint64_t>(f));
      CHECK(hit[static_cast<size_t>(f - 1)].supported >= 0.80);
      for (int g = 1; g <= 3; ++g)
        if (g != f) CHECK(hit[static_cast<size_t>(g - 1)].supported <= 0.05);  // planting one leaves the others null
    }
  }
}
