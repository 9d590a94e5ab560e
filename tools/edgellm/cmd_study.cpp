// `edgellm study` (run a grid, merge shards, re-render a report, run one spec) and `edgellm advise`.
// Not the study itself: bench/study/ holds the grid, runner, report and advisor.
#include <fmt/format.h>

#include <filesystem>

#include "bench/study/advise.h"
#include "bench/study/benchmark.h"
#include "bench/study/driver.h"
#include "bench/study/results.h"
#include "bench/study/run.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"
#include "tools/edgellm/commands.h"

namespace edgellm::cli {

namespace {

const char* kStudyHelp = R"(
Runs the personalization study (method x data amount x base x compression x time budget x difficulty,
several seeds), one process per run, then writes OUT/results.csv, OUT/report.md, OUT/guidelines.md and
OUT/plots/*.png|svg. A restarted study skips the runs already in OUT/results.csv.

  edgellm study --quick                      the main job: a coarse sub-grid, about 10 minutes on 2 cores
  edgellm study --grid full --jobs 2         the full reduced-factorial grid (prints count and estimate first)
  edgellm study --grid full --shard 3/8 --out part3     one deterministic slice of 8 (0-based)
  edgellm study merge part*/results.csv -o all/results.csv && edgellm study report all
  edgellm advise --mem 512M --time 60s --data 40 --difficulty L3
  edgellm study --quick --base ../shared/fixtures/tiny-llama/model      any GGUF file or HF folder as the base
  edgellm study --quick --benchmark lamp:DIR --base MODEL               LaMP users (DIR: dev_questions.json ...)
  edgellm advise --mem 2G --base builtin:1.1b                           a model without results: memory and time
                                                                        predicted at its size (bench/study/cost_model.json)
  edgellm study cost measure -o bench/study/cost_model.json             refit the advisor's cost model
  edgellm study cost check --model builtin:1.1b --batch 1 --seq 16      a measured LoRA step against it

Bases default to the committed bench/study/bases/base-s.gguf and base-m.gguf (builtin:tiny when absent).
A base of your own brings its tokenizer (documents and questions are tokenized with it) and, when it declares
a chat template (GGUF tokenizer.chat_template, tokenizer_config.json), every question is asked, and every
ft+qa pair trained, as one user turn in that template; otherwise in the study's plain prompt.
Learning rates: LoRA 3e-3, full fine-tuning 3e-4, and a third and 10/3 of those at the center point,
with a warm-up and cosine schedule sized to each run's last checkpoint. See bench/study/README.md for
Slurm and GNU parallel examples.)";

// The committed embedder bench/study/bases/embedder-s.gguf ("" when absent), spelled as default_bases spells a
// base (relative from the checkout's root, so that run ids carry over between checkouts).
std::string default_embedder() {
  const char* name = "embedder-s.gguf";
  namespace fs = std::filesystem;
  for (const fs::path& dir : {fs::path("bench/study/bases"), fs::path(__FILE__).parent_path() / "../../bench/study/bases"}) {
    std::error_code ec;
    if (fs::exists(dir / name, ec))
      return dir.is_relative() && dir.native().rfind("bench", 0) == 0 ? (dir / name).string()
                                                                      : fs::weakly_canonical(dir / name, ec).string();
  }
  return "";
}

std::vector<std::string> default_bases() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const char* name : {"base-s.gguf", "base-m.gguf"})
    for (const fs::path& dir : {fs::path("bench/study/bases"), fs::path(__FILE__).parent_path() / "../../bench/study/bases"}) {
      std::error_code ec;
      if (fs::exists(dir / name, ec)) {
        // Relative from the checkout's root, so that results.csv (and the run ids hashed from it) carry over
        // between checkouts; absolute when run from elsewhere.
        out.push_back(dir.is_relative() && dir.native().rfind("bench", 0) == 0 ? (dir / name).string()
                                                                              : fs::weakly_canonical(dir / name, ec).string());
        break;
      }
    }
  if (out.empty()) {
    fmt::print(stderr, "study: no committed bases (bench/study/bases/base-s.gguf, base-m.gguf) found; using builtin:tiny "
                       "(random weights: the numbers mean nothing, and its FFN width 176 is not a multiple of the 32-wide "
                       "groups, so the gptq4/awq4/gptq3 runs fail and are recorded as such). Pass --base MODEL.\n");
    out.push_back("builtin:tiny");
  }
  return out;
}

