// Training data: prompt tokens masked, BOS never a target, EOS scored; packing covers every scored
// token once per epoch in a seeded order; bad JSONL names the file and line.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "models/runner.h"
#include "runtime/arena.h"
#include "runtime/error.h"
#include "train/data.h"

using namespace edgellm;

namespace {

std::string write_tmp(const std::string& name, const std::string& text) {
  const std::string p = (std::filesystem::temp_directory_path() / (std::to_string(getpid()) + "_" + name)).string();
  std::ofstream(p) << text;
  return p;
}

}  // namespace

TEST_CASE("prompt/response: loss on the response and EOS only; text: everything but BOS") {
  auto tok = builtin_tokenizer(512);
  const Example e = example_from_prompt("ab", "cd", *tok);
  // builtin: BOS, bytes as <0xNN> (id 3 + byte), EOS
  const std::vector<int32_t> want = {1, 3 + 'a', 3 + 'b', 3 + 'c', 3 + 'd', 2};
  CHECK(e.ids == want);
  CHECK(e.target == std::vector<uint8_t>{0, 0, 0, 1, 1, 1});
  const Example t = example_from_text("xy", *tok);
  CHECK(t.ids == std::vector<int32_t>{1, 3 + 'x', 3 + 'y', 2});
  CHECK(t.target == std::vector<uint8_t>{0, 1, 1, 1});
}

TEST_CASE("prompt/response with a SentencePiece tokenizer: the prompt's tokens are the masked prefix") {
  Model m = load_model(std::string(EDGELLM_FIXTURES_DIR) + "/tiny-llama/model");
  const Example e = example_from_prompt("Question: what is two plus two? Answer:", " four", *m.tokenizer);
  const std::vector<int32_t> p = m.tokenizer->encode("Question: what is two plus two? Answer:");
  REQUIRE(e.ids.size() > p.size() + 2);
  for (size_t i = 0; i <= p.size(); ++i) CHECK(e.target[i] == 0);  // BOS + prompt
  for (size_t i = p.size() + 1; i < e.ids.size(); ++i) CHECK(e.target[i] == 1);
  CHECK(e.ids.back() == m.tokenizer->eos_id());
}

TEST_CASE("packing: each scored token is a target exactly once per epoch; order is seeded") {
  auto tok = builtin_tokenizer(512);
  std::vector<Example> ex;
  for (int i = 0; i < 7; ++i) ex.push_back(example_from_prompt("p" + std::to_string(i), "response " + std::to_string(i), *tok));
  int64_t scored = 0, all = 0;
  for (const auto& e : ex)
    for (size_t i = 0; i < e.ids.size(); ++i) scored += e.target[i], ++all;
  const int64_t T = 16;
  PackedData d(ex, T, 7);
  CHECK(d.rows_per_epoch() == (all - 1 + T - 1) / T);
  auto epoch_targets = [&](PackedData& pd, int64_t epoch) {
    std::vector<int32_t> ids(T), tgt(T), seq;
    int64_t n = 0;
    for (int64_t r = 0; r < pd.rows_per_epoch(); ++r) {
      pd.row(epoch * pd.rows_per_epoch() + r, ids.data(), tgt.data());
      for (int64_t t = 0; t < T; ++t) {
        n += tgt[t] >= 0;
        seq.push_back(ids[t]);
        CHECK(tgt[t] != 1);  // BOS is never a target
      }
    }
    CHECK(n == scored);
    return seq;
  };
  const auto e0 = epoch_targets(d, 0), e1 = epoch_targets(d, 1);
  CHECK(e0 != e1);  // reshuffled per epoch
  PackedData same(ex, T, 7), other(ex, T, 8);
  CHECK(epoch_targets(same, 0) == e0);
  CHECK(epoch_targets(other, 0) != e0);
  // Row r's targets are the next tokens of the stream.
  std::vector<int32_t> ids(T), tgt(T), ids2(T), tgt2(T);
  d.row(0, ids.data(), tgt.data());
  d.row(1, ids2.data(), tgt2.data());
  for (int64_t t = 0; t + 1 < T; ++t)
    if (tgt[t] >= 0) CHECK(tgt[t] == ids[t + 1]);
  if (tgt[T - 1] >= 0) CHECK(tgt[T - 1] == ids2[0]);
}

