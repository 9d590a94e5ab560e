// Inputs the fuzz work (tests/fuzz) found crashing the tokenizer loaders, kept as bytes (each must now be a
// FormatError), the tokenizer limits, and a model file truncated under the process. Not a fuzzer: run.sh is.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "models/hf_config.h"
#include "models/load_model.h"
#include "models/runner.h"
#include "models/save_gguf.h"
#include "models/tokenizer.h"
#include "runtime/error.h"
#include "runtime/gguf.h"
#include "runtime/mmap_file.h"
#include "runtime/safetensors.h"
#include "train/lora_io.h"

using namespace edgellm;

namespace {
std::string bytes(std::initializer_list<unsigned char> b) { return std::string(b.begin(), b.end()); }
}  // namespace

// fuzz_tokenizer_model: a byte piece "<0x-4>" was parsed by sscanf("%2x") as 0xFFFFFFFC and used as an index
// into the 256-entry byte table (UBSan: index 4294967292 out of bounds). Minimized by hand from the crash input.
TEST_CASE("fuzz regression: tokenizer.model byte piece with a sign is rejected") {
  const std::string model = bytes({
      0x0a, 0x09, 0x0a, 0x05, '<', 'u', 'n', 'k', '>', 0x18, 0x02,        // pieces { piece: "<unk>" type: UNKNOWN }
      0x0a, 0x07, 0x0a, 0x03, '<', 's', '>', 0x18, 0x03,                   // pieces { piece: "<s>" type: CONTROL }
      0x0a, 0x08, 0x0a, 0x04, '<', '/', 's', '>', 0x18, 0x03,              // pieces { piece: "</s>" type: CONTROL }
      0x0a, 0x0a, 0x0a, 0x06, '<', '0', 'x', '-', '4', '>', 0x18, 0x06,   // pieces { piece: "<0x-4>" type: BYTE }
      0x12, 0x02, 0x18, 0x02,                                             // trainer_spec { model_type: BPE }
  });
  TokenizerVocab v = parse_sentencepiece_model(model, "crash.model");
  CHECK_THROWS_AS(make_tokenizer(v), FormatError);
  v.tokens[3] = "<0x 4>";  // sscanf also skipped blanks
  CHECK_THROWS_AS(make_tokenizer(v), FormatError);
  v.tokens[3] = "<0x4A>";
  CHECK(make_tokenizer(v)->vocab_size() == 4);
}

// Found by review while writing fuzz_tokenizer_json (a Unigram seed was missing): model.unk_id was taken as
// int32 unchecked and used to index the type table; a JSON value of the wrong type escaped as nlohmann's
// type_error instead of a FormatError.
TEST_CASE("fuzz regression: tokenizer.json unk_id out of range and wrong value types are FormatErrors") {
  const std::string unigram = R"({"model":{"type":"Unigram","unk_id":UNK,"vocab":[["<unk>",0],["a",-1]]},
                                  "pre_tokenizer":{"type":"Metaspace","prepend_scheme":"always"}})";
  auto with = [&](const std::string& unk) { return std::string(unigram).replace(unigram.find("UNK"), 3, unk); };
  CHECK(parse_hf_tokenizer_json(with("0"), "ok.json").unk_id == 0);
  CHECK_THROWS_AS(parse_hf_tokenizer_json(with("2"), "unk.json"), FormatError);
  CHECK_THROWS_AS(parse_hf_tokenizer_json(with("-7"), "unk.json"), FormatError);
  CHECK_THROWS_AS(parse_hf_tokenizer_json(with("4294967296"), "unk.json"), FormatError);
  // "special" must be a bool, "content" a string, "byte_fallback" a bool.
  CHECK_THROWS_AS(parse_hf_tokenizer_json(R"({"model":{"type":"BPE","vocab":{"a":0}},"added_tokens":[{"id":0,"content":"a","special":"yes"}]})", "t.json"), FormatError);
  CHECK_THROWS_AS(parse_hf_tokenizer_json(R"({"model":{"type":"BPE","vocab":{"a":0}},"added_tokens":[{"id":0,"content":7}]})", "t.json"), FormatError);
  CHECK_THROWS_AS(parse_hf_tokenizer_json(R"({"model":{"type":"BPE","vocab":{"a":0},"byte_fallback":1}})", "t.json"), FormatError);
}

TEST_CASE("untrusted-input limits: tokenizer vocabulary size") {
  TokenizerVocab v;
  v.model = "llama";
  v.tokens.assign(kTokenizerMaxVocab + 1, "x");
  v.scores.assign(v.tokens.size(), 0.0f);
  CHECK_THROWS_AS(make_tokenizer(v), FormatError);
  CHECK_THROWS_AS(parse_hf_tokenizer_json(R"({"model":{"type":"BPE","vocab":{"a":0}},"added_tokens":[{"id":2097152,"content":"b"}]})", "t.json"), FormatError);
}

