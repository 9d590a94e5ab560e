// The pre-registered tests of the paper's three findings: one primary comparison each (declared here and
// mirrored in bench/study/README.md before a grid runs), secondary comparisons Holm-corrected, and the
// power of the design. Not the prose: bench/study/guidelines.cpp renders these numbers.
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "bench/study/analysis.h"

namespace edgellm::study {

// The checkpoint a term reads: the reference budget (Analysis::ref_steps, nearest to 100 steps), the last
// checkpoint, or the one nearest (log scale) to a quarter of the last. Non-training methods have none.
enum class Budget { Reference, Last, Quarter };

struct Term {
  double weight = 1;  // the comparison is Σ weight·value per seed
  std::string method, compression = "f32";
  double data = 1.0;
  int level = 0;      // 1..4, or 0: QA accuracy (per seed, the mean of the L1..L3 scores)
  Budget budget = Budget::Reference;
  int steps = 0;      // > 0: this checkpoint, whatever `budget` says (secondary comparisons)
};

// A difference of cells on the center base, paired by seed; positive = the paper's direction.
struct Comparison {
  std::string label;
  std::vector<Term> terms;
};

struct Finding {
  int number = 0;
  std::string claim;      // the paper's finding, as it states it
  std::string direction;  // what a positive primary estimate means
  Comparison primary;
  std::string secondary;  // which comparisons are secondary (generated from the grid's factors)
};
// The pre-registration. bench/study/README.md holds preregistration_markdown() verbatim (a test checks).
const std::vector<Finding>& findings();
std::string preregistration_markdown();

enum class Outcome { Supported, Contradicted, Inconclusive };
const char* outcome_name(Outcome o);  // "supported" | "contradicted" | "inconclusive"

struct Tested {
  Comparison comparison;
  TTest test;            // n = 0 when a cell is missing
  double p_holm = NAN;   // secondaries: Holm-adjusted within the finding's family
  Outcome outcome = Outcome::Inconclusive;
};

struct Verdict {
  const Finding* finding = nullptr;
  Tested primary;
  std::vector<Tested> secondary;
  std::string missing;             // why the primary could not be tested (empty when it was)
  int units = 0;                   // seeds paired in the primary (the grid's seeds when it is missing)
  std::map<int, int> questions;    // level -> questions per seed, from the rows
  Outcome outcome() const { return primary.outcome; }
};

// Tests every finding on the center base at two-sided level alpha: supported when the primary comparison
// is significant in the paper's direction, contradicted when significant the other way, else inconclusive.
std::vector<Verdict> judge(const Analysis& a, double alpha = 0.05);

// The per-seed standard deviation of a comparison under the study's noise model: each question an
// independent fair coin (p = 1/2, the largest Bernoulli variance) at the design's question counts, cells
// independent given the seed. Var = Σ w²·Var(term); a level term's Var is 1/(4·n_l), QA's (1/9)·Σ 1/(4·n_l).
double design_sd(const Comparison& c, const std::map<int, int>& questions_per_level);

// The detectable effect the study claims: power ≥ 80%. It is computed at 85% under normal noise
// (t_test_power): at exactly 80% the Bernoulli answers of a simulated grid land on either side of 80% by
// chance (1,000 grids: ±1.3 points), and a claim should hold, not hold on average.
constexpr double kClaimedPower = 0.80, kDesignPower = 0.85;
struct Power {
  double sd = NAN;          // design_sd of the primary
  double mde = NAN;         // minimum detectable effect: detected with power ≥ kClaimedPower (two-sided α = 0.05)
  double power_10pp = NAN;  // power against a 10-point effect
  double largest = NAN;     // the largest difference the comparison can show (scores in [0, 1]): Σ of positive weights
};
Power design_power(const Verdict& v);

}  // namespace edgellm::study
