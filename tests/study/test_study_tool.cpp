// The study as a tool for real models: a fixture model as the base (its own tokenizer, its chat template), LaMP
// users from a folder the test writes, the cost model against measured steps, and the advisor on a model it has no
// results for (predicted memory binds the budget; a name that is no model is refused).
// Not a check of answer quality: the fixture models have random weights.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "bench/study/advise.h"
#include "bench/study/analysis.h"
#include "bench/study/benchmark_source.h"
#include "bench/study/cost_model.h"
#include "bench/study/driver.h"
#include "bench/study/prompt_format.h"
#include "bench/study/results.h"
#include "bench/study/run.h"
#include "models/builtin.h"
#include "runtime/error.h"
#include "study_fixtures.h"

using namespace edgellm;
using namespace edgellm::study;
namespace fs = std::filesystem;

namespace {
// The committed fit, found from the source tree (ctest runs in the build folder, where the CLI's default
// lookup relative to the working directory finds nothing).
std::string committed_cost_model() { return std::string(EDGELLM_SOURCE_DIR) + "/bench/study/cost_model.json"; }
}  // namespace

namespace {

const fs::path kFixtures = EDGELLM_FIXTURES_DIR;

struct Cleanup {
  std::string d;
  ~Cleanup() { fs::remove_all(d); }
};

// tiny-qwen2's HF folder with a ChatML template declared in tokenizer_config.json (the fixture declares none).
std::string chat_model(const std::string& dir) {
  const fs::path m = fs::path(dir) / "tiny-qwen2" / "model";
  fs::create_directories(m);
  for (const auto& e : fs::directory_iterator(kFixtures / "tiny-qwen2" / "model")) fs::copy_file(e.path(), m / e.path().filename());
  std::ofstream(m / "tokenizer_config.json", std::ios::trunc)
      << R"({"bos_token": "<s>", "eos_token": "</s>", "chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"})";
  return m.string();
}

ResultRow hand(const std::string& method, const std::string& comp, int steps, int seed, double score, double mib, double secs) {
  ResultRow r;
  r.run_id = method + comp + std::to_string(seed);
  r.base = "b.gguf", r.method = method, r.compression = comp, r.data = 1.0, r.steps = steps, r.seed = seed;
  r.level = 1, r.n_questions = 5, r.score = r.em = score, r.peak_mib = mib, r.seconds = secs, r.n_docs = 20;
  r.lr = steps ? 3e-3 : 0, r.rank = steps ? 8 : 0;
  return r;
}

}  // namespace

TEST_CASE("study --base: a fixture HF model in its own chat template and tokenizer, and a fixture GGUF") {
  const std::string dir = testing::temp_dir("tool-base");
  Cleanup cleanup{dir};
  const std::string base = chat_model(dir);
  const PromptFormat pf = prompt_format_of(base);
  REQUIRE(pf.chat.has_value());  // rendered as the model's template says (ChatML here)
  CHECK(prompt_format_of((kFixtures / "tiny-llama" / "model").string()).name() == "plain");
  CHECK(prompt_format_of("builtin:tiny").name() == "plain");
  const std::string plain = "user: Anna\nquestion: where do i live?\nanswer:";
  CHECK(format_prompt(pf, plain) == "<|im_start|>user\n" + plain + "<|im_end|>\n<|im_start|>assistant\n");

  // The compressed copies keep the model's own tokenizer: the documents and questions are tokenized as it would.
  const Model own = load_model(base);
  const Model copy = load_compressed(base, "q8_0", dir);
  const std::string doc = "user: Anna Berg\ndiary day 12: i live in oslo. the train was late again.\n";
  CHECK(copy.tokenizer->vocab_size() == 512);
  CHECK(copy.tokenizer->encode(doc) == own.tokenizer->encode(doc));
  CHECK(short_base(base) == "tiny-qwen2/model");  // how reports and the advisor name it
  // Two HF folders named "model" get different cache entries.
  CHECK(compressed_base_path(dir, base, "f32") !=
        compressed_base_path(dir, (kFixtures / "tiny-llama" / "model").string(), "f32"));

  // A QA pair scores only the reply (and the template's turn closing), which decodes to the answer.
  const Example e = qa_example(own, pf, plain, "oslo");
  std::vector<int32_t> scored;
  for (size_t i = 0; i < e.ids.size(); ++i)
    if (e.target[i]) scored.push_back(e.ids[i]);
  CHECK(own.tokenizer->decode(scored).rfind("oslo<|im_end|>", 0) == 0);
  CHECK(answer_prompt(own, pf, plain, 8).find('\n') == std::string::npos);

  // The tiny grid end to end on the chat model, and one LoRA run on a fixture GGUF.
  set_user_source(testing::tiny_user);
  StudyOptions o;
  o.grid.name = "tiny", o.grid.bases = {base}, o.grid.seeds = 1;
  o.in_process = true, o.threads = 1, o.out = dir + "/out";
  const StudyResult r = run_study(o);
  CHECK(r.planned == 4);
  CHECK(r.failed == 0);
  for (const auto& row : read_results(o.out + "/results.csv")) {
    CHECK(row.status == "ok");
    CHECK(row.base == base);
  }
  RunSpec s;
  s.base = (kFixtures / "tiny-llama" / "gguf" / "tiny-llama-f32.gguf").string();
  s.method = "lora-r4", s.rank = 4, s.lr = 3e-3, s.checkpoints = {2}, s.threads = 1;
  const auto rows = run_one(s, dir + "/out");
  REQUIRE(rows.size() == kLevels);  // one row per task kind
  for (const auto& row : rows) CHECK(row.status == "ok");
  set_user_source({});
}

