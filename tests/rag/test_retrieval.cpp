// Tests of retrieval: the word splitter, BM25 against hand-computed scores, dense top-k against brute
// force (f32 GEMM and int8), reciprocal-rank fusion, and BM25 Recall@5 on 1,000 generated facts.
// Not file tests (test_index_file.cpp) and not ingestion tests (test_ingest.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "rag/bm25.h"
#include "rag/dense.h"
#include "rag/index.h"
#include "runtime/error.h"

using namespace edgellm;
using namespace edgellm::rag;

TEST_CASE("retrieval_words: Unicode letters and numbers, lowercased") {
  const auto w = retrieval_words("Zoë's CAFÉ, Привет МИР — 42km; ΑΘΗΝΑ x_y");
  const std::vector<std::string> expect = {"zoë", "s", "café", "привет", "мир", "42km", "αθηνα", "x", "y"};
  CHECK(w == expect);
  CHECK(retrieval_words("  ...  ").empty());
}

TEST_CASE("BM25 scores equal the hand-computed Okapi/Lucene-IDF values") {
  // N = 3, |d| = 3, 6, 3, avgdl = 4, k1 = 1.2, b = 0.75.
  // idf(df=1) = ln(1 + 2.5/1.5) = 0.980829, idf(df=2) = ln(1 + 1.5/2.5) = 0.470004
  // tf part: tf·2.2 / (tf + 1.2·(0.25 + 0.75·|d|/4)): |d|=3,tf=1 -> 1.113924; |d|=6,tf=1 -> 0.830189; |d|=6,tf=2 -> 1.205479
  Bm25Index ix;
  ix.build({"The cat sat.", "the dog sat on the mat", "Cats and dogs"});
  CHECK(ix.avgdl == doctest::Approx(4.0));
  auto s = ix.score_all("cat sat");
  CHECK(s[0] == doctest::Approx(1.6161176).epsilon(1e-6));  // (0.980829 + 0.470004)·1.113924
  CHECK(s[1] == doctest::Approx(0.3901917).epsilon(1e-6));  // 0.470004·0.830189
  CHECK(s[2] == 0.0f);                                      // "cats" is not "cat": no stemming
  s = ix.score_all("the THE");                              // repeated query words count once
  CHECK(s[0] == doctest::Approx(0.5235483).epsilon(1e-6));
  CHECK(s[1] == doctest::Approx(0.5665797).epsilon(1e-6));
  auto top = ix.search("cat sat", 5);
  REQUIRE(top.size() == 2);
  CHECK(top[0].chunk == 0);
  CHECK(top[1].chunk == 1);
  // k1 and b are settable: b = 0 removes length normalisation.
  ix.params.b = 0;
  s = ix.score_all("sat");
  CHECK(s[0] == doctest::Approx(s[1]));
}

TEST_CASE("dense top-k equals brute force (f32 GEMM, blocks of chunks, several queries)") {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  for (int64_t N : {1, 7, 257, 20011}) {
    const int64_t C = 33, Q = 3;
    std::vector<float> v(N * C), q(Q * C);
    for (auto& x : v) x = nd(rng);
    for (auto& x : q) x = nd(rng);
    DenseStore st;
    st.dim = C;
    st.append(v.data(), N);
    const size_t k = 10;
    auto got = dense_search(st, q.data(), Q, k);
    for (int64_t qi = 0; qi < Q; ++qi) {
      std::vector<std::pair<double, uint32_t>> ref;
      for (int64_t i = 0; i < N; ++i) {
        double d = 0;
        for (int64_t j = 0; j < C; ++j) d += static_cast<double>(q[qi * C + j]) * v[i * C + j];
        ref.push_back({-d, static_cast<uint32_t>(i)});
      }
      std::sort(ref.begin(), ref.end());
      const size_t kk = std::min<size_t>(k, N);
      REQUIRE(got[qi].size() == kk);
      for (size_t r = 0; r < kk; ++r) {
        CHECK(got[qi][r].chunk == ref[r].second);
        CHECK(got[qi][r].score == doctest::Approx(-ref[r].first).epsilon(1e-4));
      }
    }
  }
}

TEST_CASE("int8 vectors: scalar dot reference, per-vector scales, top-k close to f32") {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd;
  const int64_t N = 2000, C = 64;
  std::vector<float> v(N * C), q(C);
  for (auto& x : v) x = nd(rng);
  for (int64_t i = 0; i < N; ++i) l2_normalize(v.data() + i * C, C);
  for (auto& x : q) x = nd(rng);
  l2_normalize(q.data(), C);
  DenseStore f, i8;
  f.dim = i8.dim = C;
  i8.int8 = true;
  f.append(v.data(), N);
  i8.append(v.data(), N);
  // Dequantized rows are within half a step of the originals.
  std::vector<float> row(C);
  for (int64_t i = 0; i < N; i += 97) {
    i8.row(i, row.data());
    for (int64_t j = 0; j < C; ++j) CHECK(std::fabs(row[j] - v[i * C + j]) <= 0.5f * i8.scale[i] + 1e-7f);
  }
  // The int8 score is exactly scale·dot_f32_i8_ref, which agrees with a double sum.
  double d = 0;
  for (int64_t j = 0; j < C; ++j) d += static_cast<double>(q[j]) * i8.q[5 * C + j];
  CHECK(dot_f32_i8_ref(q.data(), i8.q + 5 * C, C) == doctest::Approx(d).epsilon(1e-5));
  auto a = dense_search(f, q.data(), 1, 10)[0], b = dense_search(i8, q.data(), 1, 10)[0];
  for (const auto& h : b)  // the GEMM path equals the scalar reference
    CHECK(h.score == doctest::Approx(i8.scale[h.chunk] * dot_f32_i8_ref(q.data(), i8.q + h.chunk * C, C)).epsilon(1e-5));
  int common = 0;
  for (auto& x : a)
    for (auto& y : b) common += x.chunk == y.chunk;
  CHECK(common >= 8);
  for (size_t r = 0; r < 10; ++r) CHECK(std::fabs(a[r].score - b[r].score) < 0.02f);
}

