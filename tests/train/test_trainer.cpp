// The training loop: fitting a small set (full FT, LoRA, LoRA on a frozen f16 base, full FT of a Q4_0 base),
// resume determinism, kill -9 during a checkpoint write, time/memory budgets, the stop signal, held-out eval.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "models/runner.h"
#include "models/save_gguf.h"
#include "quant/quantize_model.h"
#include "runtime/arena.h"
#include "runtime/error.h"
#include "runtime/parallel.h"
#include "runtime/safetensors.h"
#include "train/heldout.h"
#include "train/trainer.h"
#include "tests/test_util.h"

using namespace edgellm;

using edgellm::test::OneThread;

namespace {

const char* kFacts[] = {"The capital of France is Paris.", "Water boils at one hundred degrees.",
                        "Cats like to sleep in the sun.", "The sky is blue on a clear day."};

std::vector<Example> facts(const Tokenizer& tok) {
  std::vector<Example> ex;
  for (const char* f : kFacts) ex.push_back(example_from_text(f, tok));
  return ex;
}

std::string tmpdir(const std::string& name) {
  const std::string d = (std::filesystem::temp_directory_path() / ("edgellm_train_" + name + "_" + std::to_string(getpid()))).string();
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

TrainConfig small_config(bool lora, int64_t steps, double lr) {
  TrainConfig c;
  c.setup.lora = lora;
  c.setup.lora_config.rank = 16;
  c.setup.lora_config.alpha = 32;
  c.seq_len = 32;
  c.batch = 2;
  c.steps = steps;
  c.lr = lr;
  return c;
}

double fit(const std::string& spec, bool lora, int64_t steps, double lr, double* first = nullptr) {
  Model m = load_model(spec);
  PackedData d(facts(*m.tokenizer), 32, 0);
  Trainer tr(m.llama, d, small_config(lora, steps, lr));
  tr.run();
  if (first) *first = tr.history().front().loss;
  return tr.history().back().loss;
}

}  // namespace

TEST_CASE("fitting four sentences: full fine-tuning reaches loss < 0.5, LoRA < 1.5 (also on frozen Q4_0 and f16 bases)") {
  OneThread one;
  double first = 0;
  const double full = fit("builtin:tiny", false, 40, 3e-3, &first);
  INFO("full: " << first << " -> " << full);
  CHECK(first > 5.0);
  CHECK(full < 0.5);
  const double lora = fit("builtin:tiny", true, 60, 1e-2);
  INFO("lora: " << lora);
  CHECK(lora < 1.5);
  // QLoRA-style: builtin:tiny written as Q4_0 (ffn_down's 176 columns fall back to f16), frozen.
  const std::string q4 = (std::filesystem::temp_directory_path() / ("edgellm_tiny_q4_0_" + std::to_string(getpid()) + ".gguf")).string();
  save_llama_gguf(load_model("builtin:tiny"), q4, DType::Q4_0);
  const double lora_q4 = fit(q4, true, 60, 1e-2);
  std::filesystem::remove(q4);
  INFO("lora on q4_0 base: " << lora_q4);
  CHECK(lora_q4 < 1.5);
  const double lora_f16 = fit(std::string(EDGELLM_FIXTURES_DIR) + "/tiny-llama/gguf/tiny-llama-f16.gguf", true, 60, 1e-2);
  INFO("lora on f16 base: " << lora_f16);
  CHECK(lora_f16 < 1.5);
}

TEST_CASE("LoRA on a frozen GPTQ group-int base (int3 g32 symmetric, 4-bit g64 asymmetric): loss falls below 1.5") {
  OneThread one;
  const std::string path =
      (std::filesystem::temp_directory_path() / ("edgellm_tiny_gint_" + std::to_string(getpid()) + ".gguf")).string();
  for (const char* name : {"int3g32", "uint4g64"}) {
    const std::string type = name;
    CAPTURE(type);
    // builtin:tiny's ffn_down (176 inputs) fits no group and stays f32; every other linear is group-int.
    Model m = load_model("builtin:tiny");
    quant::ModelQuantOptions o;
    o.method = quant::QuantMethod::Gptq;
    REQUIRE(quant::parse_quant_spec(type, o.spec));
    o.max_tokens = 256;
    o.seq_len = 64;
    quant::quantize_model(m, quant::builtin_calibration_text(), o);
    REQUIRE(dtype_is_gint(m.llama.weights.layers[0].wq.dtype()));
    save_llama_gguf(m, path);
    double first = 0;
    const double last = fit(path, true, 60, 1e-2, &first);
    INFO("lora on " << type << " base: " << first << " -> " << last);
    CHECK(first > 5.0);
    CHECK(last < 1.5);
  }
  std::filesystem::remove(path);
}

TEST_CASE("a resumed run follows the uninterrupted run's loss trajectory exactly (LoRA with dropout, full with AdamW)") {
  OneThread one;
  const std::string dir = tmpdir("resume");
  for (bool lora : {true, false}) {
    TrainConfig c = small_config(lora, 8, 3e-3);
    c.setup.lora_config.dropout = 0.1f;
    c.seed = 11;
    c.grad_accum = 2;
    c.schedule = LrSchedule::Cosine;
    c.warmup = 2;
    std::vector<double> whole, resumed;
    {
      Model m = load_model("builtin:tiny");
      PackedData d(facts(*m.tokenizer), 32, c.seed);
      Trainer tr(m.llama, d, c);
      tr.run();
      for (const auto& s : tr.history()) whole.push_back(s.loss);
    }
    {
      Model m = load_model("builtin:tiny");
      PackedData d(facts(*m.tokenizer), 32, c.seed);
      Trainer tr(m.llama, d, c);
      for (int i = 0; i < 3; ++i) resumed.push_back(tr.train_step().loss);
      tr.save_checkpoint(dir + "/ck.safetensors");
    }
    {
      Model m = load_model("builtin:tiny");
      PackedData d(facts(*m.tokenizer), 32, c.seed);
      Trainer tr(m.llama, d, c);
      tr.resume(dir + "/ck.safetensors");
      CHECK(tr.step() == 3);
      tr.run();
      for (const auto& s : tr.history()) resumed.push_back(s.loss);
    }
    REQUIRE(whole.size() == 8);
    REQUIRE(resumed.size() == 8);
    for (size_t i = 0; i < 8; ++i) {
      INFO((lora ? "lora" : "full") << " step " << i + 1);
      CHECK(resumed[i] == whole[i]);
    }
    // A checkpoint of another configuration is refused naming the field.
    Model m = load_model("builtin:tiny");
    PackedData d(facts(*m.tokenizer), 32, c.seed);
    TrainConfig other = c;
    other.seed = 12;
    Trainer tr(m.llama, d, other);
    CHECK_THROWS_WITH_AS(tr.resume(dir + "/ck.safetensors"), doctest::Contains("edgellm.checkpoint.seed"), FormatError);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("kill -9 during a checkpoint write leaves the previous checkpoint loadable") {
  OneThread one;
  const std::string dir = tmpdir("kill");
  const std::string path = dir + "/checkpoint.safetensors";
  Model m = load_model("builtin:small");
  PackedData d(facts(*m.tokenizer), 32, 0);
  TrainConfig c = small_config(false, 4, 1e-3);
  Trainer tr(m.llama, d, c);
  tr.train_step();
  tr.save_checkpoint(path);  // the good one, step 1
  const auto size = std::filesystem::file_size(path);
  tr.train_step();           // the child writes step 2 over and over
  // A save hashes the tensors (the checkpoint's checksum, most of its time) before it writes them: kills land at
  // phases spread over several saves' lengths, so that some fall in a write.
  const auto t0 = std::chrono::steady_clock::now();
  tr.save_checkpoint(dir + "/timing.safetensors");
  const double save_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  // Step 2's file: its metadata (loss, lr as text) may be a few bytes longer or shorter than step 1's.
  const auto size2 = std::filesystem::file_size(dir + "/timing.safetensors");
  std::filesystem::remove(dir + "/timing.safetensors");
  bool interrupted = false;
  auto has_temp = [&] {
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
    return false;
  };
  for (int attempt = 0; attempt < 20 && !interrupted; ++attempt) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      for (;;) tr.save_checkpoint(path);
    }
    // Odd attempts kill as soon as the writer's temp file exists (inside a write, whatever share of a save the
    // hashing takes: under ASan it is most of it); even ones at a phase spread over several saves' lengths.
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration<double, std::milli>(save_ms * (0.9 + 0.13 * attempt) + 1);
    if (attempt % 2)
      while (std::chrono::steady_clock::now() < until + std::chrono::duration<double, std::milli>(4 * save_ms) && !has_temp())
        std::this_thread::sleep_for(std::chrono::microseconds(20));
    else
      std::this_thread::sleep_until(until);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    // Evidence the kill landed mid-write: the writer's temp file is left behind.
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) {
        interrupted = true;
        std::filesystem::remove(e.path());
      }
    // Whatever happened, the checkpoint is whole: step 1 (old) or step 2 (a finished rename).
    SafetensorsFile f = SafetensorsFile::open(path);
    const auto j = nlohmann::json::parse(checkpoint_metadata(path));
    const int64_t step = j.at("step").get<int64_t>();
    CHECK((step == 1 || step == 2));
    CHECK(std::filesystem::file_size(path) == (step == 1 ? size : size2));
    Model m2 = load_model("builtin:small");
    PackedData d2(facts(*m2.tokenizer), 32, 0);
    Trainer tr2(m2.llama, d2, c);
    tr2.resume(path);
    CHECK(tr2.step() == step);
  }
  CHECK(interrupted);
  std::filesystem::remove_all(dir);
}