TEST_CASE("study --benchmark lamp:DIR: a LaMP folder's users inside the grid") {
  const std::string dir = testing::temp_dir("tool-lamp");
  Cleanup cleanup{dir};
  std::ofstream(dir + "/dev_questions.json") << R"([
    {"id": "10", "input": "Generate a headline for: rain returns", "profile": [{"id": "a", "text": "rain again"}, {"id": "b", "title": "sun", "text": "a sunny week"}]},
    {"id": "11", "input": "Generate a headline for: cats", "profile": [{"id": "c", "text": "cats purr"}, {"id": "d", "text": "dogs bark"}, {"id": "e", "text": "birds sing"}]}])";
  std::ofstream(dir + "/dev_outputs.json") << R"({"task": "LaMP_4", "golds": [{"id": "10", "output": "rain is back"}, {"id": "11", "output": "cats"}]})";
  CHECK(lamp_files(dir).second == dir + "/dev_outputs.json");
  CHECK_NOTHROW(check_benchmark("lamp:" + dir));
  CHECK_THROWS_AS(check_benchmark("lamp:" + dir + "/missing"), Error);
  CHECK_THROWS_AS(check_benchmark("lamp"), Error);

  StudyOptions o;
  o.grid.name = "tiny", o.grid.bases = {"builtin:tiny"}, o.grid.seeds = 2, o.grid.benchmark = "lamp:" + dir;
  o.in_process = true, o.threads = 1, o.out = dir + "/out";
  const auto runs = enumerate_grid(o.grid);
  GridOptions generated = o.grid;
  generated.benchmark.clear();
  CHECK(runs[0].run_id() != enumerate_grid(generated)[0].run_id());  // never resumed into the generated study
  CHECK(RunSpec::from_json(runs[0].to_json()).benchmark == o.grid.benchmark);
  const StudyResult r = run_study(o);
  CHECK(r.failed == 0);
  const auto rows = read_results(o.out + "/results.csv");
  REQUIRE(!rows.empty());
  for (const auto& row : rows) {
    CHECK(row.status == "ok");
    CHECK(row.level == 5);                                 // a LaMP entry is one L5 (generation) question
    if (row.data == 1.0) CHECK(row.n_docs == (row.seed == 0 ? 2 : 3));  // seed s is entry s
  }
  // A seed past the folder's users is an error naming the benchmark, recorded as the run's row.
  o.grid.seeds = 3, o.out = dir + "/out3";
  const StudyResult r3 = run_study(o);
  CHECK(r3.failed == 4);
  for (const auto& row : read_results(o.out + "/results.csv"))
    if (row.seed == 2) CHECK(row.status.find("has 2 users") != std::string::npos);
}

TEST_CASE("cost model: analytic bytes, and the committed fit binds 2 GiB at 1.1B") {
  const LlamaConfig c = builtin_config("1.1b");
  CHECK(model_params(c) == doctest::Approx(1.1e9).epsilon(0.01));
  CHECK(weight_bytes(c, "f32") == doctest::Approx(4 * model_params(c)));
  CHECK(weight_bytes(c, "rtn4") == doctest::Approx(18.0 / 32 * 4 / 4 * model_params(c)).epsilon(0.01));
  CHECK(weight_bytes(c, "q8_0") == doctest::Approx(34.0 / 32 * model_params(c)).epsilon(0.01));
  // Every compression of the grid is priced (the committed grid has all eight: advise --base prices each), by the
  // types compressed_type() gives: 2-bit below 3-bit below 4-bit; gptq2 keeps its embedding/output at 4 bits.
  for (const auto& comp : compressions()) CHECK_MESSAGE(weight_bytes(c, comp) > 0, comp);
  CHECK(weight_bytes(c, "rtn2") < weight_bytes(c, "gptq2"));
  CHECK(weight_bytes(c, "gptq2") < weight_bytes(c, "gptq3"));
  CHECK(weight_bytes(c, "gptq2") < weight_bytes(c, "rtn4"));
  CHECK_THROWS_AS(weight_bytes(c, "int5"), Error);
  const CostModel m = load_cost_model(committed_cost_model());
  CHECK(!m.command.empty());
  const double gib2 = 2.0 * (1 << 30);
  CHECK(predict_cost(m, c, "f32", "none").peak_bytes > gib2);
  CHECK(predict_cost(m, c, "rtn4", "none").peak_bytes < gib2);
  CHECK(predict_cost(m, c, "rtn4", "rag-bm25").peak_bytes < gib2);
  CHECK(predict_cost(m, c, "f32", "full").peak_bytes > 20 * model_params(c));  // mapped: + the f32 copy
  CHECK(predict_cost(m, c, "f32", "full", 8, 64, false).peak_bytes > 16 * model_params(c));
  CHECK(predict_cost(m, c, "rtn4", "lora-r8").peak_bytes > predict_cost(m, c, "rtn4", "none").peak_bytes);
  CHECK(predict_cost(m, c, "rtn4", "lora-r8").seconds_per_step > 0);
  // A model's size read without its weights.
  const auto fx = model_config_of((kFixtures / "tiny-llama" / "gguf" / "tiny-llama-f32.gguf").string());
  REQUIRE(fx.has_value());
  CHECK(fx->dim == 64);
  CHECK(!model_config_of("base-x").has_value());
}