TEST_CASE("load_examples: JSONL kinds, plain text paragraphs, errors naming file and line") {
  auto tok = builtin_tokenizer(512);
  const std::string ok = write_tmp("ok.jsonl", "{\"prompt\": \"a\", \"response\": \"b\"}\n\n{\"text\": \"cd\"}\n");
  CHECK(load_examples(ok, *tok).size() == 2);
  const std::string txt = write_tmp("p.txt", "first paragraph\nstill first\n\nsecond\n");
  const auto pe = load_examples(txt, *tok);
  REQUIRE(pe.size() == 2);
  CHECK(pe[0].ids.size() == 1 + std::string("first paragraph\nstill first").size() + 1);
  const std::string bad = write_tmp("bad.jsonl", "{\"text\": \"fine\"}\n{\"text\": oops}\n");
  CHECK_THROWS_WITH_AS(load_examples(bad, *tok), doctest::Contains((bad + ": line 2: invalid JSON").c_str()), FormatError);
  const std::string nokey = write_tmp("nokey.jsonl", "{\"text\": \"fine\"}\n{\"prompt\": \"x\"}\n");
  CHECK_THROWS_WITH_AS(load_examples(nokey, *tok), doctest::Contains("line 2: \"prompt\" needs \"response\" beside it"), FormatError);
  const std::string nostr = write_tmp("nostr.jsonl", "{\"text\": 5}\n");
  CHECK_THROWS_WITH_AS(load_examples(nostr, *tok), doctest::Contains("line 1: \"text\" must be a string"), FormatError);
  CHECK_THROWS_AS(load_examples("/nonexistent/data.jsonl", *tok), Error);
  for (const auto& p : {ok, txt, bad, nokey, nostr}) std::filesystem::remove(p);
}

TEST_CASE("load_examples within --mem-budget: a line or a file too large is refused naming it; a folder is named") {
  auto tok = builtin_tokenizer(512);
  const std::string dir = std::filesystem::temp_directory_path().string();
  CHECK_THROWS_WITH_AS(load_examples(dir, *tok), doctest::Contains((dir + ": is a directory").c_str()), Error);
  // One 6 MiB line against 4 MiB of room: refused while it is read, naming the file and the budget.
  const std::string big = write_tmp("big.jsonl", "{\"text\": \"" + std::string(6u << 20, 'a') + "\"}\n");
  const size_t saved = default_arena().budget(), before = default_arena().in_use();
  default_arena().set_budget(before + (4u << 20));
  CHECK_THROWS_WITH_AS(load_examples(big, *tok), doctest::Contains(big.c_str()), BudgetError);
  CHECK_THROWS_WITH_AS(load_examples("/dev/zero", *tok), doctest::Contains("/dev/zero"),
                       BudgetError);
  CHECK(default_arena().in_use() == before);
  default_arena().set_budget(saved);
  // The same line with no budget loads, and its tokens are charged while the examples live.
  {
    const auto ex = load_examples(big, *tok);
    REQUIRE(ex.size() == 1);
    CHECK(ex[0].ids.size() == (6u << 20) + 2);
    PackedData d(std::vector<Example>(ex), 64, 1);
    CHECK(default_arena().in_use() >= before + 2 * ex[0].ids.size() * 5);
  }
  CHECK(default_arena().in_use() == before);
  std::filesystem::remove(big);
}

TEST_CASE("encode_long: the same ids as encode() on a long text cut into pieces") {
  auto tok = builtin_tokenizer(512);
  std::string text;
  for (int i = 0; text.size() < 5 * kEncodePieceBytes; ++i)
    text += fmt::format("Line {} of the text, with words.{}", i, i % 7 == 0 ? "\n\n" : " ");
  EncodeOptions opt;
  opt.add_bos = true;
  const auto whole = tok->encode(text, opt);
  const auto pieces = tok->encode_long(text, opt, "test tokens");
  CHECK(pieces.vec() == whole);
}

TEST_CASE("chat records: only the assistant turns (with the template's end-of-turn) are scored; no template, no chat") {
  auto tok = builtin_tokenizer(512);
  const std::string chat = write_tmp(
      "chat.jsonl",
      "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"},"
      " {\"role\": \"user\", \"content\": \"ok\"}, {\"role\": \"assistant\", \"content\": \"k\"}]}\n"
      "{\"text\": \"t\"}\n{\"prompt\": \"p\", \"response\": \"r\"}\n");
  const ChatTemplate chatml = ChatFormat::ChatML;
  const auto ex = load_examples(chat, *tok, &chatml);
  REQUIRE(ex.size() == 3);
  // The scored bytes, in order, are exactly the two replies, each closed as ChatML closes a turn.
  std::string scored, unscored;
  for (size_t i = 0; i < ex[0].ids.size(); ++i) {
    const int32_t id = ex[0].ids[i];
    const char c = id >= 3 && id < 259 ? static_cast<char>(id - 3) : '#';
    (ex[0].target[i] ? scored : unscored) += c;
  }
  CHECK(scored == "yo<|im_end|>\nk<|im_end|>\n");
  CHECK(unscored == "#<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<|im_start|>user\nok<|im_end|>\n"
                    "<|im_start|>assistant\n");
  CHECK(ex[0].line == 1);
  CHECK(ex[2].line == 3);
  CHECK_THROWS_WITH_AS(load_examples(chat, *tok), doctest::Contains((chat + ": line 1: \"messages\" need a chat template").c_str()),
                       FormatError);
  const std::string noreply = write_tmp("noreply.jsonl", "{\"text\": \"t\"}\n{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n");
  CHECK_THROWS_WITH_AS(load_examples(noreply, *tok, &chatml), doctest::Contains("line 2: \"messages\": a chat example needs"),
                       FormatError);
}