TEST_CASE("--mem-budget: refuses up front with its estimate, or picks a smaller micro-batch and holds the budget") {
  OneThread one;
  Model m = load_model("builtin:small");
  PackedData d(facts(*m.tokenizer), 32, 0);
  TrainConfig c = small_config(false, 2, 1e-3);
  c.batch = 8;
  c.mem_budget = 1 << 20;
  CHECK_THROWS_WITH_AS(plan_memory(m.llama, c), doctest::Contains("training needs at least"), BudgetError);
  c.mem_budget = 0;
  const MemPlan full = plan_memory(m.llama, c);
  CHECK(full.micro_batch == 8);
  // Room for the fixed part and ~half the activations: micro-batch shrinks, the effective batch stays.
  c.mem_budget = full.fixed_bytes + full.activation_bytes * 5 / 8 + (1 << 20);
  const MemPlan p = plan_memory(m.llama, c);
  CHECK(p.micro_batch < 8);
  CHECK(p.total() <= c.mem_budget);
  default_arena().reset_peak();
  {
    Trainer tr(m.llama, d, c);
    CHECK(tr.rows_per_step() == 8);
    tr.run();
    CHECK(default_arena().peak() <= c.mem_budget);
    MESSAGE("budget " << c.mem_budget << " estimate " << p.total() << " peak " << default_arena().peak());
  }
  default_arena().set_budget(0);
}