#if !EDGELLM_SANITIZE_BUILD
TEST_CASE("cost model: a measured LoRA step of builtin:110m at 1 x 16 tokens, against the fit at 8 x 64") {
  const CostModel m = load_cost_model(committed_cost_model());
  const CostMeasurement x = measure_cost("builtin:110m", "lora", 1, 16, 1);
  const CostPrediction p = predict_cost(m, builtin_config("110m"), "f32", "lora-r8", 1, 16, false);
  CHECK(p.peak_bytes == doctest::Approx(x.peak_bytes + m.rss_baseline).epsilon(0.10));
}
#endif

// The check on a real 1.1B step (4.3 GiB; drawing the random weights takes ~40 CPU s): a benchmark, run with
//   build/test_study -tc='*1.1B LoRA step*' --no-skip
TEST_CASE("cost model: a measured 1.1B LoRA step at 1 x 16 tokens" * doctest::skip()) {
  const CostModel m = load_cost_model(committed_cost_model());
  const CostMeasurement x = measure_cost("builtin:1.1b", "lora", 1, 16, 1);
  const CostPrediction p = predict_cost(m, builtin_config("1.1b"), "f32", "lora-r8", 1, 16, false);
  CHECK(p.peak_bytes == doctest::Approx(x.peak_bytes + m.rss_baseline).epsilon(0.10));
}

TEST_CASE("advise --base builtin:1.1b --mem 2G: predicted memory binds; a name that is no model is refused") {
  const std::string dir = testing::temp_dir("tool-advise"), path = dir + "/results.csv";
  Cleanup cleanup{dir};
  std::vector<ResultRow> rows;
  for (int seed = 0; seed < 3; ++seed) {
    rows.push_back(hand("full", "f32", 100, seed, 0.90 + 0.01 * seed, 30, 50));     // best, far over 2 GiB at 1.1B
    rows.push_back(hand("lora-r8", "rtn4", 25, seed, 0.70 + 0.01 * seed, 20, 10));  // activations over 2 GiB at 1.1B
    rows.push_back(hand("none", "f32", 0, seed, 0.10 + 0.01 * seed, 20, 0));        // f32 weights: 4.4 GB
    rows.push_back(hand("rag-bm25", "rtn4", 0, seed, 0.40 + 0.01 * seed, 20, 0.1));
    rows.push_back(hand("lora-r8", "q8_0", 25, seed, 0.60 + 0.01 * seed, 20, 10));   // 1.1 GB weights + activations
  }
  write_results(path, rows);
  AdviseOptions o;
  o.results = {path}, o.level = 1, o.base = "builtin:1.1b", o.cost_model = committed_cost_model();
  const std::string any = advise(o);
  CHECK(any.find("No study results for base builtin:1.1b") != std::string::npos);
  CHECK(any.find("Recommended: full on builtin:1.1b (quality measured on b)") != std::string::npos);
  // 2 GiB: no f32 weights (4.1 GiB), no full fine-tuning, no LoRA on q8_0; LoRA on Q4_0 is at the edge (~2.0 GiB).
  o.mem_mib = 2048;
  const std::string two = advise(o);
  CHECK(two.find("compressed as rtn4\n") != std::string::npos);
  CHECK(two.find("Recommended: full") == std::string::npos);
  CHECK(two.find("predicted for builtin:1.1b") != std::string::npos);
  o.mem_mib = 1536;  // LoRA's activations at 8 x 64 tokens (~1.4 GiB) no longer fit beside the weights
  CHECK(advise(o).find("Recommended: rag-bm25 on builtin:1.1b (quality measured on b) compressed as rtn4") != std::string::npos);
  o.mem_mib = 100;
  CHECK(advise(o).find("Nothing fits these budgets at the size of builtin:1.1b") != std::string::npos);
  // Measured on base b itself: its own numbers, nothing predicted.
  o.base = "b", o.mem_mib = 25;
  CHECK(advise(o).find("Recommended: lora-r8 on b compressed as rtn4") != std::string::npos);
  o.base = "base-x";
  try {
    advise(o);
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("no results for base base-x (have: b)") != std::string::npos);
    CHECK(std::string(e.what()).find("no model") != std::string::npos);
  }
}