TEST_CASE("GPT-2 encoder.json + vocab.bpe: malformed files are FormatErrors naming the file; merges are bounded") {
  const std::string enc = R"({"a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3})";
  auto tok = make_tokenizer(parse_gpt2_encoder(enc, "e.json", "#version: 0.2\r\na b\r\n", "v.bpe"));
  CHECK(tok->vocab_size() == 4);
  CHECK(tok->encode("ab", {}) == std::vector<int32_t>{2});
  CHECK_THROWS_WITH_AS(parse_gpt2_encoder("[1]", "e.json", "", "v.bpe"), doctest::Contains("e.json"), FormatError);
  CHECK_THROWS_WITH_AS(parse_gpt2_encoder(R"({"a": 1})", "e.json", "", "v.bpe"), doctest::Contains("e.json: a"), FormatError);
  CHECK_THROWS_WITH_AS(parse_gpt2_encoder(R"({"a": 0, "b": 0})", "e.json", "", "v.bpe"), doctest::Contains("without repeats"), FormatError);
  // One merge per 4 bytes: past kTokenizerMaxMerges the parser stops at the line, not after building them all.
  std::string many;
  many.reserve((kTokenizerMaxMerges + 1) * 4);
  for (size_t i = 0; i <= kTokenizerMaxMerges; ++i) many += "a b\n";
  CHECK_THROWS_WITH_AS(parse_gpt2_encoder(enc, "e.json", many, "v.bpe"), doctest::Contains("v.bpe: merges"), FormatError);
}

// Fault: a mapped model file truncated after it was opened is reported as an Error before the weights are read
// (instead of a SIGBUS on the first lost page).
TEST_CASE("a model file truncated after load is detected before use") {
  const std::string path = (std::filesystem::temp_directory_path() / ("edgellm_trunc_" + std::to_string(::getpid()) + ".gguf")).string();
  {
    Model src = load_model("builtin:tiny");
    save_llama_gguf(src, path);
  }
  Model m = load_model(path);
  CHECK_NOTHROW(check_model_files(m.llama));
  CHECK(all_logits(m, {1, 2}).size() == 2 * static_cast<size_t>(m.llama.config.vocab));
  std::filesystem::resize_file(path, 4096);
  CHECK_THROWS_AS(check_model_files(m.llama), Error);
  CHECK_THROWS_AS(all_logits(m, {1, 2}), Error);
  std::filesystem::remove(path);
}

// Found by review after fix 11 (safetensors_dir): std::filesystem's throwing queries (is_directory, exists) raise
// filesystem_error, not an edgellm::Error, on a path the OS rejects (ENAMETOOLONG), so a caller catching Error
// would terminate. Every loader must turn such a path into an Error naming it.
TEST_CASE("a path the filesystem rejects (too long) is an edgellm::Error from every loader") {
  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::string long_name = dir + "/" + std::string(5000, 'x');
  for (const std::string& p : {long_name, long_name + ".gguf", long_name + "/config.json"}) {
    CAPTURE(p.size());
    CHECK_THROWS_AS(load_model(p), Error);
    CHECK_THROWS_AS(load_tokenizer(p), Error);
    CHECK_THROWS_AS(load_hf_config(p), Error);
    CHECK_THROWS_AS(GgufFile::open(p), Error);
    CHECK_THROWS_AS(SafetensorsFile::open(p), Error);
    CHECK_THROWS_AS(SafetensorsDir::open(p), Error);
    CHECK_THROWS_AS(load_hf_tokenizer_json(p), Error);
    CHECK_THROWS_AS(load_sentencepiece_model(p), Error);
    Model m = load_model("builtin:tiny");
    CHECK_THROWS_AS(load_lora(m.llama, p), Error);
  }
}

// Found by review with the case above: a model path naming a FIFO blocked forever in open() waiting for a writer,
// and a bounded text read of a device (/dev/zero) read without end before checking its limit.
TEST_CASE("a FIFO given as a model is refused at once; a device read as a text file stops at the limit") {
  const std::string fifo = (std::filesystem::temp_directory_path() / ("edgellm-fifo-" + std::to_string(getpid()))).string();
  std::filesystem::remove(fifo);
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(GgufFile::open(fifo), doctest::Contains("not a regular file"), Error);
  CHECK_THROWS_WITH_AS(SafetensorsFile::open(fifo), doctest::Contains("not a regular file"), Error);
  CHECK_THROWS_AS(load_model(fifo), Error);
  std::filesystem::remove(fifo);
  CHECK_THROWS_WITH_AS(read_file("/dev/zero", 3u << 20), doctest::Contains("more than 3145728 bytes"), Error);
  CHECK_THROWS_AS(load_hf_tokenizer_json("/dev/zero"), Error);
  CHECK_THROWS_AS(load_hf_tokenizer_json(std::filesystem::temp_directory_path().string()), Error);
}