namespace {

// A source that can only go forward (like the study's PretrainStream): row g must be the next row; its state is
// the position. It records the thread of each read.
class ForwardOnly final : public RowSource {
 public:
  explicit ForwardOnly(PackedData& d) : d_(d) {}
  int64_t seq_len() const override { return d_.seq_len(); }
  int64_t rows_per_epoch() const override { return d_.rows_per_epoch(); }
  void row(int64_t g, int32_t* ids, int32_t* targets) override {
    EDGE_CHECK(g == next, "ForwardOnly: row {} asked at position {}", g, next);
    d_.row(g, ids, targets);
    ++next;
    if (std::this_thread::get_id() != main) ++off_main;
  }
  PackedData& d_;
  int64_t next = 0, off_main = 0;
  std::thread::id main = std::this_thread::get_id();
};

// A device that runs the CPU's LlamaGrad: the trainer's device path (rows read ahead) with the CPU's math.
struct CpuAsDevice final : GradDevice {
  explicit CpuAsDevice(Trainer& t) : tr(t) {}
  LossSum forward_backward(const int32_t* ids, const int32_t* targets, int64_t B, int64_t T, float scale) override {
    return tr.grad().forward_backward(ids, targets, B, T, scale);
  }
  void params_updated() override {}
  Trainer& tr;
};

}  // namespace