TEST_CASE("reciprocal-rank fusion ranks by sum of 1/(k + rank)") {
  std::vector<Scored> bm = {{1, 9}, {2, 8}, {3, 7}}, dn = {{3, 0.9f}, {1, 0.8f}, {4, 0.7f}};
  auto f = rrf_fuse({bm, dn}, 60, 10);
  REQUIRE(f.size() == 4);
  // 1: 1/61 + 1/62, 3: 1/63 + 1/61, 2: 1/62, 4: 1/63
  CHECK(f[0].chunk == 1);
  CHECK(f[0].score == doctest::Approx(1.0 / 61 + 1.0 / 62));
  CHECK(f[1].chunk == 3);
  CHECK(f[1].score == doctest::Approx(1.0 / 63 + 1.0 / 61));
  CHECK(f[2].chunk == 2);
  CHECK(f[3].chunk == 4);
  // Ties go to the lower chunk index; k cuts.
  auto t = rrf_fuse({{{5, 1}}, {{2, 1}}}, 60, 1);
  REQUIRE(t.size() == 1);
  CHECK(t[0].chunk == 2);
  CHECK(mode_from_name("hybrid") == Mode::Hybrid);
  CHECK_THROWS_AS(mode_from_name("sparse"), Error);
}

// ---- Recall@5 on generated personal facts --------------------------------------------------------

namespace {

struct Fact {
  std::string text, question;
};

std::vector<Fact> make_facts(int n) {
  static const char* first[] = {"Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines",
                                "Jonas", "Kemal", "Lucia", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa",
                                "Samir", "Tomoko", "Ugo", "Vera", "Wen", "Ximena", "Yusuf", "Zofia", "Amara",
                                "Bjorn", "Chen", "Dalia", "Emeka", "Freya"};
  static const char* last[] = {"Abbott", "Becker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen",
                               "Ivanova", "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov",
                               "Quinn", "Rossi", "Silva", "Tanaka", "Umar", "Varga", "Weber", "Xu", "Yilmaz",
                               "Zhang", "Almeida", "Brennan", "Castillo", "Dietrich", "Engel", "Ferreira", "Gallo",
                               "Horvat", "Ito"};
  static const char* city[] = {"Lisbon", "Oslo", "Kyoto", "Nairobi", "Quito", "Tallinn", "Porto", "Hanoi",
                               "Cusco", "Dakar", "Bergen", "Krakow", "Perth", "Tbilisi", "Valencia", "Zagreb"};
  static const char* job[] = {"carpenter", "nurse", "pilot", "baker", "architect", "librarian", "plumber",
                              "chemist", "teacher", "translator", "welder", "veterinarian", "florist", "surveyor"};
  static const char* pet[] = {"cat", "dog", "parrot", "tortoise", "rabbit", "hamster", "goldfish", "ferret"};
  static const char* pname[] = {"Biscuit", "Pepper", "Mango", "Shadow", "Noodle", "Pixel", "Waffles", "Comet",
                                "Juniper", "Pickles", "Ziggy", "Marble"};
  std::vector<Fact> out;
  uint64_t s = 12345;
  auto rnd = [&](uint64_t m) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return (s >> 33) % m;
  };
  constexpr size_t nf = std::size(first), nl = std::size(last);
  static_assert(nf * nl >= 1000);
  for (int i = 0; i < n; ++i) {
    // Distinct full names: a fixed permutation of the (first, last) grid.
    const size_t idx = (static_cast<size_t>(i) * 677) % (nf * nl);
    const std::string name = std::string(first[idx % nf]) + " " + last[idx / nf];
    const char* c = city[rnd(std::size(city))];
    const char* j = job[rnd(std::size(job))];
    const char* p = pet[rnd(std::size(pet))];
    const char* pn = pname[rnd(std::size(pname))];
    Fact f;
    f.text = fmt::format("{} lives in {} and works as a {}. {} has a {} named {}.", name, c, j, first[idx % nf], p, pn);
    switch (rnd(3)) {
      case 0: f.question = fmt::format("Which city does {} live in?", name); break;
      case 1: f.question = fmt::format("What is the job of {}?", name); break;
      default: f.question = fmt::format("What is the name of the {} that {} has?", p, name); break;
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

TEST_CASE("BM25 Recall@5 >= 0.95 on 1,000 generated personal facts") {
  const auto facts = make_facts(1000);
  std::vector<std::string_view> texts;
  for (const auto& f : facts) texts.push_back(f.text);
  Bm25Index ix;
  ix.build(texts);
  int hit = 0;
  for (size_t i = 0; i < facts.size(); ++i) {
    auto top = ix.search(facts[i].question, 5);
    for (const auto& t : top) hit += t.chunk == i;
  }
  const double recall = hit / 1000.0;
  MESSAGE("BM25 Recall@5 on 1,000 facts: " << recall);
  CHECK(recall >= 0.95);
}