double parse_seconds(const std::string& s) {
  if (s.empty()) return 0;
  size_t p = 0;
  double v = 0;
  try {
    v = std::stod(s, &p);
  } catch (const std::exception&) {
    fail("--time \"{}\": expected seconds, e.g. 60s, 5m or 1h", s);
  }
  const std::string u = s.substr(p);
  if (u.empty() || u == "s") return v;
  if (u == "m" || u == "min") return v * 60;
  if (u == "h") return v * 3600;
  fail("--time \"{}\": expected seconds, e.g. 60s, 5m or 1h", s);
}

void print_line(const std::string& s) {
  fmt::print("{}\n", s);
  std::fflush(stdout);
}

}  // namespace

void add_study_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("study", "Run the personalization study grid and write report.md, guidelines.md, plots");
  cmd->footer(kStudyHelp);
  static study::StudyOptions o;
  static bool quick = false;
  static std::string grid = "quick", shard_s;
  static std::vector<std::string> bases;
  static std::string embedder;
  cmd->add_flag("--quick", quick, "The quick grid (the default)");
  cmd->add_option("--grid", grid, "quick | full");
  cmd->add_option("-o,--output,--out", o.out, "Output folder (results.csv, report.md, guidelines.md, plots/, bases/)");
  cmd->add_option("--shard", shard_s, "Run slice i of n (0-based), e.g. 0/4");
  cmd->add_option("--seeds", o.grid.seeds, "Seeds (test users) per configuration")->check(CLI::PositiveNumber);
  cmd->add_option("--embedder", embedder, "Embedding model of rag-dense/rag-hybrid (default: the committed "
                                          "bench/study/bases/embedder-s.gguf; 'none': the base's own states)");
  cmd->add_option("--base", bases, "Base model(s) (.gguf, HF dir, builtin:<preset>), each with its own tokenizer and "
                                  "chat template; the first is the center");
  cmd->add_option("--benchmark", o.grid.benchmark, "Test users: the generated ones (default) or lamp:DIR (a LaMP "
                                                   "folder: dev_questions.json + dev_outputs.json, train_*, or questions.json)");
  cmd->add_option("--jobs", o.jobs, "Runs at once, each its own process (default: one per core, 1 thread each)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", o.threads, "Threads per run (default: cores / jobs); fix it to compare seconds across runs")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--run-timeout", o.run_timeout_s, "Seconds before a run is killed and recorded as a timeout");
  cmd->add_flag("--dry-run", o.dry_run, "Print the plan (run count, estimated time) and stop");
  cmd->add_flag("--retry-failed", o.retry_failed,
                "Run again the runs that failed, crashed or timed out (their rows leave results.csv first)");
  cmd->require_subcommand(0, 1);

  auto* one = cmd->add_subcommand("run-one", "Run one spec (the driver spawns this; rows go to --rows)");
  static std::string spec, rows_path, one_out = "study-out";
  one->add_option("--spec", spec, "RunSpec JSON")->required();
  one->add_option("-o,--output,--out", one_out, "Study folder (compressed-base cache)");
  one->add_option("--rows", rows_path, "Where to write the run's rows (CSV)")->required();
  one->callback([] {
    apply_global_options();
    const auto s = study::RunSpec::from_json(spec);
    const auto rows = study::run_one(s, one_out, print_line);
    study::write_results(rows_path, rows);
  });

  auto* merge = cmd->add_subcommand("merge", "Join results.csv files of shards (dedup by row key)");
  static std::vector<std::string> inputs;
  static std::string merged;
  merge->add_option("inputs", inputs, "results.csv files")->required();
  merge->add_option("-o,--output", merged, "Merged results.csv")->required();
  merge->callback([] {
    const auto rows = study::merge_results(inputs);
    std::filesystem::path p(merged);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
    study::write_results(merged, rows);
    fmt::print("merged {} files: {} rows -> {}\n", inputs.size(), rows.size(), merged);
  });

  auto* report = cmd->add_subcommand("report", "Re-render report.md, guidelines.md and plots from DIR/results.csv");
  static std::string dir;
  report->add_option("dir", dir, "Study folder")->required();
  report->callback([] {
    const auto rows = study::read_results(dir + "/results.csv");
    const auto r = study::write_report(dir, rows);
    fmt::print("{}\n{}wrote {} and {} ({} figures)\n", "", r.summary, r.report_path, r.guidelines_path, r.figures.size());
  });

  // The benchmark's users as data: to read them, or as held-out / calibration text for other tools.
  auto* gen = cmd->add_subcommand("gen", "Write generated users (JSONL: facts, documents, questions) or their documents as text");
  static uint64_t gen_seed = 1;
  static int64_t gen_first = 0, gen_users = 10;
  static std::string gen_format = "jsonl", gen_out;
  gen->add_option("--seed", gen_seed, "Benchmark seed (the study uses 1)");
  gen->add_option("--first", gen_first, "First user index (test users start at 1000000, memorized users at 0)");
  gen->add_option("--users", gen_users, "Number of users")->check(CLI::PositiveNumber);
  gen->add_option("--format", gen_format,
                  "jsonl | records (what a run trains on, as finetune/rag index data records) | text (each document as "
                  "the models see it)")
      ->check(CLI::IsMember({"jsonl", "records", "text"}));
  gen->add_option("-o,--output", gen_out, "Output file")->required();
  gen->callback([] {
    if (gen_format == "jsonl") {
      study::write_benchmark_jsonl(gen_seed, gen_first, gen_users, gen_out);
    } else if (gen_format == "records") {
      study::write_training_records(gen_seed, gen_first, gen_users, gen_out);
    } else {
      std::string text;
      for (int64_t i = gen_first; i < gen_first + gen_users; ++i) {
        const study::User u = study::generate_user(gen_seed, i);
        for (const auto& d : u.documents) text += study::document_text(u, d);
      }
      write_file_atomic(gen_out, text);
    }
    fmt::print("wrote {} ({} users from {}, {})\n", gen_out, gen_users, gen_first, gen_format);
  });

  add_study_cost_commands(cmd);

  cmd->callback([cmd, one, merge, report, gen] {
    if (cmd->got_subcommand(one) || cmd->got_subcommand(merge) || cmd->got_subcommand(report) || cmd->got_subcommand(gen) ||
        cmd->got_subcommand("cost"))
      return;
    apply_global_options();
    o.grid.name = quick ? "quick" : grid;
    o.grid.bases = bases.empty() ? default_bases() : bases;
    o.grid.embedder = embedder == "none" ? "" : embedder.empty() ? default_embedder() : embedder;
    if (!shard_s.empty()) study::parse_shard(shard_s, o.shard_i, o.shard_n);
    o.log = print_line;
    const auto r = study::run_study(o);
    if (o.dry_run) return;
    fmt::print("\nstudy: {} runs ({} skipped as done, {} ran, {} failed) in {:.0f} s (estimated {:.0f} s)\n{}\n"
               "report: {}\nguidelines: {}\n", r.planned, r.skipped, r.ran, r.failed, r.seconds, r.estimate_s,
               r.report.summary, r.report.report_path, r.report.guidelines_path);
  });

  auto* adv = app.add_subcommand("advise", "Recommend a personalization setup for a device budget from study results");
  static study::AdviseOptions a;
  static std::string mem, time_s, level = "L1";
  adv->add_option("--mem", mem, "Peak memory allowed, e.g. 512M");
  adv->add_option("--time", time_s, "Training CPU seconds allowed (of the run's process; wall seconds for older results), e.g. 60s, 5m");
  adv->add_option("--data", a.data, "Personal data: percent of the user's documents (40 or 40%) or a count (12docs)");
  adv->add_option("--difficulty", level, "Task kind L1..L5 (recall, paraphrase, composition, classification, style)");
  adv->add_option("--base", a.base, "Only this base (path or file stem). A model the study has no results for "
                                    "(builtin:1.1b, a .gguf, an HF folder): memory and time predicted at its size by the "
                                    "cost model, quality from the center base, said so; anything else: an error naming "
                                    "the measured bases");
  adv->add_option("--cost-model", a.cost_model, "Cost model JSON (default: bench/study/cost_model.json)");
  adv->add_option("--results", a.results, "results.csv file(s) (default: bench/study/report/results.csv, study-out/results.csv)");
  adv->callback([] {
    a.mem_mib = mem.empty() ? 0 : static_cast<double>(parse_bytes(mem)) / (1024.0 * 1024.0);
    a.time_s = parse_seconds(time_s);
    if (level.size() != 2 || (level[0] != 'L' && level[0] != 'l') || level[1] < '1' || level[1] > '5')
      fail("--difficulty \"{}\": expected L1, L2, L3, L4 or L5", level);
    a.level = level[1] - '0';
    fmt::print("{}", study::advise(a));
  });
}

}  // namespace edgellm::cli