TEST_CASE("with a device the next step's rows are read ahead on a thread; checkpoints keep the position before them") {
  OneThread one;
  const std::string dir = tmpdir("ahead");
  TrainConfig c = small_config(false, 6, 3e-3);
  c.out_dir = dir;
  std::vector<double> whole, resumed;
  {
    Model m = load_model("builtin:tiny");
    PackedData d(facts(*m.tokenizer), 32, 0);
    Trainer tr(m.llama, d, c);
    tr.run();
    for (const auto& s : tr.history()) whole.push_back(s.loss);
  }
  {
    Model m = load_model("builtin:tiny");
    PackedData d(facts(*m.tokenizer), 32, 0);
    ForwardOnly src(d);
    Trainer tr(m.llama, src, c);
    tr.device = std::make_shared<CpuAsDevice>(tr);
    tr.data_state = [&] { return std::to_string(src.next); };
    std::atomic<bool> stop{false};
    tr.on_step = [&](const StepLog& s) { stop = s.step == 2; };
    CHECK(tr.run(&stop) == StopReason::Signal);
    for (const auto& s : tr.history()) resumed.push_back(s.loss);
    CHECK(src.off_main == 2 * tr.rows_per_step());  // steps 2 and 3 were read on the thread
    CHECK(src.next == 3 * tr.rows_per_step());       // the source stands past step 3's rows...
  }
  // ...but the checkpoint after step 2 says where step 3 begins.
  const auto meta = nlohmann::json::parse(checkpoint_metadata(dir + "/checkpoint.safetensors"));
  CHECK(meta.at("step") == 2);
  CHECK(meta.at("data_state") == "4");
  {
    Model m = load_model("builtin:tiny");
    PackedData d(facts(*m.tokenizer), 32, 0);
    ForwardOnly src(d);
    Trainer tr(m.llama, src, c);
    tr.resume(dir + "/checkpoint.safetensors");
    src.next = std::stoll(meta.at("data_state").get<std::string>());
    tr.device = std::make_shared<CpuAsDevice>(tr);
    tr.data_state = [&] { return std::to_string(src.next); };
    tr.run();
    for (const auto& s : tr.history()) resumed.push_back(s.loss);
    CHECK(src.next == 6 * tr.rows_per_step());  // nothing read past the last step
  }
  REQUIRE(resumed.size() == whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    INFO("step " << i + 1);
    CHECK(resumed[i] == doctest::Approx(whole[i]).epsilon(1e-12));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("the time budget and the stop flag end the run after a whole step, with a checkpoint") {
  OneThread one;
  const std::string dir = tmpdir("stop");
  Model m = load_model("builtin:tiny");
  PackedData d(facts(*m.tokenizer), 32, 0);
  TrainConfig c = small_config(true, 50, 1e-3);
  c.out_dir = dir;
  c.time_budget = 1e-9;
  {
    Trainer tr(m.llama, d, c);
    CHECK(tr.run() == StopReason::TimeBudget);
    CHECK(tr.step() == 1);
  }
  CHECK(nlohmann::json::parse(checkpoint_metadata(dir + "/checkpoint.safetensors")).at("step") == 1);
  Model m2 = load_model("builtin:tiny");
  c.time_budget = 0;
  Trainer tr(m2.llama, d, c);
  std::atomic<bool> stop{false};
  tr.on_step = [&](const StepLog& s) { stop = s.step == 3; };
  CHECK(tr.run(&stop) == StopReason::Signal);
  CHECK(tr.step() == 3);
  CHECK(nlohmann::json::parse(checkpoint_metadata(dir + "/checkpoint.safetensors")).at("step") == 3);
  std::ifstream csv(dir + "/loss.csv");
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  CHECK(lines == 4);  // header + 3 steps
  std::filesystem::remove_all(dir);
}

TEST_CASE("--save-every-seconds: a checkpoint once that much training time has passed since the last") {
  OneThread one;
  const std::string dir = tmpdir("save_seconds");
  Model m = load_model("builtin:tiny");
  PackedData d(facts(*m.tokenizer), 32, 0);
  TrainConfig c = small_config(true, 4, 1e-3);
  c.out_dir = dir;
  c.save_seconds = 1e-9;  // every step's time exceeds it: a checkpoint after each step
  Trainer tr(m.llama, d, c);
  std::vector<int64_t> on_disk;  // the checkpoint's step when step s is logged (saved after on_step)
  tr.on_step = [&](const StepLog&) {
    const std::string ck = dir + "/checkpoint.safetensors";
    on_disk.push_back(std::filesystem::exists(ck) ? nlohmann::json::parse(checkpoint_metadata(ck)).at("step").get<int64_t>() : 0);
  };
  tr.run();
  CHECK(on_disk == std::vector<int64_t>{0, 1, 2, 3});
  c.save_seconds = -1;
  CHECK_THROWS_WITH(Trainer(m.llama, d, c), doctest::Contains("save-every-seconds"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a time budget alone bounds the run: no steps needed, the ETA is the budget left, progress is time") {
  OneThread one;
  Model m = load_model("builtin:tiny");
  PackedData d(facts(*m.tokenizer), 32, 0);
  TrainConfig c = small_config(true, 0, 1e-3);
  c.epochs = 0;
  c.time_budget = 0.5;
  Trainer tr(m.llama, d, c);
  CHECK(tr.time_bound());
  std::vector<StepLog> logs;
  tr.on_step = [&](const StepLog& s) { logs.push_back(s); };
  CHECK(tr.run() == StopReason::TimeBudget);
  REQUIRE(logs.size() >= 2);
  // More steps than one epoch of these four facts (2 rows of 32 per step): the budget, not the data, ended it.
  CHECK(tr.step() * tr.rows_per_step() > d.rows_per_epoch());
  for (const StepLog& s : logs) {
    CHECK(s.eta_s == doctest::Approx(std::max(0.0, 0.5 - s.elapsed_s)));
    CHECK(s.progress == doctest::Approx(std::min(1.0, s.elapsed_s / 0.5)));
  }
  // With steps as well, the ETA is the smaller of the two.
  TrainConfig c2 = small_config(true, 1000000, 1e-3);
  c2.time_budget = 0.3;
  Trainer tr2(m.llama, d, c2);
  CHECK_FALSE(tr2.time_bound());
  double eta = 1e9;
  tr2.on_step = [&](const StepLog& s) { eta = std::min(eta, s.eta_s); };
  CHECK(tr2.run() == StopReason::TimeBudget);
  CHECK(eta <= 0.3);
  // A decaying schedule needs a known length.
  c.schedule = LrSchedule::Cosine;
  CHECK_THROWS_WITH_AS(Trainer(m.llama, d, c), doctest::Contains("constant schedule"), Error);
}

TEST_CASE("full fine-tuning of a Q4_0 GGUF dequantizes the base to f32 and fits (was: no conversion from q4_0)") {
  OneThread one;
  const std::string q4 = tmpdir("fullq4") + "/tiny-q4_0.gguf";
  save_llama_gguf(load_model("builtin:tiny"), q4, DType::Q4_0);
  Model m = load_model(q4);
  REQUIRE(m.llama.weights.layers[0].wq.dtype() == DType::Q4_0);
  PackedData d(facts(*m.tokenizer), 32, 0);
  Trainer tr(m.llama, d, small_config(false, 40, 3e-3));
  tr.run();
  CHECK(m.llama.weights.layers[0].wq.dtype() == DType::F32);
  INFO(tr.history().front().loss << " -> " << tr.history().back().loss);
  CHECK(tr.history().back().loss < 0.5);
  std::filesystem::remove_all(std::filesystem::path(q4).parent_path());
}

TEST_CASE("held-out evaluation: loss and exact-match recall follow training on the same Q/A pairs") {
  OneThread one;
  Model m = load_model("builtin:tiny");
  std::vector<Example> qa = {example_from_prompt("Q: capital of France? A:", " Paris", *m.tokenizer),
                             example_from_prompt("Q: colour of the sky? A:", " blue", *m.tokenizer)};
  const HeldOutResult before = evaluate_heldout(m.llama, qa);
  CHECK(before.qa == 2);
  CHECK(before.qa_correct == 0);  // random weights
  CHECK(before.ppl == doctest::Approx(std::exp(before.loss)));
  CHECK(before.loss > 3.0);
  // Train on exactly these examples until they are recalled: recall goes to 2/2 and the loss falls.
  PackedData d(qa, 32, 0);
  TrainConfig c = small_config(false, 60, 3e-3);
  c.batch = 1;
  Trainer tr(m.llama, d, c);
  tr.run();
  const HeldOutResult after = evaluate_heldout(m.llama, qa);
  INFO(before.loss << " -> " << after.loss << ", train loss " << tr.history().back().loss);
  CHECK(after.loss < 0.5);
  CHECK(after.qa_correct == 2);
  CHECK(after.tokens == before.tokens);
  // A text example is not a Q/A pair.
  CHECK(evaluate_heldout(m.llama, facts(*m.tokenizer)).qa == 0);
}
