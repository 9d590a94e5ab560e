// Tests of the study's BPE trainer: round trip through edgellm's tokenizer, determinism, GGUF round trip.
// Not a quality test of the merges beyond "common words become one piece".
#include <doctest/doctest.h>

#include <filesystem>

#include "bench/study/bpe_train.h"
#include "models/builtin.h"
#include "models/runner.h"
#include "models/save_gguf.h"

using namespace edgellm;
using namespace edgellm::study;

namespace {

std::vector<std::string> sample_texts() {
  std::vector<std::string> t;
  const char* lines[] = {
      "user: Maria Lopez\ndiary day 3: my brother Tom moved to Lisbon last week.\n",
      "question: where does my brother live?\nanswer: Lisbon\n",
      "message day 12: the cat is called Pepper, she is 4 years old!\n",
      "note day 40: dentist on Tuesday at 10:30, then lunch with Anna.\n",
  };
  for (int r = 0; r < 30; ++r)
    for (const char* l : lines) t.emplace_back(l);
  t.emplace_back("A fortune: \"Never trust a computer you can't throw out a window.\" -- Steve Wozniak\n");
  return t;
}

}  // namespace

TEST_CASE("train_bpe: ASCII text round-trips and common words become single pieces") {
  BpeTrainOptions o;
  o.vocab_size = 420;
  const TokenizerVocab v = train_bpe(sample_texts(), o);
  CHECK(v.tokens.size() <= 420);
  CHECK(v.tokens.size() > 259 + 95);
  auto tok = make_tokenizer(v);
  for (const std::string& s :
       {std::string("user: Maria Lopez\nquestion: where does my brother live?\nanswer: Lisbon\n"),
        std::string("  two  spaces, tabs\tand unseen words like Zyxwv 12345 ~!@#$%^&*()\n\n"),
        std::string("non-ASCII: caf\xC3\xA9 and \xFF\xFE stray bytes"), std::string(""), std::string(" "),
        std::string("\n")}) {
    const auto ids = tok->encode(s);
    CHECK(tok->decode(ids) == s);
  }
  // Frequent words are whole pieces; digits stay one per token.
  const auto ids = tok->encode("my brother");
  CHECK(ids.size() <= 3);
  CHECK(tok->encode("2024").size() == 4);
  // A prompt and its answer encoded apart concatenate to the whole (the answer starts with a space).
  auto a = tok->encode("question: where does my brother live?\nanswer:");
  const auto b = tok->encode(" Lisbon\n");
  a.insert(a.end(), b.begin(), b.end());
  CHECK(a == tok->encode("question: where does my brother live?\nanswer: Lisbon\n"));
}

TEST_CASE("train_bpe: deterministic and sensitive to its input") {
  BpeTrainOptions o;
  o.vocab_size = 400;
  const TokenizerVocab a = train_bpe(sample_texts(), o), b = train_bpe(sample_texts(), o);
  CHECK(a.tokens == b.tokens);
  CHECK(a.scores == b.scores);
  auto other = sample_texts();
  for (int r = 0; r < 200; ++r) other.emplace_back("zzzq qqqz zzzq qqqz");
  CHECK(train_bpe(other, o).tokens != a.tokens);
}

TEST_CASE("train_bpe: the vocabulary survives a GGUF round trip") {
  BpeTrainOptions o;
  o.vocab_size = 384;
  Model m;
  m.tokenizer = make_tokenizer(train_bpe(sample_texts(), o));
  LlamaConfig c = builtin_config("tiny");
  c.vocab = m.tokenizer->vocab_size();
  m.llama = make_builtin_model(c, 1);
  const std::string path = (std::filesystem::temp_directory_path() / "edgellm_bpe_roundtrip.gguf").string();
  save_llama_gguf(m, path, DType::F16);
  Model back = load_model(path);
  const std::string s = "diary day 3: my brother Tom moved to Lisbon.\nanswer: Lisbon\n";
  CHECK(back.tokenizer->encode(s) == m.tokenizer->encode(s));
  CHECK(back.tokenizer->decode(back.tokenizer->encode(s)) == s);
  std::filesystem::remove(path);
}
