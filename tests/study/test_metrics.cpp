// Tests of the study's answer metrics on hand-computed cases. Not the grid's averaging.
#include <doctest/doctest.h>

#include "bench/study/metrics.h"

using namespace edgellm::study;

TEST_CASE("metrics: normalisation and exact match") {
  CHECK(normalize_answer("  The Blue   Bakery! ") == "blue bakery");
  CHECK(normalize_answer("an engineer.") == "engineer");
  CHECK(normalize_answer("Yoga on Tuesday-evening") == "yoga on tuesday evening");
  CHECK(exact_match("Oslo.", "oslo"));
  CHECK(exact_match("a red volvo", "Red Volvo"));
  CHECK_FALSE(exact_match("oslo norway", "oslo"));
  CHECK_FALSE(exact_match("", "oslo"));
  CHECK(exact_match("the", ""));  // both normalise to nothing
}

TEST_CASE("metrics: token F1") {
  CHECK(token_f1("oslo", "oslo") == doctest::Approx(1.0));
  CHECK(token_f1("rome", "oslo") == 0.0);
  // pred {spaghetti, with, clams, today} vs gold {spaghetti, with, clams}: P 3/4, R 1, F1 6/7.
  CHECK(token_f1("spaghetti with clams today", "spaghetti with clams") == doctest::Approx(6.0 / 7.0));
  // pred {tuesday, evening} vs gold {yoga, on, tuesday, evening}: P 1, R 1/2, F1 2/3.
  CHECK(token_f1("Tuesday evening", "yoga on tuesday evening") == doctest::Approx(2.0 / 3.0));
  // Repeated tokens count once per occurrence in the gold: pred {a? no: tea, tea} vs gold {tea}: P 1/2, R 1.
  CHECK(token_f1("tea tea", "tea") == doctest::Approx(2.0 / 3.0));
  CHECK(token_f1("the", "a") == 1.0);
  CHECK(token_f1("", "oslo") == 0.0);
}

TEST_CASE("metrics: ROUGE-L") {
  CHECK(rouge_l("hey Paul, see you soon", "hey paul see you soon") == doctest::Approx(1.0));
  // pred: "the cat sat on mat" (5), gold: "the cat was on the mat" (6); LCS "the cat on mat" = 4.
  // P 4/5, R 4/6, F = 2*(0.8*0.6667)/(1.4667) = 0.72727...
  CHECK(rouge_l("the cat sat on mat", "the cat was on the mat") == doctest::Approx(2 * 0.8 * (4.0 / 6) / (0.8 + 4.0 / 6)));
  // Order matters: reversed tokens share an LCS of 1. P = R = 1/3.
  CHECK(rouge_l("c b a", "a b c") == doctest::Approx(1.0 / 3.0));
  CHECK(rouge_l("x y", "a b c") == 0.0);
  CHECK(rouge_l("", "") == 1.0);
}
